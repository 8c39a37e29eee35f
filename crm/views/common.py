"""What the staff pages share: the clock, permission checks, redirects, lists cut short."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from crm import clock
from crm.agenda import bounded_groups
from crm.managers import open_q
from crm.models import FollowUp, Interaction, Merge, Mission, Organization, Project
from crm.versions import StaleVersion

# Follow-ups listed per dashboard group and per page; the rest is one link
# away, in the admin's changelist filtered the same way.
FOLLOW_UP_LIMIT = 50


def require(request: HttpRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def merged_record_redirect(kind: str, model, slug: str) -> HttpResponsePermanentRedirect:
    """Send a merged record's old address to the page of the record kept, or raise 404.

    For a caller that has already checked the permission to view ``model``.
    """
    kept_id = Merge.objects.survivor_id(kind=kind, slug=slug)
    kept = model.objects.filter(pk=kept_id).only("pk", "slug").first() if kept_id else None
    if kept is None:
        raise Http404
    return HttpResponsePermanentRedirect(kept.get_absolute_url())


def next_url(request: HttpRequest, default: str) -> str:
    """Return the ``next`` parameter when it points back into this site."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields, or above them."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def action_context(request: HttpRequest) -> dict[str, Any]:
    """Return what the follow-up action forms of a page need."""
    # No list of staff here: reassigning is a link to the follow-up's own
    # action page, so that a long list does not carry a <select> per row.
    return {"can_act": request.user.has_perm("crm.change_followup"), "today": clock.today()}


def admin_follow_ups_url(**filters: Any) -> str:
    """Return the admin's follow-up changelist filtered by ``filters``."""
    return f"{reverse('admin:crm_followup_changelist')}?{urlencode(filters)}"


@dataclass
class FollowUpList:
    """At most FOLLOW_UP_LIMIT follow-ups, how many there are, and where the rest are."""

    follow_ups: list[FollowUp]
    total: int
    more_url: str

    @property
    def more(self) -> int:
        return self.total - len(self.follow_ups)


def open_follow_ups(queryset, **admin_filters: Any) -> FollowUpList:
    """List a page's open follow-ups, cut at FOLLOW_UP_LIMIT (two queries, however many)."""
    queryset = queryset.select_related("project", "organization", "assignee", "person")
    group = bounded_groups(queryset, {"open": open_q()}, limit=FOLLOW_UP_LIMIT)["open"]
    follow_ups, total = group.follow_ups, group.total
    statuses = ",".join(FollowUp.OPEN_STATUSES)
    return FollowUpList(
        follow_ups, total, admin_follow_ups_url(status__in=statuses, **admin_filters)
    )


def prefill_from_url(request: HttpRequest) -> dict[str, Any]:
    """Return the organisation, project, interaction and mission named in the URL.

    The project defaults to the organisation's only one, when it has one only.
    """
    values: dict[str, Any] = {}
    lookups = [
        ("organization", Organization, "slug"),
        ("project", Project, "code"),
        ("interaction", Interaction, "slug"),
        ("mission", Mission, "slug"),
    ]
    for name, model, field in lookups:
        key = request.GET.get(name)
        if key:
            values[name] = model.objects.filter(**{field: key}).first()
    values = {name: value for name, value in values.items() if value is not None}
    if "organization" in values and "project" not in values:
        # An organisation that is a partner of one project only: that project.
        projects = list(
            Project.objects.filter(partnerships__organization=values["organization"])[:2]
        )
        if len(projects) == 1:
            values["project"] = projects[0]
    return values


def edit_page(
    request: HttpRequest,
    form,
    *,
    template: str,
    context: dict[str, Any],
    saved_message: Callable[[Any], str],
    save=None,
) -> HttpResponse:
    """Answer an edit page: on a valid POST, save (``save_versioned``) and go to the record.

    Otherwise, or when the save is refused (an old copy, a rule), show the form
    again with what was typed and why.
    """
    if request.method == "POST" and form.is_valid():
        saved = save_versioned(request, form, save=save)
        if saved is not None:
            messages.success(request, saved_message(saved))
            return redirect(saved)
    return render(request, template, {"form": form, **context})


def save_versioned(request: HttpRequest, form, *, reason: str = "", save=None):
    """Save a valid ``VersionedModelForm``; return the record, or None with the errors on the form.

    A copy opened on an older version is refused with who changed it and a link
    to reload; what the user typed stays in the form. ``save``, when given, is
    the concept's update service, called with the form, instead of the form's
    own ``save_by``.
    """
    try:
        if save is not None:
            return save(form)
        return form.save_by(by=request.user, reason=reason)
    except StaleVersion as error:
        form.add_error(None, error.message(reload_url=request.path))
    except ValidationError as error:
        add_errors(form, error)
    return None
