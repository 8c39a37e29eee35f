"""Records that may already be the one being added: "VISA" or "Visa Inc." when "Visa" exists.

Asked before an organisation or a person is created on the staff pages, so that
a duplicate is caught at the door rather than merged later (Coordination's
duplicates page finds those that got through). Names are compared folded
(crm.search.fold: no accents, no case) and without legal suffixes; people also
by e-mail. Each question reads at most ``CANDIDATES`` rows.
"""

import re

from django.db.models import Q, Value

from crm.models import Organization, Person
from crm.search import Fold, fold, similarity

# Words that say what form a company takes, not which company it is.
LEGAL_SUFFIXES = {
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "plc",
    "gmbh",
    "sa",
    "sas",
    "sarl",
    "spa",
    "ag",
    "bv",
    "nv",
}
# Names at least this alike (trigram similarity of the core names) are shown.
ALIKE = 0.5
CANDIDATES = 50
SHOWN = 5


def core_name(name: str) -> str:
    """``name`` folded, its punctuation dropped, without legal suffixes: "Visa Inc." → "visa"."""
    words = re.findall(r"\w+", fold(name or ""))
    kept = [word for word in words if word not in LEGAL_SUFFIXES]
    return " ".join(kept or words)


def _alike(core: str, name: str) -> bool:
    other = core_name(name)
    return other == core or similarity(other, core) >= ALIKE


def organizations_like(name: str, short_name: str = "") -> list[Organization]:
    """The organisations whose name (or short name) looks like ``name`` or ``short_name``."""
    cores = [core for core in (core_name(name), core_name(short_name)) if core]
    if not cores:
        return []
    # Candidates: a name holding the longest word of either core name.
    looked_for = Q()
    for core in cores:
        word = max(core.split(), key=len)
        looked_for |= Q(folded_name__contains=Fold(Value(word)))
        looked_for |= Q(folded_short_name__contains=Fold(Value(word)))
    candidates = (
        Organization.objects.alias(folded_name=Fold("name"), folded_short_name=Fold("short_name"))
        .filter(looked_for)
        .order_by("name", "id")[:CANDIDATES]
    )
    found = [
        organization
        for organization in candidates
        if any(
            _alike(core, organization.name)
            or (organization.short_name and _alike(core, organization.short_name))
            for core in cores
        )
    ]
    return found[:SHOWN]


def people_like(given_name: str, family_name: str, email: str = "") -> list[Person]:
    """The people with the same e-mail, or a name that looks like this one."""
    core = core_name(f"{given_name} {family_name}")
    looked_for = Q()
    if email:
        looked_for |= Q(email__iexact=email)
    if family_name:
        looked_for |= Q(folded_family_name=Fold(Value(family_name)))
    if not looked_for:
        return []
    candidates = (
        Person.objects.alias(folded_family_name=Fold("family_name"))
        .filter(looked_for)
        .order_by("family_name", "given_name", "id")[:CANDIDATES]
    )
    found = [
        person
        for person in candidates
        if (email and (person.email or "").lower() == email.lower())
        or _alike(core, f"{person.given_name} {person.family_name}")
    ]
    return found[:SHOWN]
