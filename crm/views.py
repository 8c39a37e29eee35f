"""Staff pages: the daily follow-up work, one partner's story, a project's pipeline.

Thin function views. Each page loads its object through one ``_get_x_for_user``
helper (select_related, 404, permission); reads come from the QuerySets in
``crm.managers`` and every write goes through ``crm.services``. A user without
the model's view permission gets a 403 on a page; without the add/change
permission, a 403 on any action.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import commitment_views, roles, services
from crm.agenda import WEEK_DAYS, group_follow_ups
from crm.calendar import calendar_url_for
from crm.forms import (
    ApplyPlanForm,
    ChangeStageForm,
    FollowUpDoneForm,
    FollowUpForm,
    FollowUpReassignForm,
    FollowUpRowFormSet,
    FollowUpSnoozeForm,
    InteractionForm,
)
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
    StageChange,
)

# Each source of an organisation's timeline is cut at this many rows, newest
# first, so that a long relationship still loads in three bounded queries.
TIMELINE_LIMIT = 100
SEARCH_LIMIT = 25
# Follow-ups listed per dashboard group and per page; the rest is one link
# away, in the admin's changelist filtered the same way.
FOLLOW_UP_LIMIT = 50


def today() -> date:
    """Return the unit's today (Africa/Lome); tests replace this function."""
    return timezone.localdate()


def _require(request: HttpRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def _next_url(request: HttpRequest, default: str) -> str:
    """Return the ``next`` parameter when it points back into this site."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def _add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields, or above them."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _action_context(request: HttpRequest) -> dict[str, Any]:
    """Return what the follow-up action forms of a page need."""
    # No list of staff here: reassigning is a link to the follow-up's own
    # action page, so that a long list does not carry a <select> per row.
    return {"can_act": request.user.has_perm("crm.change_followup"), "today": today()}


def _admin_follow_ups_url(**filters: Any) -> str:
    """Return the admin's follow-up changelist filtered by ``filters``."""
    return f"{reverse('admin:crm_followup_changelist')}?{urlencode(filters)}"


OPEN_NOT_WAITING = ",".join(
    status for status in FollowUp.OPEN_STATUSES if status != FollowUp.Status.WAITING
)


@dataclass
class FollowUpList:
    """At most FOLLOW_UP_LIMIT follow-ups, how many there are, and where the rest are."""

    follow_ups: list[FollowUp]
    total: int
    more_url: str

    @property
    def more(self) -> int:
        return self.total - len(self.follow_ups)


def _open_follow_ups(queryset, **admin_filters: Any) -> FollowUpList:
    """List a page's open follow-ups, cut at FOLLOW_UP_LIMIT (two queries)."""
    follow_ups = list(
        queryset.select_related("project", "organization", "assignee", "person").order_by(
            "due_on", "id"
        )[:FOLLOW_UP_LIMIT]
    )
    total = len(follow_ups)
    if total == FOLLOW_UP_LIMIT:
        total = queryset.count()
    statuses = ",".join(FollowUp.OPEN_STATUSES)
    return FollowUpList(
        follow_ups, total, _admin_follow_ups_url(status__in=statuses, **admin_filters)
    )


# Dashboard.


def _project_chart(*, on: date) -> dict[str, Any]:
    """Return the bars of the open-follow-ups-per-project chart (one query)."""
    projects = Project.objects.with_follow_up_counts(today=on).order_by("name")
    bar_height, gap, label_width, bar_space = 22, 10, 170, 190
    largest = max((project.open_count for project in projects), default=0) or 1
    bars = []
    for index, project in enumerate(projects):
        y = index * (bar_height + gap)
        bars.append(
            {
                "project": project,
                "y": y,
                "text_y": y + bar_height - 6,
                "width": round(bar_space * project.open_count / largest),
                "overdue_width": round(bar_space * project.overdue_count / largest),
            }
        )
    return {
        "bars": bars,
        "bar_height": bar_height,
        "label_width": label_width,
        "count_x": label_width + bar_space + 8,
        "width": label_width + bar_space + 60,
        "height": max(len(bars) * (bar_height + gap), bar_height),
    }


@dataclass
class DashboardGroup:
    key: str
    label: str
    follow_ups: list[FollowUp]
    total: int
    more_url: str

    @property
    def more(self) -> int:
        return self.total - len(self.follow_ups)


def _group_filters(key: str, on: date) -> dict[str, str]:
    """Return the admin changelist filters that match a dashboard group."""
    if key == "waiting":
        return {"status__exact": FollowUp.Status.WAITING}
    week_end = on + timedelta(days=WEEK_DAYS)
    dates = {
        "overdue": {"due_on__lt": on},
        "today": {"due_on__exact": on},
        "week": {"due_on__gt": on, "due_on__lte": week_end},
        "later": {"due_on__gt": week_end},
    }[key]
    return {"status__in": OPEN_NOT_WAITING, **{k: v.isoformat() for k, v in dates.items()}}


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require(request, "crm.view_followup", "crm.view_partnership")
    on = today()
    may_see_team = roles.is_coordination(request.user)
    scope = "team" if may_see_team and request.GET.get("scope") == "team" else "mine"
    follow_ups = FollowUp.objects.open().select_related("project", "organization", "assignee")
    if scope == "mine":
        follow_ups = follow_ups.for_assignee(request.user)
    stale = Partnership.objects.gone_quiet(today=on).select_related(
        "organization", "project", "owner"
    )
    if scope == "mine":
        # As in the morning digest: the partnerships the user owns.
        stale = stale.filter(owner=request.user)
    mine = {"assignee__id__exact": request.user.pk} if scope == "mine" else {}
    groups = [
        DashboardGroup(
            group.key,
            group.label,
            group.follow_ups[:FOLLOW_UP_LIMIT],
            len(group.follow_ups),
            _admin_follow_ups_url(**_group_filters(group.key, on), **mine),
        )
        for group in group_follow_ups(follow_ups.order_by("due_on", "id"), on=on)
    ]
    context = {
        "scope": scope,
        "may_see_team": may_see_team,
        "groups": groups,
        "stale_partnerships": stale,
        "chart": _project_chart(on=on),
        "calendar_url": calendar_url_for(request.user, request),
        **_action_context(request),
    }
    context.update(commitment_views.dashboard_context(request.user, on=on, team=scope == "team"))
    return render(request, "crm/dashboard.html", context)


# Organisation.


@dataclass
class TimelineEntry:
    kind: str  # interaction, follow_up_opened, follow_up_done, stage_change
    day: date
    moment: datetime | None
    item: Any

    @property
    def sort_key(self) -> tuple:
        # On one day, what has a time (follow-ups, stage changes) usually came
        # out of that day's meeting, so it sorts above it.
        return (self.day, self.moment is not None, self.moment.timestamp() if self.moment else 0)


def _get_organization_for_user(request: HttpRequest, slug: str) -> Organization:
    _require(request, "crm.view_organization")
    return get_object_or_404(Organization.objects.select_related("source"), slug=slug)


def _organization_timeline(organization: Organization) -> list[TimelineEntry]:
    """Merge interactions, follow-ups and stage changes, newest first."""
    interactions = (
        Interaction.objects.filter(organizations=organization)
        .select_related("mission")
        .order_by("-occurred_on", "-id")[:TIMELINE_LIMIT]
    )
    follow_ups = organization.follow_ups.select_related(
        "project", "created_by", "completed_by"
    ).order_by("-created_at")[:TIMELINE_LIMIT]
    changes = (
        StageChange.objects.filter(partnership__organization=organization)
        .select_related("partnership__project", "changed_by")
        .order_by("-changed_at")[:TIMELINE_LIMIT]
    )
    local = timezone.localdate
    entries = [TimelineEntry("interaction", i.occurred_on, None, i) for i in interactions]
    for follow_up in follow_ups:
        entries.append(
            TimelineEntry(
                "follow_up_opened", local(follow_up.created_at), follow_up.created_at, follow_up
            )
        )
        if follow_up.completed_at:
            entries.append(
                TimelineEntry(
                    "follow_up_done",
                    local(follow_up.completed_at),
                    follow_up.completed_at,
                    follow_up,
                )
            )
    entries += [
        TimelineEntry("stage_change", local(c.changed_at), c.changed_at, c) for c in changes
    ]
    entries += [
        TimelineEntry(*row)
        for row in commitment_views.timeline_rows(organization, limit=TIMELINE_LIMIT)
    ]
    entries.sort(key=lambda entry: entry.sort_key, reverse=True)
    return entries


@require_GET
@login_required
def organization(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _get_organization_for_user(request, slug)
    on = today()
    context = {
        "organization": organization,
        # Current roles (no end) first: NULLs sort first on SQLite but last on
        # PostgreSQL unless told.
        "affiliations": organization.affiliations.select_related("person").order_by(
            F("end_on").asc(nulls_first=True), "-is_primary", "person__family_name"
        ),
        "partnerships": organization.partnerships.with_staleness(today=on)
        .with_next_follow_up()
        .select_related("project", "owner")
        .order_by("project__name"),
        "open_follow_ups": _open_follow_ups(
            organization.follow_ups.open(), organization__id__exact=organization.pk
        ),
        "timeline": _organization_timeline(organization),
        **_action_context(request),
    }
    if request.user.has_perm("crm.view_commitment"):
        context.update(commitment_views.organization_context(organization, on=on))
    return render(request, "crm/organization.html", context)


# Project.


def _get_project_for_user(request: HttpRequest, code: str) -> Project:
    _require(request, "crm.view_project", "crm.view_partnership")
    return get_object_or_404(Project.objects.select_related("programme", "lead"), code=code)


# The pipeline's columns; the two stages off the main path are shown apart.
PIPELINE_STAGES = [
    Partnership.Stage.IDENTIFIED,
    Partnership.Stage.CONTACTED,
    Partnership.Stage.EXPLORING,
    Partnership.Stage.PROPOSAL,
    Partnership.Stage.AGREEMENT,
    Partnership.Stage.ACTIVE,
]
SIDE_STAGES = [Partnership.Stage.ON_HOLD, Partnership.Stage.CLOSED]


@require_GET
@login_required
def project(request: HttpRequest, code: str) -> HttpResponse:
    project = _get_project_for_user(request, code)
    partnerships = (
        project.partnerships.with_staleness(today=today())
        .with_next_follow_up()
        .select_related("organization", "owner")
        .order_by("organization__name")
    )
    by_stage: dict[str, list[Partnership]] = {stage: [] for stage in Partnership.Stage.values}
    for partnership in partnerships:
        by_stage[partnership.stage].append(partnership)

    def columns(stages):
        return [(stage, stage.label, by_stage[stage]) for stage in stages]

    context = {
        "project": project,
        "columns": columns(PIPELINE_STAGES),
        "side_columns": columns(SIDE_STAGES),
        "partnership_count": sum(len(items) for items in by_stage.values()),
        "stage_choices": Partnership.Stage.choices,
        "can_move": request.user.has_perm("crm.change_partnership"),
        "open_follow_ups": _open_follow_ups(
            project.follow_ups.open(), project__id__exact=project.pk
        ),
        **_action_context(request),
    }
    if request.user.has_perm("crm.view_commitment"):
        context.update(commitment_views.project_context(project, on=today()))
    return render(request, "crm/project.html", context)


@require_POST
@login_required
def partnership_stage(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "crm.change_partnership")
    partnership = get_object_or_404(
        Partnership.objects.select_related("organization", "project"), pk=pk
    )
    form = ChangeStageForm(request.POST)
    if form.is_valid():
        try:
            services.partnership_change_stage(
                partnership=partnership,
                to_stage=form.cleaned_data["stage"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("%(organization)s moved to “%(stage)s”.")
                % {
                    "organization": partnership.organization,
                    "stage": Partnership.Stage(form.cleaned_data["stage"]).label,
                },
            )
    else:
        messages.error(request, _("Choose a stage."))
    return redirect(_next_url(request, partnership.project.get_absolute_url()))


# Mission.


def _get_mission_for_user(request: HttpRequest, slug: str) -> Mission:
    _require(request, "crm.view_mission", "crm.view_interaction")
    return get_object_or_404(Mission.objects.select_related("organizer", "source"), slug=slug)


@require_GET
@login_required
def mission(request: HttpRequest, slug: str) -> HttpResponse:
    mission = _get_mission_for_user(request, slug)
    interactions = mission.interactions.prefetch_related(
        Prefetch("organizations", queryset=Organization.objects.order_by("name")),
        Prefetch("people", queryset=Person.objects.order_by("family_name")),
    ).order_by("occurred_on", "id")
    follow_ups = (
        FollowUp.objects.filter(interaction__mission=mission)
        .select_related("organization", "project", "assignee")
        .order_by("organization__name", "due_on", "id")
    )
    # Follow-ups without an organisation are the unit's own work, listed last.
    per_organization: dict[Organization | None, dict[str, list]] = {}
    for follow_up in follow_ups:
        row = per_organization.setdefault(follow_up.organization, {"open": [], "closed": []})
        row["open" if follow_up.is_open else "closed"].append(follow_up)
    if None in per_organization:
        per_organization[None] = per_organization.pop(None)
    context = {
        "mission": mission,
        "delegation": mission.delegation.select_related("person").order_by("person__family_name"),
        "interactions": interactions,
        "follow_ups_per_organization": per_organization.items(),
        **commitment_views.mission_context(mission),
    }
    return render(request, "crm/mission.html", context)


# Interactions.


def _get_interaction_for_user(request: HttpRequest, slug: str) -> Interaction:
    _require(request, "crm.view_interaction")
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
        **_action_context(request),
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
    _require(request, "crm.add_followup")
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
                today=today(),
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


def _prefill(request: HttpRequest) -> dict[str, Any]:
    """Return the organisation, project, interaction and mission named in the URL."""
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
    return {name: value for name, value in values.items() if value is not None}


@login_required
def interaction_new(request: HttpRequest) -> HttpResponse:
    """Log an interaction with the follow-ups it opened, all or nothing."""
    _require(request, "crm.view_interaction", "crm.add_interaction", "crm.add_followup")
    prefill = _prefill(request)
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
        if show_errors and form.is_valid() and formset.is_valid():
            rows = [row.cleaned_data for row in formset.forms if row.has_changed()]
            try:
                interaction = services.interaction_log(
                    by=request.user,
                    follow_ups=rows,
                    **form.cleaned_data,
                )
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
        initial: dict[str, Any] = {"occurred_on": today(), "staff": [request.user]}
        if "organization" in prefill:
            initial["organizations"] = [prefill["organization"]]
        if "project" in prefill:
            initial["projects"] = [prefill["project"]]
        if "mission" in prefill:
            initial["mission"] = prefill["mission"]
        form = InteractionForm(initial=initial)
        formset = FollowUpRowFormSet(prefix="follow_ups", form_kwargs={"initial": row_initial})
    context = {"form": form, "formset": formset, "show_errors": show_errors}
    return render(request, "crm/interaction_form.html", context)


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


# Follow-ups.


@login_required
def follow_up_new(request: HttpRequest) -> HttpResponse:
    _require(request, "crm.view_followup", "crm.add_followup")
    prefill = _prefill(request)
    if request.method == "POST":
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                follow_up = services.follow_up_create(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Follow-up “%(title)s” added.") % {"title": follow_up})
                return redirect(_next_url(request, follow_up.get_absolute_url()))
    else:
        initial: dict[str, Any] = {"assignee": request.user, "due_on": today() + timedelta(7)}
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
    context = {"form": form, "next": _next_url(request, ""), "prefill": prefill}
    return render(request, "crm/follow_up_form.html", context)


FOLLOW_UP_ACTIONS = {
    "done": (FollowUpDoneForm, gettext_lazy("Mark done")),
    "snooze": (FollowUpSnoozeForm, gettext_lazy("Snooze")),
    "reassign": (FollowUpReassignForm, gettext_lazy("Reassign")),
    "waiting": (None, gettext_lazy("Waiting on the partner")),
}


def _get_follow_up_for_user(request: HttpRequest, pk: int) -> FollowUp:
    _require(request, "crm.view_followup", "crm.change_followup")
    return get_object_or_404(
        FollowUp.objects.select_related("project", "organization", "assignee"), pk=pk
    )


def _run_follow_up_action(request, action: str, follow_up: FollowUp, data) -> str:
    """Call the service of ``action``; return the success message."""
    if action == "done":
        services.follow_up_complete(
            follow_up=follow_up, by=request.user, note=data["completion_note"]
        )
        return _("“%(title)s” marked done.")
    if action == "snooze":
        services.follow_up_snooze(
            follow_up=follow_up,
            due_on=data["due_on"],
            reason=data["reason"],
            by=request.user,
            today=today(),
        )
        return _("“%(title)s” put off.")
    if action == "reassign":
        services.follow_up_reassign(
            follow_up=follow_up, assignee=data["assignee"], by=request.user
        )
        return _("“%(title)s” reassigned.")
    services.follow_up_mark_waiting(follow_up=follow_up, by=request.user)
    return _("“%(title)s” is now waiting on the partner.")


@login_required
def follow_up_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Act on a follow-up: the form is shown on its own page when it needs fixing."""
    follow_up = _get_follow_up_for_user(request, pk)
    form_class, title = FOLLOW_UP_ACTIONS[action]
    initial = {"assignee": follow_up.assignee} if action == "reassign" else None
    form = form_class(request.POST or None, initial=initial) if form_class else None
    if request.method == "POST" and (form is None or form.is_valid()):
        data = form.cleaned_data if form else {}
        try:
            message = _run_follow_up_action(request, action, follow_up, data)
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
                return HttpResponseRedirect(_next_url(request, follow_up.get_absolute_url()))
            _add_errors(form, error)
        else:
            messages.success(request, message % {"title": follow_up.title})
            return HttpResponseRedirect(_next_url(request, follow_up.get_absolute_url()))
    context = {
        "follow_up": follow_up,
        "form": form,
        "action": action,
        "action_title": title,
        "action_url": reverse(f"follow-up-{action}", args=[follow_up.pk]),
        "next": _next_url(request, follow_up.get_absolute_url()),
    }
    return render(request, "crm/follow_up_action.html", context)


# Search.


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results: dict[str, Any] = {}
    if query:
        user = request.user
        if user.has_perm("crm.view_organization"):
            results["organizations"] = Organization.objects.filter(
                Q(name__icontains=query)
                | Q(short_name__icontains=query)
                | Q(city__icontains=query)
                | Q(description__icontains=query)
            ).order_by("name")[:SEARCH_LIMIT]
        if user.has_perm("crm.view_person"):
            words = query.split()
            people = Person.objects.all()
            for word in words:
                people = people.filter(
                    Q(given_name__icontains=word)
                    | Q(family_name__icontains=word)
                    | Q(email__icontains=word)
                )
            results["people"] = people.prefetch_related(
                Prefetch(
                    "affiliations",
                    queryset=Affiliation.objects.filter(end_on__isnull=True)
                    .select_related("organization")
                    .order_by("-is_primary", "title"),
                    to_attr="active_affiliations",
                )
            ).order_by("family_name", "given_name")[:SEARCH_LIMIT]
        if user.has_perm("crm.view_project"):
            results["projects"] = Project.objects.filter(
                Q(name__icontains=query) | Q(code__icontains=query)
            ).order_by("name")[:SEARCH_LIMIT]
    context = {"query": query, "results": results}
    return render(request, "crm/search.html", context)
