"""The mission report."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from crm.models import FollowUp, Mission, Organization, Person
from crm.views.common import require


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
    }
    return render(request, "crm/mission.html", context)
