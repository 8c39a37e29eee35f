"""The directory: organisations, people, projects and missions, each a list that links to its page.

Every list is cut into pages of ``PAGE_SIZE`` rows and costs the same few
queries whatever the number of rows: the count, the page, and one prefetch for
what each row shows besides its own columns.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import clock, tallies
from crm.countries import country_choices, country_code
from crm.models import (
    Affiliation,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
)
from crm.search import holding_every_word
from crm.views import exports
from crm.views.common import require

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset):
    """Return the requested page; a page number out of range or not a number gives the nearest."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    """Return the list's filters as a query string, to carry across its pages."""
    return urlencode([(k, v) for k, v in request.GET.items() if k not in ("page", "export")])


class OrganizationFilterForm(forms.Form):
    """The filters of the organisation list; a value it cannot use is refused, saying why."""

    SORTS = {
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
        "country": ("country", "city", "name", "id"),
        "recent": ("-updated_at", "-id"),
    }

    q = forms.CharField(label=_("Name"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *Organization.Kind.choices],
    )
    # A code or a country's name in either language ("US", "États-Unis").
    country = forms.CharField(label=_("Country"), required=False, max_length=100)
    project = forms.ModelChoiceField(
        label=_("Project"),
        required=False,
        queryset=Project.objects.order_by("name"),
        to_field_name="code",
        empty_label=_("All projects"),
    )
    stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("All stages")), *Partnership.Stage.choices],
    )
    to_verify = forms.BooleanField(label=_("To verify"), required=False)
    not_identified = forms.BooleanField(label=_("Not identified"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("name", _("Name, A to Z")),
            ("-name", _("Name, Z to A")),
            ("country", _("Country and city")),
            ("recent", _("Recently changed")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        language = translation.get_language() or "en"
        choices = [("", _("All countries")), *country_choices(language.split("-")[0])]
        self.fields["country"].widget = forms.Select(choices=choices)

    def clean_country(self) -> str:
        text = self.cleaned_data["country"]
        if not text:
            return ""
        code = country_code(text)
        if code is None:
            raise forms.ValidationError(
                _("No country is called “%(value)s”: choose one from the list.")
                % {"value": text[:40]}
            )
        return code

    def filter(self, queryset):
        """Return ``queryset`` filtered; the form must be valid (or unbound: no filter)."""
        cleaned = self.cleaned_data if self.is_bound else {}
        data = {name: cleaned.get(name) for name in self.fields}
        if data["q"]:
            queryset = holding_every_word(queryset, data["q"], "name", "short_name")
        if data["kind"]:
            queryset = queryset.filter(kind=data["kind"])
        if data["country"]:
            queryset = queryset.filter(country__iexact=data["country"])
        partnerships = {}
        if data["project"]:
            partnerships["project"] = data["project"]
        if data["stage"]:
            partnerships["stage"] = data["stage"]
        if partnerships:
            # One partnership must match both: Visa at "contacted" for this
            # project, not "contacted" for another one.
            queryset = queryset.filter(
                pk__in=Partnership.objects.filter(**partnerships).values("organization_id")
            )
        if data["to_verify"]:
            queryset = queryset.filter(needs_verification=True)
        if data["not_identified"]:
            queryset = queryset.filter(is_identified=False)
        return queryset.order_by(*self.SORTS[data["sort"] or "name"])


@require_GET
@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_organization")
    form = OrganizationFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Refused, never ignored: a list that silently drops a filter looks filtered.
        context = {"form": form, "filtered": True, "refused": True}
        return render(request, "crm/organization_list.html", context, status=400)
    fmt = exports.requested_format(request)
    if fmt:
        rows = form.filter(Organization.objects.all())
        return exports.export_response(
            request, rows, exports.organization_columns(), fmt=fmt, resource="page: organizations"
        )
    organizations = form.filter(Organization.objects.all()).prefetch_related(
        Prefetch(
            "partnerships",
            queryset=Partnership.objects.select_related("project").order_by("project__name"),
        )
    )
    context = {
        "form": form,
        "page": _page(request, organizations),
        "query": _query_without_page(request),
        "filtered": bool(request.GET.keys() - {"page", "sort"}),
        "export_urls": exports.export_urls(request),
    }
    return render(request, "crm/organization_list.html", context)


class PersonFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or e-mail"), required=False, max_length=100)


def current_roles() -> Prefetch:
    """Prefetch each person's current roles with their organisations, primary first."""
    return Prefetch(
        "affiliations",
        queryset=Affiliation.objects.filter(end_on__isnull=True)
        .select_related("organization")
        .order_by("-is_primary", "title"),
        to_attr="current_roles",
    )


@require_GET
@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_person")
    form = PersonFilterForm(request.GET or None)
    people = Person.objects.all()
    if form.is_valid() and form.cleaned_data["q"]:
        people = holding_every_word(
            people, form.cleaned_data["q"], "given_name", "family_name", "email"
        )
    people = people.order_by("family_name", "given_name", "id")
    fmt = exports.requested_format(request)
    if fmt:
        return exports.export_response(
            request, people, exports.person_columns(), fmt=fmt, resource="page: people"
        )
    context = {
        "form": form,
        "page": _page(request, people.prefetch_related(current_roles())),
        "query": _query_without_page(request),
        "export_urls": exports.export_urls(request),
    }
    return render(request, "crm/person_list.html", context)


@require_GET
@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_project", "crm.view_partnership")
    fmt = exports.requested_format(request)
    if fmt:
        rows = Project.objects.order_by("name", "id")
        columns = exports.project_columns(today=clock.today())
        return exports.export_response(request, rows, columns, fmt=fmt, resource="page: projects")
    projects = Project.objects.select_related("lead").order_by("name", "id")
    page = _page(request, projects)
    tallies.count_projects(page, today=clock.today())
    # Partners per stage of the projects on this page: one grouped query.
    per_stage: dict[int, dict[str, int]] = {}
    rows = (
        Partnership.objects.filter(project__in=[project.pk for project in page])
        .values("project_id", "stage")
        .annotate(count=Count("id"))
    )
    for row in rows:
        per_stage.setdefault(row["project_id"], {})[row["stage"]] = row["count"]
    for project in page:
        counts = per_stage.get(project.pk, {})
        project.stage_counts = [
            (stage, label, counts[stage])
            for stage, label in Partnership.Stage.choices
            if counts.get(stage)
        ]
        project.partner_count = sum(counts.values())
    context = {"page": page, "query": "", "export_urls": exports.export_urls(request)}
    return render(request, "crm/project_list.html", context)


@require_GET
@login_required
def mission_list(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_mission")
    missions = (
        Mission.objects.select_related("organizer")
        .annotate(meeting_count=Count("interactions"))
        .order_by(F("start_on").desc(), "-id")
    )
    return render(
        request, "crm/mission_list.html", {"page": _page(request, missions), "query": ""}
    )
