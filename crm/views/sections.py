"""The sections on commitments, agreements and documents that other pages show.

The context builders (``project_context``, ``organization_context``,
``mission_context``, ``dashboard_context``, ``timeline_rows``) are called by
those pages' views with one line each; the pages of commitments, agreements and
documents themselves are in ``crm.views.commitments``, ``crm.views.agreements``
and ``crm.views.documents``. Every list is cut at LIST_LIMIT rows and loaded in
a fixed number of queries.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from crm.models import (
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    Interaction,
    Organization,
    Project,
)
from crm.models.agreements import ENDING_SOON_DAYS
from crm.money import Totals, commitment_totals

# Rows per list on a page; the rest is in the admin and the API.
LIST_LIMIT = 50


@dataclass
class Bounded:
    """At most LIST_LIMIT rows, and how many there are in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _bounded(queryset) -> Bounded:
    rows = list(queryset[:LIST_LIMIT])
    total = len(rows) if len(rows) < LIST_LIMIT else queryset.count()
    return Bounded(rows, total)


# The chart: commitments by status, in XOF, with USD beside.


def status_chart(totals: Totals) -> dict[str, Any]:
    """Return the bars of the commitments-by-status chart (no query)."""
    # Narrow enough to stay legible when a phone scales it to 390 px.
    bar_height, gap, label_width, bar_space = 22, 10, 90, 130
    largest = totals.largest_xof or 1
    bars = []
    for index, row in enumerate(totals.rows):
        y = index * (bar_height + gap)
        bars.append(
            {
                "row": row,
                "y": y,
                "text_y": y + bar_height - 6,
                "width": round(bar_space * float((row.xof or 0) / largest)),
            }
        )
    return {
        "bars": bars,
        "bar_height": bar_height,
        "label_width": label_width,
        "amount_x": label_width + bar_space + 8,
        "width": label_width + bar_space + 190,
        "height": max(len(bars) * (bar_height + gap), bar_height),
    }


# What the other pages show.


def _commitments():
    return Commitment.objects.select_related("partnership__organization", "partnership__project")


def _agreements():
    return Agreement.objects.prefetch_related(
        Prefetch(
            "parties",
            queryset=AgreementParty.objects.select_related("organization").order_by(
                "organization__name"
            ),
        )
    )


def _documents():
    # The latest version of each file; older ones are listed on the record's page.
    return Document.objects.filter(next_version__isnull=True).select_related(
        "organization", "agreement", "commitment", "interaction"
    )


def project_context(project: Project, *, on: date) -> dict[str, Any]:
    """Return the commitments, totals, chart, agreements and documents of a project."""
    commitments = _commitments().filter(partnership__project=project)
    totals = commitment_totals(commitments, on=on)
    agreements = _agreements().filter(projects=project)
    return {
        "money": totals,
        "money_chart": status_chart(totals),
        "commitments": _bounded(commitments.order_by("-created_at", "-id")),
        "agreements": _bounded(agreements.order_by("-created_at", "-id")),
        "documents": _bounded(
            _documents()
            .filter(Q(agreement__projects=project) | Q(commitment__partnership__project=project))
            .distinct()
            .order_by("-uploaded_at", "-id")
        ),
        "commitments_for": {"project": project.code},
    }


def organization_context(organization: Organization, *, on: date) -> dict[str, Any]:
    """Return the commitments, totals, agreements and documents of an organisation."""
    commitments = _commitments().filter(partnership__organization=organization)
    totals = commitment_totals(commitments, on=on)
    agreements = _agreements().filter(parties__organization=organization)
    return {
        "money": totals,
        "commitments": _bounded(commitments.order_by("-created_at", "-id")),
        "agreements": _bounded(agreements.order_by("-created_at", "-id")),
        "documents": _bounded(_documents().filter(organization=organization)),
        "commitments_for": {"organization": organization.slug},
    }


def timeline_rows(organization: Organization, *, limit: int) -> list[tuple]:
    """Return (kind, day, moment, item) rows of commitment and agreement moves, and uploads."""
    local = timezone.localdate
    commitment_moves = (
        CommitmentStatusChange.objects.filter(commitment__partnership__organization=organization)
        .select_related("commitment__partnership__project", "changed_by")
        .order_by("-changed_at")[:limit]
    )
    agreement_moves = (
        AgreementStatusChange.objects.filter(agreement__parties__organization=organization)
        .select_related("agreement", "changed_by")
        .order_by("-changed_at")[:limit]
    )
    uploads = (
        Document.objects.filter(organization=organization)
        .select_related("uploaded_by")
        .order_by("-uploaded_at")[:limit]
    )
    rows = [("commitment_change", local(c.changed_at), c.changed_at, c) for c in commitment_moves]
    rows += [("agreement_change", local(c.changed_at), c.changed_at, c) for c in agreement_moves]
    rows += [("document", local(d.uploaded_at), d.uploaded_at, d) for d in uploads]
    return rows


def mission_context(mission) -> dict[str, Any]:
    """Return, per organisation met on the mission, what it committed since the mission began."""
    met = Interaction.objects.filter(mission=mission).values("organizations")
    since = mission.start_on
    commitments = (
        _commitments()
        .filter(partnership__organization__in=met)
        .order_by("partnership__organization__name", "created_at", "id")
    )
    if since:
        commitments = commitments.filter(created_at__date__gte=since)
    # Demonstration commitments are listed apart, under their own heading.
    real: dict[Organization, list[Commitment]] = {}
    demo: dict[Organization, list[Commitment]] = {}
    listed = _bounded(commitments)
    for commitment in listed.rows:
        rows = demo if commitment.is_demo else real
        rows.setdefault(commitment.partnership.organization, []).append(commitment)
    return {
        "commitments_since": real.items(),
        "demo_commitments_since": demo.items(),
        "commitments_since_more": listed.more,
    }


def dashboard_context(user, *, on: date, team: bool) -> dict[str, Any]:
    """Return the agreements ending within 60 days (the user's own unless ``team``)."""
    near, far = ENDING_SOON_DAYS
    ending = (
        Agreement.objects.ending_within(far, today=on)
        .select_related("owner")
        .order_by("expires_on", "id")
    )
    if not team:
        ending = ending.filter(owner=user)
    listed = _bounded(ending)
    for agreement in listed.rows:
        agreement.days_left = (agreement.expires_on - on).days
        agreement.within_near = agreement.days_left <= near
    return {"agreements_ending": listed, "ending_days": ENDING_SOON_DAYS}
