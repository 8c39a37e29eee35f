"""The mission report."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from crm.managers import open_q
from crm.models import FollowUp, Mission, Organization, Person
from crm.views.common import require

# The report lists at most this many follow-ups; every organisation's counts are complete.
MISSION_FOLLOW_UP_LIMIT = 200


def _get_mission_for_user(request: HttpRequest, slug: str) -> Mission:
    require(request, "crm.view_mission", "crm.view_interaction")
    return get_object_or_404(Mission.objects.select_related("organizer", "source"), slug=slug)


@require_GET
@login_required
def mission(request: HttpRequest, slug: str) -> HttpResponse:
    mission = _get_mission_for_user(request, slug)
    interactions = mission.interactions.prefetch_related(
        Prefetch("organizations", queryset=Organization.objects.order_by("name")),
        Prefetch("people", queryset=Person.objects.order_by("family_name")),
    ).order_by("occurred_on", "id")
    of_mission = FollowUp.objects.filter(interaction__mission=mission)
    # How many each organisation has, open and closed (one query, one row per
    # organisation), then at most MISSION_FOLLOW_UP_LIMIT of them by name.
    totals = {
        row["organization"]: row
        for row in of_mission.order_by()
        .values("organization")
        .annotate(open=Count("pk", filter=open_q()), closed=Count("pk", filter=~open_q()))
    }
    follow_ups = of_mission.select_related("organization", "project", "assignee").order_by(
        F("organization__name").asc(nulls_last=True), "due_on", "id"
    )[:MISSION_FOLLOW_UP_LIMIT]
    # Follow-ups without an organisation are the unit's own work, listed last.
    per_organization: dict[Organization | None, dict[str, Any]] = {}
    for follow_up in follow_ups:
        row = per_organization.setdefault(
            follow_up.organization, {"open": [], "closed": [], "open_more": 0, "closed_more": 0}
        )
        row["open" if follow_up.is_open else "closed"].append(follow_up)
    for organization, row in per_organization.items():
        counted = totals[organization.pk if organization else None]
        row["open_more"] = counted["open"] - len(row["open"])
        row["closed_more"] = counted["closed"] - len(row["closed"])
    if None in per_organization:
        per_organization[None] = per_organization.pop(None)
    # Organisations cut off entirely: their follow-ups, counted.
    listed = {organization.pk if organization else None for organization in per_organization}
    not_listed = sum(
        row["open"] + row["closed"] for key, row in totals.items() if key not in listed
    )
    context = {
        "mission": mission,
        "delegation": mission.delegation.select_related("person").order_by("person__family_name"),
        "interactions": interactions,
        "follow_ups_per_organization": per_organization.items(),
        "follow_ups_not_listed": not_listed,
    }
    return render(request, "crm/mission.html", context)
