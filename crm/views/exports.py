"""The staff pages' "Export" buttons: the rows a list's filters select, as a person reads them.

A list page (dashboard, organisations, people, projects) answers
``?export=xlsx`` or ``?export=csv`` added to its own URL, its filters
carried as they are: every row they select, not the page shown. The open
follow-ups listed on a project's, an organisation's, a person's or a
partnership's page (the first 50 there) are exported by ``follow_up_export``,
filtered by the record's key. The files are
written by the API's machinery (``crm.api.export``: COPY or streamed CSV, the
constant-memory XLSX writer), or, above ``CRM_EXPORT_JOB_THRESHOLD`` rows, by a
job whose page shows its progress (``crm/jobs.py``), with columns declared here for a reader, not a
program: labels instead of codes, names instead of ids, "oui"/"non", headers
and file name in the reader's language; a French CSV is separated by ";" with
decimal commas, as Excel set to French opens it. Each export is written to the
export log (``crm.audit``), as the API's are.

Who may export: whoever may see the page (login and the page's view
permissions), which are also what the API's export of the same list demands
(``RolePermissions``: ``view_<model>``); so Read-only users export what they
can see, as they can through the API.
"""

from django.contrib.auth.decorators import login_required
from django.db import models
from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import clock, jobs
from crm.api import export
from crm.api.export import Column, Kind
from crm.api.exporters import _Joined, full_name, joined_related, user_name
from crm.audit import count_rows_when_sent, filters_of, record_export
from crm.countries import country_choices
from crm.managers import DEADLINE_GROUPS, Deadline, deadline_q, open_q
from crm.models import Affiliation, FollowUp, Organization, Partnership, Person, Project
from crm.views.common import require

# The query parameter that asks for a file, and the formats it takes; XLSX is
# the button shown first.
PARAMETER = "export"
FORMATS = ("xlsx", "csv")


def requested_format(request: HttpRequest) -> str | None:
    """Return the format the page is asked for (``export_response`` checks it), else None."""
    return request.GET.get(PARAMETER) or None


def export_urls(request: HttpRequest) -> dict[str, str]:
    """Return the page's own query string asking for each format, its filters kept.

    The page number is dropped: a file holds every page.
    """
    kept = [(k, v) for k, v in request.GET.items() if k not in ("page", PARAMETER)]
    return {fmt: "?" + urlencode([*kept, (PARAMETER, fmt)]) for fmt in FORMATS}


def _verbose(model, name: str):
    return model._meta.get_field(name).verbose_name


def _field(model, path: str, kind: Kind = Kind.TEXT, header=None) -> Column:
    *relations, last = path.split("__")
    owner = model
    for name in relations:
        owner = owner._meta.get_field(name).related_model
    return Column(header or _verbose(owner, last), path, kind)


def _label(model, name: str, header=None) -> Column:
    """The label of a choice, headed by the field's name ("Statut", not "Statut (libellé)")."""
    field = model._meta.get_field(name)
    return Column(header or field.verbose_name, name, Kind.LABEL, choices=tuple(field.flatchoices))


def _count(queryset, to_parent: str) -> models.Expression:
    """How many rows of ``queryset`` point at the row: one correlated subquery, 0 if none."""
    counted = (
        queryset.filter(**{to_parent: OuterRef("pk")})
        .order_by()
        .values(to_parent)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# The columns of each page's file.


def follow_up_columns() -> list[Column]:
    """A follow-up as the dashboard shows it, with the group it is listed under."""
    return [
        # FollowUp.objects.with_deadline(): the dashboard's group, in its words.
        Column(
            _("Group"),
            "deadline",
            Kind.LABEL,
            choices=tuple((key, Deadline(key).label) for key in DEADLINE_GROUPS),
        ),
        _field(FollowUp, "title"),
        _field(FollowUp, "project__name", header=_verbose(FollowUp, "project")),
        _field(FollowUp, "organization__name", header=_verbose(FollowUp, "organization")),
        Column(_verbose(FollowUp, "person"), NullIf(full_name("person__"), Value(""))),
        user_name("assignee", _verbose(FollowUp, "assignee")),
        _field(FollowUp, "due_on", Kind.DATE),
        _label(FollowUp, "status"),
        _label(FollowUp, "priority"),
        _field(FollowUp, "interaction__title", header=_("Meeting")),
        _field(FollowUp, "description"),
        user_name("created_by", _verbose(FollowUp, "created_by")),
        _field(FollowUp, "created_at", Kind.MOMENT),
        # Listed with real work, as on the pages, and said to be an example.
        _field(FollowUp, "is_demo", Kind.BOOLEAN),
    ]


def dashboard_follow_ups(queryset, *, today):
    """The dashboard's follow-ups as one list: its groups in their order, then by due date.

    ``queryset`` is the dashboard's scope (mine, or the team's); every open
    follow-up is in exactly one group (``DEADLINE_GROUPS``), so the file holds
    the open follow-ups of the scope, each with its group: the groups' rows,
    every one of them, not the first 50 the page lists.
    """
    rank = Case(
        # The demonstration examples last, apart, as on the page.
        When(is_demo=True, then=Value(len(DEADLINE_GROUPS) + 1)),
        *(
            When(deadline_q(key, today=today), then=Value(n))
            for n, key in enumerate(DEADLINE_GROUPS)
        ),
        default=Value(len(DEADLINE_GROUPS)),
        output_field=IntegerField(),
    )
    return (
        queryset.filter(open_q())
        .with_deadline(today=today)
        .alias(group_rank=rank)
        .order_by("group_rank", "due_on", "id")
    )


def organization_columns() -> list[Column]:
    language = (translation.get_language() or "en").split("-")[0]
    return [
        _field(Organization, "name"),
        _field(Organization, "short_name"),
        _label(Organization, "kind"),
        # The country's name in the reader's language, not its ISO code.
        Column(
            _verbose(Organization, "country"),
            "country",
            Kind.LABEL,
            choices=tuple(country_choices(language)),
        ),
        _field(Organization, "city"),
        _field(Organization, "website"),
        joined_related(Partnership, "organization", "project__name", _("Projects")),
        _field(Organization, "is_identified", Kind.BOOLEAN),
        _field(Organization, "needs_verification", Kind.BOOLEAN),
        _field(Organization, "verification_note"),
        _field(Organization, "source__title", header=_verbose(Organization, "source")),
        _field(Organization, "updated_at", Kind.MOMENT),
    ]


def _current_roles() -> models.Expression:
    """A person's current roles, "title, organisation" joined by "; " (one subquery)."""
    roles = (
        Affiliation.objects.filter(person=OuterRef("pk"), end_on__isnull=True)
        .order_by()
        .values("person")
        .annotate(joined=_Joined(Concat("title", Value(", "), "organization__name")))
        .values("joined")
    )
    return Subquery(roles, output_field=models.TextField())


def person_columns() -> list[Column]:
    return [
        Column(_("Name"), full_name()),
        _field(Person, "email"),
        _field(Person, "phone"),
        _label(Person, "preferred_language"),
        Column(_("Current roles"), _current_roles()),
        _field(Person, "updated_at", Kind.MOMENT),
    ]


def project_columns(*, today) -> list[Column]:
    # Real work only; the demonstration follow-ups in a column of their own.
    open_follow_ups = FollowUp.objects.filter(open_q(), is_demo=False)
    return [
        _field(Project, "code"),
        _field(Project, "name"),
        _field(Project, "programme__name", header=_verbose(Project, "programme")),
        _label(Project, "sector"),
        _label(Project, "status"),
        user_name("lead", _verbose(Project, "lead")),
        Column(_("Partners"), _count(Partnership.objects.all(), "project"), Kind.INTEGER),
        Column(_("Open follow-ups"), _count(open_follow_ups, "project"), Kind.INTEGER),
        Column(
            _("Overdue"),
            _count(FollowUp.objects.overdue(today=today).filter(is_demo=False), "project"),
            Kind.INTEGER,
        ),
        Column(
            _("Open demonstration follow-ups"),
            _count(FollowUp.objects.filter(open_q(), is_demo=True), "project"),
            Kind.INTEGER,
        ),
    ]


# The response.


def export_response(
    request: HttpRequest, queryset, columns: list[Column], *, fmt: str, resource: str
) -> HttpResponse:
    """Answer with the file of ``queryset``, logged in the export log; 400 for a bad format.

    The file is named after the rows' kind in the reader's language
    ("suivis-2026-12-07.xlsx"), as is the sheet.
    """
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Export as “xlsx” or “csv”."))
    plural = str(queryset.model._meta.verbose_name_plural)
    basename = slugify(plural) or "export"
    filters = {
        name: values
        for name, values in filters_of(request.GET).items()
        if name not in ("page", PARAMETER)
    }
    total = jobs.long_export_total(queryset)
    if total is not None:
        # Too long for a request: a job writes it, and its page shows how far
        # along it is, then the link to the file (crm/views/jobs.py).
        job = jobs.start_export(
            request,
            queryset=queryset,
            columns=columns,
            total=total,
            kind=fmt,
            resource=resource,
            filters=filters,
            basename=basename,
            title=plural.capitalize(),
            style=export.csv_style_for(),
        )
        return redirect("export-job", job.pk)
    # Recorded before the file is written (a download cut short was still
    # asked for); its row count once the rows are written, as the API does.
    entry = record_export(request, user=request.user, kind=fmt, resource=resource, filters=filters)
    if fmt == "csv":
        response = export.csv_response(queryset, columns, basename, style=export.csv_style_for())
    else:
        response = export.xlsx_response(queryset, columns, basename, plural.capitalize())
    return count_rows_when_sent(response, entry)


# The open follow-ups of a record's page (project, organisation, person, partnership).

# Query parameter -> (model, key field, FollowUp field).
FOLLOW_UP_FILTERS = {
    "project": (Project, "code", "project"),
    "organization": (Organization, "slug", "organization"),
    "person": (Person, "slug", "person"),
}


def follow_up_export_urls(**keys: str) -> dict[str, str]:
    """Return the export URLs of the open follow-ups of a record (``project="…"``, …)."""
    base = reverse("follow-up-export")
    return {fmt: f"{base}?{urlencode({**keys, PARAMETER: fmt})}" for fmt in FORMATS}


@require_GET
@login_required
def follow_up_export(request: HttpRequest) -> HttpResponse:
    """Export the open follow-ups of a project, organisation and/or person (XLSX by default).

    A key that names nothing is refused (400), never ignored: a file of every
    follow-up would look like the record's.
    """
    require(request, "crm.view_followup")
    follow_ups = FollowUp.objects.all()
    for parameter, (model, key, field) in FOLLOW_UP_FILTERS.items():
        value = request.GET.get(parameter)
        if value is None:
            continue
        record = model.objects.filter(**{key: value}).first()
        if record is None:
            return HttpResponseBadRequest(_("No project, organisation or person has this key."))
        follow_ups = follow_ups.filter(**{field: record})
    rows = dashboard_follow_ups(follow_ups, today=clock.today())
    return export_response(
        request,
        rows,
        follow_up_columns(),
        fmt=requested_format(request) or "xlsx",
        resource="page: follow-ups",
    )
