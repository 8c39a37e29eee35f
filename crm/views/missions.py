"""The mission report: its meetings, and where each partner met stands since."""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import clock, scorecard
from crm.models import FollowUp, Mission, Organization, Partnership, Person
from crm.overview import day_start
from crm.views import sections
from crm.views.common import admin_follow_ups_url, require

# Follow-ups listed in a report; a mission that opened more is read in the admin.
REPORT_FOLLOW_UP_LIMIT = 300


@dataclass
class PartnerRow:
    """One organisation met: its partnerships' stages and its follow-ups since the mission."""

    organization: Organization | None
    partnerships: list[Partnership] = field(default_factory=list)
    open: list[FollowUp] = field(default_factory=list)
    closed: list[FollowUp] = field(default_factory=list)


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
    mission = _get_mission_for_user(request, slug)
    interactions = list(
        mission.interactions.prefetch_related(
            Prefetch("organizations", queryset=Organization.objects.order_by("name")),
            Prefetch("people", queryset=Person.objects.order_by("family_name")),
        ).order_by("occurred_on", "id")
    )
    shared_notes = _split_shared_notes(interactions)
    met = {o.pk: o for i in interactions for o in i.organizations.all()}
    rows = {pk: PartnerRow(organization) for pk, organization in met.items()}
    for partnership in Partnership.objects.filter(organization__in=met).select_related("project"):
        rows[partnership.organization_id].partnerships.append(partnership)
    # What came of the mission: the follow-ups of its meetings, and those on the
    # organisations met opened since it began. Both conditions on the follow-up's
    # own columns, so that PostgreSQL reads them through the interaction and
    # organisation indexes (a BitmapOr): a condition on the joined meeting made it
    # scan every follow-up (1 s at 1,000,000, docs/benchmarks.md).
    follow_ups = (
        FollowUp.objects.filter(
            Q(interaction__in=[interaction.pk for interaction in interactions])
            | Q(organization__in=list(met), created_at__gte=day_start(mission.start_on))
        )
        .select_related("organization", "project", "assignee")
        .order_by("organization__name", "due_on", "id")[:REPORT_FOLLOW_UP_LIMIT]
    )
    for follow_up in follow_ups:
        row = rows.setdefault(follow_up.organization_id, PartnerRow(follow_up.organization))
        (row.open if follow_up.is_open else row.closed).append(follow_up)
    # Follow-ups without an organisation are the unit's own work, listed last.
    ordered = sorted(
        rows.values(), key=lambda row: (row.organization is None, str(row.organization or ""))
    )
    context = {
        "mission": mission,
        "delegation": mission.delegation.select_related("person").order_by("person__family_name"),
        "interactions": interactions,
        "shared_notes": shared_notes,
        "partners": ordered,
        "follow_ups_cut": len(follow_ups) == REPORT_FOLLOW_UP_LIMIT,
    }
    context.update(sections.mission_context(mission))
    if request.user.has_perms(SCORECARD_PERMISSIONS):
        context["scorecard"] = _scorecard_rows(request, mission)
    return render(request, "crm/mission.html", context)


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
