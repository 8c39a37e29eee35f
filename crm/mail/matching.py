"""Matching a message's parties to the record: people, organisations, colleagues.

A handful of queries per message, whatever the number of recipients (they
are bounded by ``parsing.MAX_PARTIES`` per header).
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from crm.mail.domains import is_public_webmail
from crm.mail.parsing import Address, ParsedMail
from crm.models import Affiliation, Organization, Partnership, Person, Project

MAX_DOMAINS = 50


@dataclass
class Match:
    people: list[Person] = field(default_factory=list)
    colleagues: list = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    # The colleague who forwarded or sent it, when matched.
    filer: object | None = None
    # The party the meeting is with: the sender, or for mail a colleague sent,
    # the first recipient outside the unit.
    counterpart: Address | None = None
    counterpart_person: Person | None = None
    project: Project | None = None
    # Why the message waits to be filed; empty when it can be filed by itself.
    reason: str = ""

    @property
    def organization(self) -> Organization | None:
        return self.organizations[0] if len(self.organizations) == 1 else None


def _domains(address: str) -> list[str]:
    """Return the domain of ``address`` and its parents (emea.visa.com, visa.com)."""
    domain = address.rpartition("@")[2]
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _domain_q(domain: str) -> Q:
    return (
        Q(email_domains=domain)
        | Q(email_domains__startswith=f"{domain},")
        | Q(email_domains__endswith=f",{domain}")
        | Q(email_domains__contains=f",{domain},")
    )


def organizations_by_domain(addresses: list[str]) -> dict[str, Organization]:
    """Return, per address, the organisation whose e-mail domains include its domain."""
    wanted: dict[str, list[str]] = {}
    for address in addresses:
        candidates = [d for d in _domains(address) if not is_public_webmail(d)]
        if candidates:
            wanted[address] = candidates
    domains = sorted({d for candidates in wanted.values() for d in candidates})[:MAX_DOMAINS]
    if not domains:
        return {}
    organizations = list(
        Organization.objects.filter(reduce(or_, (_domain_q(d) for d in domains))).only(
            "pk", "slug", "name", "email_domains"
        )
    )
    by_domain: dict[str, Organization] = {}
    for organization in organizations:
        for domain in organization.email_domains.split(","):
            by_domain.setdefault(domain, organization)
    found = {}
    for address, candidates in wanted.items():
        # The most specific domain first: emea.visa.com before visa.com.
        for domain in candidates:
            if domain in by_domain:
                found[address] = by_domain[domain]
                break
    return found


def active_project(organization: Organization) -> Project | None:
    """Return the project of the organisation's only partnership not closed, if it has one only."""
    partnerships = list(
        Partnership.objects.filter(organization=organization)
        .exclude(stage=Partnership.Stage.CLOSED)
        .select_related("project")[:2]
    )
    return partnerships[0].project if len(partnerships) == 1 else None


def match(parsed: ParsedMail) -> Match:
    """Match ``parsed``'s parties to people, organisations and colleagues."""
    result = Match()
    parties = parsed.parties
    addresses = [party.address for party in parties]
    if parsed.forwarded_by:
        addresses.append(parsed.forwarded_by.address)
    users = {
        user.email_lower: user
        for user in get_user_model()
        .objects.filter(is_active=True)
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=addresses)
    }
    people = {
        person.email_lower: person
        for person in Person.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=addresses
        )
    }
    if parsed.forwarded_by:
        result.filer = users.get(parsed.forwarded_by.address)
    elif parsed.sender:
        result.filer = users.get(parsed.sender.address)
    result.colleagues = [users[a] for a in dict.fromkeys(addresses) if a in users]
    externals = [party for party in parties if party.address not in users]
    result.people = [people[p.address] for p in externals if p.address in people]
    result.counterpart = externals[0] if externals else None
    if result.counterpart is not None:
        result.counterpart_person = people.get(result.counterpart.address)

    by_domain = organizations_by_domain([party.address for party in externals])
    organizations: dict[int, Organization] = {o.pk: o for o in by_domain.values()}
    affiliated = (
        Affiliation.objects.filter(person__in=result.people, end_on__isnull=True)
        .select_related("organization")
        .order_by("-is_primary", "pk")
    )
    for affiliation in affiliated:
        organizations.setdefault(affiliation.organization_id, affiliation.organization)
    result.organizations = sorted(organizations.values(), key=lambda o: o.name)

    if not result.organizations:
        result.reason = _("No organisation on file matches the addresses of this message.")
    elif len(result.organizations) > 1:
        names = ", ".join(o.name for o in result.organizations[:5])
        result.reason = _("Several organisations match: %(names)s.") % {"names": names}
    elif result.counterpart is not None and result.counterpart_person is None:
        result.reason = _(
            "%(address)s is not on file as a person, though %(organization)s is known."
        ) % {"address": result.counterpart.address, "organization": result.organizations[0]}
    if result.organization is not None:
        result.project = active_project(result.organization)
    return result
