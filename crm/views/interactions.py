"""One interaction's page, logging a meeting with its follow-ups, applying a plan."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import clock, services
from crm.forms import (
    ApplyPlanForm,
    FollowUpRowFormSet,
    InteractionEditForm,
    InteractionForm,
    NewPersonForm,
)
from crm.models import Interaction
from crm.views.common import action_context, edit_page, prefill_from_url, require


def _get_interaction_for_user(request: HttpRequest, slug: str) -> Interaction:
    require(request, "crm.view_interaction")
    return get_object_or_404(
        Interaction.objects.select_related("mission", "created_by", "source"), slug=slug
    )


@require_GET
@login_required
def interaction(request: HttpRequest, slug: str) -> HttpResponse:
    interaction = _get_interaction_for_user(request, slug)
    follow_ups = interaction.follow_ups.select_related(
        "project", "organization", "assignee", "person"
    ).order_by("due_on", "id")
    context = {
        "interaction": interaction,
        "organizations": interaction.organizations.order_by("name"),
        "people": interaction.people.order_by("family_name"),
        "staff": interaction.staff.order_by("username"),
        "projects": interaction.projects.order_by("name"),
        "open_follow_ups": [f for f in follow_ups if f.is_open],
        "closed_follow_ups": [f for f in follow_ups if not f.is_open],
        **action_context(request),
    }
    if request.user.has_perm("crm.add_followup"):
        context["plan_form"] = _apply_plan_form(request, interaction)
    return render(request, "crm/interaction.html", context)


def _apply_plan_form(request: HttpRequest, interaction: Interaction, data=None) -> ApplyPlanForm:
    initial = {"assignee": request.user}
    projects = list(interaction.projects.all()[:2])
    organizations = list(interaction.organizations.all()[:2])
    if len(projects) == 1:
        initial["project"] = projects[0]
    if len(organizations) == 1:
        initial["organization"] = organizations[0]
    return ApplyPlanForm(data, interaction=interaction, initial=initial)


@require_POST
@login_required
def interaction_apply_plan(request: HttpRequest, slug: str) -> HttpResponse:
    interaction = _get_interaction_for_user(request, slug)
    require(request, "crm.add_followup")
    form = _apply_plan_form(request, interaction, request.POST)
    if form.is_valid():
        try:
            created = services.follow_up_plan_apply(
                plan=form.cleaned_data["plan"],
                interaction=interaction,
                project=form.cleaned_data["project"],
                organization=form.cleaned_data["organization"],
                assignee=form.cleaned_data["assignee"],
                by=request.user,
                today=clock.today(),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                ngettext(
                    "Plan “%(plan)s” applied: %(count)d follow-up opened.",
                    "Plan “%(plan)s” applied: %(count)d follow-ups opened.",
                    len(created),
                )
                % {"plan": form.cleaned_data["plan"], "count": len(created)},
            )
    else:
        messages.error(request, _("The plan could not be applied: check the plan and project."))
    return redirect(interaction)


@login_required
def interaction_new(request: HttpRequest) -> HttpResponse:
    """Log an interaction with the follow-ups it opened, all or nothing."""
    require(request, "crm.view_interaction", "crm.add_interaction", "crm.add_followup")
    prefill = prefill_from_url(request)
    row_initial = {"assignee": request.user, "project": prefill.get("project")}
    if "organization" in prefill:
        row_initial["organization"] = prefill["organization"]
    show_errors = True
    if request.method == "POST":
        data = request.POST.copy()
        if "add_row" in data:
            # No JavaScript needed: one more blank row, everything typed kept.
            data["follow_ups-TOTAL_FORMS"] = str(_rows_posted(data) + 1)
            show_errors = False
        form = InteractionForm(data)
        formset = FollowUpRowFormSet(
            data, prefix="follow_ups", form_kwargs={"initial": row_initial}
        )
        new_person = NewPersonForm(data)
        valid = [form.is_valid(), formset.is_valid(), new_person.is_valid()]
        if show_errors and all(valid):
            rows = [row.cleaned_data for row in formset.forms if row.has_changed()]
            try:
                interaction = _log_with_new_person(request, form, new_person, rows)
            except ValidationError as error:
                _add_service_errors(form, formset, rows, error)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Interaction logged with %(count)d follow-up.",
                        "Interaction logged with %(count)d follow-ups.",
                        len(rows),
                    )
                    % {"count": len(rows)},
                )
                return redirect(interaction)
    else:
        initial: dict[str, Any] = {"occurred_on": clock.today(), "staff": [request.user]}
        if "organization" in prefill:
            initial["organizations"] = [prefill["organization"]]
        if "project" in prefill:
            initial["projects"] = [prefill["project"]]
        if "mission" in prefill:
            initial["mission"] = prefill["mission"]
        form = InteractionForm(initial=initial)
        formset = FollowUpRowFormSet(prefix="follow_ups", form_kwargs={"initial": row_initial})
        new_person = NewPersonForm(initial={"organization": prefill.get("organization")})
    context = {
        "form": form,
        "formset": formset,
        "new_person": new_person,
        "show_errors": show_errors,
        # Each script once, however many forms use it.
        "media": form.media + new_person.media + formset.media,
    }
    return render(request, "crm/interaction_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def interaction_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Correct a meeting: its facts, who took part, what was discussed (not its follow-ups)."""
    require(request, "crm.view_interaction", "crm.change_interaction")
    interaction = get_object_or_404(Interaction, slug=slug)
    form = InteractionEditForm(request.POST or None, instance=interaction)
    return edit_page(
        request,
        form,
        template="crm/interaction_form.html",
        context={
            "editing": True,
            "title": _("Edit the meeting"),
            "cancel_url": interaction.get_absolute_url(),
            "show_errors": True,
            "media": form.media,
        },
        saved_message=lambda saved: _("“%(title)s” saved.") % {"title": saved.title},
        save=lambda form: services.interaction_update(
            interaction=interaction, by=request.user, **form.to_service()
        ),
    )


def _log_with_new_person(request, form, new_person, rows) -> Interaction:
    """Log the interaction, first recording the person met for the first time, if any.

    One transaction: if the interaction is refused, the new person is not kept.
    """
    with transaction.atomic():
        people = list(form.cleaned_data["people"])
        if not new_person.is_blank():
            values = {k: v for k, v in new_person.cleaned_data.items() if v not in (None, "")}
            people.append(services.person_create(by=request.user, **values))
        return services.interaction_log(
            by=request.user, follow_ups=rows, **{**form.cleaned_data, "people": people}
        )


# The most follow-up rows one interaction form offers.
MAX_FOLLOW_UP_ROWS = 20


def _rows_posted(data) -> int:
    """Return how many follow-up rows the form held, whatever was posted."""
    # A tampered or truncated value must not be a server error.
    try:
        total = int(data.get("follow_ups-TOTAL_FORMS", ""))
    except ValueError:
        total = 0
    return max(0, min(total, MAX_FOLLOW_UP_ROWS - 1))


def _add_service_errors(form, formset, rows, error: ValidationError) -> None:
    """Show the errors ``interaction_log`` found, next to the rows they belong to."""
    changed = [row for row in formset.forms if row.has_changed()]
    for key, messages_ in error.message_dict.items():
        if key.startswith("follow_ups["):
            index = int(key[len("follow_ups[") : -1])
            if index < len(changed):
                changed[index].add_error(None, messages_)
                continue
        form.add_error(key if key in form.fields else None, messages_)
