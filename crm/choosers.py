"""What a chooser offers: the records of a kind that match a few typed letters.

A form's chooser (``crm.forms.choosers``) renders only the records chosen, so
that its cost does not grow with the directory; the records to choose from are
found as one types, by ``/choose/<kind>/?q=…`` (``crm.views.choosers``), or,
without JavaScript, when the form is sent with a name typed in the chooser's
box. Both ask ``find()``: the staff search's folded, indexed ranking
(``crm.search.ranked``), which ranks a bounded set of candidates however
common the word, so that a chooser costs the same at 200 records as at 200,000.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.models import Affiliation, Organization, Partnership, Person
from crm.search import MAX_QUERY_LENGTH, fold, ranked

# The matches offered at most: more is for a more precise query.
LIMIT = 20

__all__ = ["KINDS", "LIMIT", "MAX_QUERY_LENGTH", "Kind", "Match", "find"]


@dataclass(frozen=True)
class Match:
    pk: int
    label: str
    # What tells two records of the same name apart (a city, a current employer).
    hint: str


@dataclass(frozen=True)
class Kind:
    model: type[Model]
    permission: str
    # The records matching a query, best first, at most ``limit`` (a few queries).
    search: Callable[[QuerySet, str, int], list[Model]]
    hint: Callable[[Model], str]
    placeholder: str


def _organizations(queryset: QuerySet, query: str, limit: int) -> list[Model]:
    return list(
        ranked(
            queryset,
            query,
            name=("name", "short_name"),
            text=("city", "description", "verification_note"),
            limit=limit,
        )
    )


def _organization_hint(organization: Organization) -> str:
    return ", ".join(part for part in (organization.city, organization.country) if part)


def _people(queryset: QuerySet, query: str, limit: int) -> list[Model]:
    current = Prefetch(
        "affiliations",
        queryset=Affiliation.objects.filter(end_on__isnull=True)
        .select_related("organization")
        .order_by("-is_primary", "title"),
        to_attr="active_affiliations",
    )
    return list(
        ranked(
            queryset.prefetch_related(current),
            query,
            name=("given_name", "family_name"),
            text=("email",),
            limit=limit,
        )
    )


def _person_hint(person: Person) -> str:
    roles = getattr(person, "active_affiliations", None) or []
    return ", ".join(str(role.organization) for role in roles[:2])


def _partnerships(queryset: QuerySet, query: str, limit: int) -> list[Model]:
    # A partnership is found by its organisation's name: the organisations'
    # search (indexed), then their partnerships, so that both reads stay bounded.
    organizations = _organizations(Organization.objects.all(), query, limit)
    order = {organization.pk: rank for rank, organization in enumerate(organizations)}
    partnerships = list(
        queryset.filter(organization__in=list(order))
        .select_related("organization", "project")
        .order_by("organization_id", "project__name")[: limit * 2]
    )
    partnerships.sort(key=lambda partnership: order[partnership.organization_id])
    return partnerships[:limit]


def _partnership_hint(partnership: Partnership) -> str:
    return partnership.get_stage_display()


KINDS: dict[str, Kind] = {
    "organizations": Kind(
        Organization,
        "crm.view_organization",
        _organizations,
        _organization_hint,
        _("Type a name to find an organisation…"),
    ),
    "people": Kind(
        Person,
        "crm.view_person",
        _people,
        _person_hint,
        _("Type a name to find a person…"),
    ),
    "partnerships": Kind(
        Partnership,
        "crm.view_partnership",
        _partnerships,
        _partnership_hint,
        _("Type an organisation’s name…"),
    ),
}


def find(
    kind: str, query: str, *, queryset: QuerySet | None = None, limit: int = LIMIT
) -> list[Model]:
    """Return the records of ``kind`` (among ``queryset``) matching ``query``, best first."""
    chooser = KINDS[kind]
    query = query.strip()[:MAX_QUERY_LENGTH]
    # PostgreSQL refuses NUL in text; no name holds one.
    if not query or "\x00" in query:
        return []
    if queryset is None:
        queryset = chooser.model._default_manager.all()
    return chooser.search(queryset, query, limit)


def matches(kind: str, records: list[Model]) -> list[Match]:
    hint = KINDS[kind].hint
    return [Match(record.pk, str(record), hint(record)) for record in records]


def the_one_meant(records: list[Model], query: str) -> Model | None:
    """Return the record a typed name means: the only match, or the only exact one."""
    if len(records) == 1:
        return records[0]
    wanted = fold(query.strip())
    exact = [record for record in records if fold(str(record)) == wanted]
    return exact[0] if len(exact) == 1 else None
