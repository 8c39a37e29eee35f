"""Adding a follow-up and acting on one (done, snooze, reassign, waiting)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm import clock, services
from crm.forms import (
    FollowUpDoneForm,
    FollowUpEditForm,
    FollowUpForm,
    FollowUpReassignForm,
    FollowUpSnoozeForm,
    FollowUpWaitingForm,
)
from crm.managers import week_end
from crm.models import FollowUp
from crm.versions import StaleVersion, version_of
from crm.views.common import (
    action_context,
    add_errors,
    next_url,
    prefill_from_url,
    require,
    save_versioned,
)
from crm.views.history import follow_up_events


@login_required
def follow_up_new(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_followup", "crm.add_followup")
    prefill = prefill_from_url(request)
    if request.method == "POST":
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                follow_up = services.follow_up_create(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, _("Follow-up “%(title)s” added.") % {"title": follow_up})
                return redirect(next_url(request, follow_up.get_absolute_url()))
    else:
        initial: dict[str, Any] = {
            "assignee": request.user,
            # A week from now: the end of "due this week".
            "due_on": week_end(clock.today()),
        }
        interaction = prefill.get("interaction")
        if interaction is not None:
            # Pre-filled from the interaction when it names a single one.
            projects = list(interaction.projects.all()[:2])
            organizations = list(interaction.organizations.all()[:2])
            if len(projects) == 1:
                initial["project"] = projects[0]
            if len(organizations) == 1:
                initial["organization"] = organizations[0]
        initial.update(
            {k: v for k, v in prefill.items() if k in ("organization", "project", "interaction")}
        )
        form = FollowUpForm(initial=initial)
    context = {"form": form, "next": next_url(request, ""), "prefill": prefill}
    return render(request, "crm/follow_up_form.html", context)


# Snooze, reassign and waiting carry the version of the follow-up they were
# shown with: decided on an old state of the work, they are refused rather than
# laid over a newer one. Marking done is not: the work was done whatever
# changed meanwhile, and the service refuses work that is closed already.
FOLLOW_UP_ACTIONS = {
    "done": (FollowUpDoneForm, gettext_lazy("Mark done")),
    "snooze": (FollowUpSnoozeForm, gettext_lazy("Snooze")),
    "reassign": (FollowUpReassignForm, gettext_lazy("Reassign")),
    "waiting": (FollowUpWaitingForm, gettext_lazy("Waiting on the partner")),
}


def _get_follow_up_for_user(request: HttpRequest, pk: int) -> FollowUp:
    require(request, "crm.view_followup", "crm.change_followup")
    return get_object_or_404(
        FollowUp.objects.select_related("project", "organization", "assignee"), pk=pk
    )


def _run_follow_up_action(request, action: str, follow_up: FollowUp, data) -> str:
    """Call the service of ``action``; return the success message."""
    version = data.get("version")
    if action == "done":
        services.follow_up_complete(
            follow_up=follow_up,
            by=request.user,
            note=data["completion_note"],
            contact=data.get("contact", False),
        )
        return _("“%(title)s” marked done.")
    if action == "snooze":
        services.follow_up_snooze(
            follow_up=follow_up,
            due_on=data["due_on"],
            reason=data["reason"],
            by=request.user,
            today=clock.today(),
            version=version,
        )
        return _("“%(title)s” put off.")
    if action == "reassign":
        services.follow_up_reassign(
            follow_up=follow_up, assignee=data["assignee"], by=request.user, version=version
        )
        return _("“%(title)s” reassigned.")
    services.follow_up_mark_waiting(follow_up=follow_up, by=request.user, version=version)
    return _("“%(title)s” is now waiting on the partner.")


@login_required
def follow_up_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Act on a follow-up: the form is shown on its own page when it needs fixing."""
    follow_up = _get_follow_up_for_user(request, pk)
    form_class, title = FOLLOW_UP_ACTIONS[action]
    initial = {"version": version_of(follow_up)}
    if action == "reassign":
        initial["assignee"] = follow_up.assignee
    extra = {"follow_up": follow_up} if action == "done" else {}
    form = form_class(request.POST if request.method == "POST" else None, initial=initial, **extra)
    if request.method == "POST" and form.is_valid():
        try:
            message = _run_follow_up_action(request, action, follow_up, form.cleaned_data)
        except StaleVersion as stale:
            # Shown with the follow-up as it now is; what was typed stays.
            follow_up = _get_follow_up_for_user(request, pk)
            reload_url = reverse(f"follow-up-{action}", args=[follow_up.pk])
            next_ = next_url(request, "")
            if next_:
                reload_url += "?" + urlencode({"next": next_})
            form.add_error(None, stale.message(reload_url=reload_url))
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, message % {"title": follow_up.title})
            return HttpResponseRedirect(next_url(request, follow_up.get_absolute_url()))
    context = {
        "follow_up": follow_up,
        "form": form,
        "action": action,
        "action_title": title,
        "action_url": reverse(f"follow-up-{action}", args=[follow_up.pk]),
        "next": next_url(request, follow_up.get_absolute_url()),
    }
    return render(request, "crm/follow_up_action.html", context)


@require_GET
@login_required
def follow_up_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One follow-up: its facts, its actions and everything that happened to it."""
    require(request, "crm.view_followup")
    follow_up = get_object_or_404(
        FollowUp.objects.select_related(
            "project",
            "organization",
            "person",
            "interaction",
            "completion_contact",
            "assignee",
            "created_by",
            "completed_by",
        ),
        pk=pk,
    )
    events, cut = follow_up_events(follow_up)
    events.reverse()  # Newest first, as on the organisation's timeline.
    context = {
        "follow_up": follow_up,
        "events": events,
        "history_cut": cut,
        "is_overdue": follow_up.is_overdue(today=clock.today()),
        **action_context(request),
    }
    return render(request, "crm/follow_up.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def follow_up_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "crm.view_followup", "crm.change_followup")
    follow_up = get_object_or_404(FollowUp, pk=pk)
    form = FollowUpEditForm(request.POST or None, instance=follow_up)
    if request.method == "POST" and form.is_valid():
        saved = save_versioned(request, form)
        if saved is not None:
            messages.success(request, _("“%(title)s” saved.") % {"title": saved.title})
            return redirect(saved)
    context = {
        "form": form,
        "title": _("Edit the follow-up"),
        "cancel_url": reverse("follow-up", args=[pk]),
    }
    return render(request, "crm/record_form.html", context)
