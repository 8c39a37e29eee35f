"""The mission report: its meetings, and where each partner met stands since."""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Prefetch,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import clock, scorecard
from crm.models import (
    FollowUp,
    Interaction,
    InteractionOrganization,
    Mission,
    Organization,
    Partnership,
    Person,
)
from crm.overview import day_start
from crm.views import sections
from crm.views.common import admin_follow_ups_url, require

# A page of the report: meetings, organisations met; and each organisation's
# open and closed follow-ups listed (the others are counted).
MEETINGS_PER_PAGE = 50
PER_PAGE = 50
PER_PARTNER = 10


@dataclass
class PartnerRow:
    """One organisation met: its partnerships' stages and its follow-ups since the mission."""

    organization: Organization | None
    partnerships: list[Partnership] = field(default_factory=list)
    open: list[FollowUp] = field(default_factory=list)
    closed: list[FollowUp] = field(default_factory=list)
    # How many more than listed.
    open_more: int = 0
    closed_more: int = 0


def _get_mission_for_user(request: HttpRequest, slug: str) -> Mission:
    require(request, "crm.view_mission", "crm.view_interaction")
    return get_object_or_404(Mission.objects.select_related("organizer", "source"), slug=slug)


def _paragraphs(text: str) -> list[str]:
    return [paragraph.strip() for paragraph in text.split("\n\n") if paragraph.strip()]


def _split_shared_notes(interactions) -> list[str]:
    """Return the summary paragraphs that several meetings share, and keep the rest per meeting.

    A note on the source that every meeting repeats ("the source does not say
    which project was discussed with whom…") is printed once, above the meetings.
    """
    counts = Counter(p for i in interactions for p in set(_paragraphs(i.summary)))
    shared = [paragraph for paragraph, count in counts.items() if count > 1]
    for interaction in interactions:
        interaction.own_summary = [p for p in _paragraphs(interaction.summary) if p not in shared]
    return sorted(shared, key=lambda paragraph: -counts[paragraph])


@require_GET
@login_required
def mission(request: HttpRequest, slug: str) -> HttpResponse:
    """The report, a page of meetings and one of partners at a time, whatever the mission's size.

    A mission of thousands of meetings (years of a delegation's work) would
    otherwise be read and drawn whole: ``?page=`` pages the meetings,
    ``?partners=`` the organisations met, each with at most PER_PARTNER open and
    closed follow-ups and how many there are.
    """
    mission = _get_mission_for_user(request, slug)
    meetings = Paginator(mission.interactions.order_by("occurred_on", "id"), MEETINGS_PER_PAGE)
    meetings_page = meetings.get_page(request.GET.get("page"))
    interactions = list(
        meetings_page.object_list.prefetch_related(
            Prefetch("organizations", queryset=Organization.objects.order_by("name")),
            Prefetch("people", queryset=Person.objects.order_by("family_name")),
        )
    )
    shared_notes = _split_shared_notes(interactions)
    # The organisations met, and those its meetings' follow-ups are about.
    met = InteractionOrganization.objects.filter(interaction__mission=mission).values(
        "organization"
    )
    about = FollowUp.objects.filter(interaction__mission=mission).values("organization")
    partners = Paginator(
        Organization.objects.filter(Q(pk__in=met) | Q(pk__in=about)).order_by("name", "pk"),
        PER_PAGE,
    )
    partners_page = partners.get_page(request.GET.get("partners"))
    rows = {organization.pk: PartnerRow(organization) for organization in partners_page}
    for partnership in Partnership.objects.filter(organization__in=list(rows)).select_related(
        "project"
    ):
        rows[partnership.organization_id].partnerships.append(partnership)
    # What came of the mission: the follow-ups of its meetings, and those on the
    # organisations met opened since it began. Follow-ups without an
    # organisation are the unit's own work, listed last, on the last page.
    own_work = not partners_page.has_next()
    for follow_up in _follow_ups_since(mission, list(rows), own_work=own_work):
        row = rows.setdefault(follow_up.organization_id, PartnerRow(follow_up.organization))
        (row.open if follow_up.is_open else row.closed).append(follow_up)
        if follow_up.is_open:
            row.open_more = follow_up.group_total - PER_PARTNER
        else:
            row.closed_more = follow_up.group_total - PER_PARTNER
    ordered = sorted(
        rows.values(), key=lambda row: (row.organization is None, str(row.organization or ""))
    )
    context = {
        "mission": mission,
        "delegation": mission.delegation.select_related("person").order_by("person__family_name"),
        "interactions": interactions,
        "meetings_page": meetings_page,
        "shared_notes": shared_notes,
        "partners": ordered,
        "partners_page": partners_page,
    }
    context.update(sections.mission_context(mission))
    if request.user.has_perms(SCORECARD_PERMISSIONS):
        context["scorecard"] = _scorecard_rows(request, mission)
    return render(request, "crm/mission.html", context)


def _follow_ups_since(mission: Mission, organization_ids: list[int], *, own_work: bool):
    """Return, per organisation and open or closed, the first PER_PARTNER follow-ups (two queries).

    Each carries ``group_total``, how many its group holds: a window counts
    them and numbers them by due date over their keys alone, and only the first
    are then read whole, with their organisation, project and assignee. (The
    window over whole joined rows sorted 122,000 of them on disk for the largest
    mission at a million follow-ups: 1.3 s, against 0.3 s for the keys.)
    """
    # Conditions on the follow-up's own columns, which PostgreSQL reads through
    # their indexes: one on the joined meeting made it scan every follow-up.
    meetings = Interaction.objects.filter(mission=mission).values("pk")
    since = Q(organization__in=organization_ids) & (
        Q(interaction__in=meetings) | Q(created_at__gte=day_start(mission.start_on))
    )
    if own_work:
        since |= Q(interaction__in=meetings, organization__isnull=True)
    is_open = Case(
        When(status__in=FollowUp.OPEN_STATUSES, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    group = [F("organization_id"), is_open]
    totals = dict(
        FollowUp.objects.filter(since)
        .annotate(
            rank=Window(RowNumber(), partition_by=group, order_by=[F("due_on"), F("id")]),
            group_total=Window(Count("pk"), partition_by=group),
        )
        .filter(rank__lte=PER_PARTNER)
        .values_list("pk", "group_total")
    )
    follow_ups = (
        FollowUp.objects.filter(pk__in=list(totals))
        .select_related("organization", "project", "assignee")
        .order_by("organization__name", "due_on", "id")
    )
    for follow_up in follow_ups:
        follow_up.group_total = totals[follow_up.pk]
        yield follow_up


SCORECARD_PERMISSIONS = (
    "crm.view_partnership",
    "crm.view_followup",
    "crm.view_commitment",
    "crm.view_agreement",
)


def _scorecard_rows(request: HttpRequest, mission: Mission) -> dict:
    """Return the scorecard with a label and a link (where a list exists) per figure."""
    card = scorecard.build(mission, today=clock.today())
    still_open = ""
    if request.user.is_staff:
        still_open = admin_follow_ups_url(
            mission=mission.slug, status__in=",".join(FollowUp.OPEN_STATUSES), is_demo__exact=0
        )
    labels = {
        "with_follow_up": (_("Partnerships with a follow-up opened"), "#partners"),
        "beyond_contact": (_("Partnerships moved beyond first contact"), "#partners"),
        "commitments": (_("Commitments (still standing)"), "#commitments"),
        "agreements": (_("Agreements signed"), ""),
        "still_open": (_("Follow-ups promised during the mission still open"), still_open),
    }
    rows = []
    for key, values in card.rows:
        label, url = labels[key]
        cells = []
        for column in card.columns:
            # The list behind today's figure; the lists of past days are not kept.
            link = url if url.startswith("#") or column.key == "today" else ""
            cells.append((values[column.key], link))
        rows.append((key, label, cells))
    values = [
        (card.commitments_xof[column.key], card.unconverted[column.key]) for column in card.columns
    ]
    return {"card": card, "rows": rows, "values": values}
