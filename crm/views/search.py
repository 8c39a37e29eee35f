"""Search across organisations, people and projects."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm.models import Affiliation, Organization, Person, Project

SEARCH_LIMIT = 25


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
