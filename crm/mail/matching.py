"""Matching a message's parties to the record: people, organisations, colleagues.

A handful of queries for a whole batch of messages, whatever the number of
recipients (they are bounded by ``parsing.MAX_PARTIES`` per header).
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_noop

from crm.mail.domains import is_public_webmail
from crm.mail.parsing import Address, ParsedMail
from crm.mail.reasons import Reason
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
    # A party who objects to the processing of their data: nothing is filed.
    objecting: Person | None = None
    # The parties outside the unit (not colleagues).
    externals: list[Address] = field(default_factory=list)
    project: Project | None = None
    # Why the message waits to be filed; None when it can be filed by itself.
    reason: Reason | None = None

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


def organizations_by_domain(messages: list[list[str]]) -> dict[str, Organization]:
    """Return, per address, the organisation whose e-mail domains include its domain.

    ``messages`` holds each message's addresses; each message is read for at
    most MAX_DOMAINS domains, and a query asks for at most that many.
    """
    wanted: dict[str, list[str]] = {}
    domains: set[str] = set()
    for addresses in messages:
        own = set()
        for address in addresses:
            candidates = [d for d in _domains(address) if not is_public_webmail(d)]
            if candidates:
                wanted[address] = candidates
                own.update(candidates)
        domains.update(sorted(own)[:MAX_DOMAINS])
    by_domain: dict[str, Organization] = {}
    ordered = sorted(domains)
    for start in range(0, len(ordered), MAX_DOMAINS):
        chunk = ordered[start : start + MAX_DOMAINS]
        organizations = Organization.objects.filter(
            reduce(or_, (_domain_q(d) for d in chunk))
        ).only("pk", "slug", "name", "email_domains")
        for organization in organizations.order_by("pk"):
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


def active_projects(organizations: list[Organization]) -> dict[int, Project | None]:
    """Return, per organisation, the project of its only partnership not closed (or None).

    One query for any number of organisations.
    """
    projects: dict[int, list[Project]] = {organization.pk: [] for organization in organizations}
    if projects:
        partnerships = (
            Partnership.objects.filter(organization__in=list(projects))
            .exclude(stage=Partnership.Stage.CLOSED)
            .select_related("project")
            .order_by("organization_id", "pk")
        )
        for partnership in partnerships:
            projects[partnership.organization_id].append(partnership.project)
    return {pk: found[0] if len(found) == 1 else None for pk, found in projects.items()}


def active_project(organization: Organization) -> Project | None:
    """Return the project of the organisation's only partnership not closed, if it has one only."""
    return active_projects([organization])[organization.pk]


def _addresses(parsed: ParsedMail) -> list[str]:
    addresses = [party.address for party in parsed.parties]
    if parsed.forwarded_by:
        addresses.append(parsed.forwarded_by.address)
    return addresses


def match(parsed: ParsedMail) -> Match:
    """Match ``parsed``'s parties to people, organisations and colleagues."""
    return match_many([parsed])[0]


def match_many(messages: list[ParsedMail]) -> list[Match]:
    """Match each message's parties, with the same handful of queries for any number of them."""
    wanted = sorted({address for parsed in messages for address in _addresses(parsed)})
    users, people = {}, {}
    if wanted:
        users = {
            user.email_lower: user
            for user in get_user_model()
            .objects.filter(is_active=True)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=wanted)
        }
        people = {
            person.email_lower: person
            for person in Person.objects.annotate(email_lower=Lower("email")).filter(
                email_lower__in=wanted
            )
        }
    results = [_parties(parsed, users, people) for parsed in messages]

    by_domain = organizations_by_domain(
        [[party.address for party in result.externals] for result in results]
    )
    affiliated: dict[int, list[Organization]] = {}
    for affiliation in (
        Affiliation.objects.filter(
            person__in={person.pk for result in results for person in result.people},
            end_on__isnull=True,
        )
        .select_related("organization")
        .order_by("-is_primary", "pk")
    ):
        affiliated.setdefault(affiliation.person_id, []).append(affiliation.organization)
    for result in results:
        organizations: dict[int, Organization] = {}
        for party in result.externals:
            if party.address in by_domain:
                organization = by_domain[party.address]
                organizations.setdefault(organization.pk, organization)
        for person in result.people:
            for organization in affiliated.get(person.pk, []):
                organizations.setdefault(organization.pk, organization)
        result.organizations = sorted(organizations.values(), key=lambda o: o.name)
        result.reason = _reason(result)

    projects = active_projects([r.organization for r in results if r.organization is not None])
    for result in results:
        if result.organization is not None:
            result.project = projects[result.organization.pk]
    return results


def _parties(parsed: ParsedMail, users: dict, people: dict) -> Match:
    """Return the message's colleagues, people and counterpart, from the users and people found."""
    result = Match()
    addresses = _addresses(parsed)
    if parsed.forwarded_by:
        result.filer = users.get(parsed.forwarded_by.address)
    elif parsed.sender:
        result.filer = users.get(parsed.sender.address)
    result.colleagues = [users[a] for a in dict.fromkeys(addresses) if a in users]
    result.externals = [party for party in parsed.parties if party.address not in users]
    found = [people[p.address] for p in result.externals if p.address in people]
    result.objecting = next((person for person in found if person.objects_to_processing), None)
    result.people = [person for person in found if not person.objects_to_processing]
    result.counterpart = result.externals[0] if result.externals else None
    if result.counterpart is not None:
        counterpart = people.get(result.counterpart.address)
        if counterpart is not None and not counterpart.objects_to_processing:
            result.counterpart_person = counterpart
    return result


def _reason(result: Match) -> Reason | None:
    """Say why the message cannot be filed by itself; None when it can."""
    if result.objecting is not None:
        # Law n° 2019-014: no e-mail is filed to a person who objected.
        return Reason(
            gettext_noop("%(address)s objects to the processing of their data: not filed."),
            {"address": result.objecting.email},
        )
    if not result.organizations:
        return Reason(
            gettext_noop("No organisation on file matches the addresses of this message.")
        )
    if len(result.organizations) > 1:
        names = ", ".join(o.name for o in result.organizations[:5])
        return Reason(gettext_noop("Several organisations match: %(names)s."), {"names": names})
    if result.counterpart is not None and result.counterpart_person is None:
        return Reason(
            gettext_noop(
                "%(address)s is not on file as a person, though %(organization)s is known."
            ),
            {
                "address": result.counterpart.address,
                "organization": result.organizations[0].name,
            },
        )
    return None
