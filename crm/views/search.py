"""One search box over the whole CRM, grouped by kind of record, best match first."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import search as searching
from crm.models import (
    Affiliation,
    Agreement,
    Commitment,
    Document,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
    StageChange,
)
from crm.search import MAX_QUERY_LENGTH, Group, more_than_candidates, ranked

# Results shown per kind of record; the rest is for a more precise query.
SEARCH_LIMIT = 10


def _organizations(query: str, user):
    return ranked(
        Organization.objects.all(),
        query,
        name=("name", "short_name"),
        text=("city", "description", "verification_note"),
        limit=SEARCH_LIMIT,
    )


def _people(query: str, user):
    return ranked(
        Person.objects.prefetch_related(
            Prefetch(
                "affiliations",
                queryset=Affiliation.objects.filter(end_on__isnull=True)
                .select_related("organization")
                .order_by("-is_primary", "title"),
                to_attr="active_affiliations",
            )
        ),
        query,
        name=("given_name", "family_name"),
        text=("email",),
        limit=SEARCH_LIMIT,
    )


def _projects(query: str, user):
    return ranked(
        Project.objects.all(),
        query,
        name=("name",),
        text=("code", "description"),
        limit=SEARCH_LIMIT,
    )


def _follow_ups(query: str, user):
    return ranked(
        FollowUp.objects.select_related("project", "organization", "assignee"),
        query,
        name=("title",),
        text=("description", "completion_note"),
        limit=SEARCH_LIMIT,
    )


def _meetings(query: str, user):
    return ranked(
        Interaction.objects.all(),
        query,
        name=("title",),
        text=("city", "summary", "outcome"),
        limit=SEARCH_LIMIT,
    )


def _missions(query: str, user):
    return ranked(
        Mission.objects.all(),
        query,
        name=("title",),
        text=("cities", "objectives", "description"),
        limit=SEARCH_LIMIT,
    )


def _agreements(query: str, user):
    return ranked(
        Agreement.objects.all(), query, name=("title",), text=("summary",), limit=SEARCH_LIMIT
    )


def _commitments(query: str, user):
    return ranked(
        Commitment.objects.select_related("partnership__organization", "partnership__project"),
        query,
        name=("description",),
        text=(),
        limit=SEARCH_LIMIT,
    )


def _documents(query: str, user):
    # The latest version of each file, among those the reader may open.
    return ranked(
        Document.objects.visible_to(user).filter(next_version__isnull=True),
        query,
        name=("title",),
        text=("original_name", "notes"),
        limit=SEARCH_LIMIT,
    )


def _notes(query: str, user) -> tuple[list, int]:
    """Notes on partnerships and on their stage changes, best first (two queries)."""
    partnerships = ranked(
        Partnership.objects.exclude(notes="").select_related("organization", "project"),
        query,
        name=("notes",),
        text=(),
        limit=SEARCH_LIMIT,
    )
    changes = ranked(
        StageChange.objects.exclude(note="").select_related(
            "partnership__organization", "partnership__project"
        ),
        query,
        name=("note",),
        text=(),
        limit=SEARCH_LIMIT,
    )
    partnerships, changes = list(partnerships), list(changes)
    notes = [(p.search_rank, p.notes, p) for p in partnerships]
    notes += [(c.search_rank, c.note, c.partnership) for c in changes]
    notes.sort(key=lambda note: -note[0])
    results = [{"text": text, "partnership": partnership} for _rank, text, partnership in notes]
    return results[:SEARCH_LIMIT], _count(partnerships) + _count(changes)


def _count(rows: list) -> int:
    """Return how many rows matched, as ranked() counted them (its first row says)."""
    return rows[0].search_count if rows else 0


def _found(found) -> tuple[list, int]:
    """Return a kind's results and how many matched (a ranked queryset, or the notes' pair)."""
    if isinstance(found, tuple):
        return found
    rows = list(found)
    return rows, _count(rows)


# Each kind: its key, its heading, the permission to see it, its query.
KINDS = [
    ("organizations", _("Organisations"), "crm.view_organization", _organizations),
    ("people", _("People"), "crm.view_person", _people),
    ("projects", _("Projects"), "crm.view_project", _projects),
    ("follow_ups", _("Follow-ups"), "crm.view_followup", _follow_ups),
    ("meetings", _("Meetings"), "crm.view_interaction", _meetings),
    ("missions", _("Missions"), "crm.view_mission", _missions),
    ("notes", _("Notes"), "crm.view_partnership", _notes),
    ("agreements", _("Agreements"), "crm.view_agreement", _agreements),
    ("commitments", _("Commitments"), "crm.view_commitment", _commitments),
    ("documents", _("Documents"), "crm.view_document", _documents),
]


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    groups = []
    if query:
        for key, label, permission, find in KINDS:
            if request.user.has_perm(permission):
                # Each query is given the reader: what one may see can depend on it.
                results, count = _found(find(query, request.user))
                groups.append(Group(key, label, results, count, more_than_candidates(count)))
    context = {
        "query": query,
        "groups": [group for group in groups if group.results],
        "results": {group.key: group.results for group in groups},
        "candidates": searching.CANDIDATES,
    }
    return render(request, "crm/search.html", context)
