"""The world of the mail tests: colleagues, partners on file, the corpus of tests/mail/."""

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import Group

from crm import roles
from crm.models import Organization, Person
from tests.factories import AffiliationFactory, OrganizationFactory, PersonFactory, UserFactory

CORPUS = Path(__file__).parent / "mail"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@dataclass
class MailWorld:
    ama: object
    kofi: object
    mastercard: Organization
    visa: Organization
    stanford: Organization
    jean: Person
    mary: Person
    paul: Person


def mail_world() -> MailWorld:
    staff = Group.objects.get(name=roles.STAFF)
    ama = UserFactory(username="ama", email="Ama.Mensah@mcc-togo.example", first_name="Ama")
    kofi = UserFactory(username="kofi", email="kofi.test@mcc-togo.example", first_name="Kofi")
    for user in (ama, kofi):
        user.groups.add(staff)
    mastercard = OrganizationFactory(
        slug="mastercard", name="Mastercard", email_domains="mastercard.com"
    )
    visa = OrganizationFactory(slug="visa", name="Visa", email_domains="visa.com")
    stanford = OrganizationFactory(
        slug="stanford", name="Stanford University", email_domains="stanford.edu"
    )
    jean = PersonFactory(given_name="Jean", family_name="Test", email="jean.test@mastercard.com")
    mary = PersonFactory(given_name="Mary", family_name="Test", email="Mary.Test@visa.com")
    paul = PersonFactory(given_name="Paul", family_name="Test", email="paul.test@stanford.edu")
    for person, organization in ((jean, mastercard), (mary, visa), (paul, stanford)):
        AffiliationFactory(person=person, organization=organization, is_primary=True)
    return MailWorld(ama, kofi, mastercard, visa, stanford, jean, mary, paul)


def newcomer_reply() -> bytes:
    """A reply from a colleague of Mary's at Visa, not on file: it waits to be filed."""
    return (
        corpus("apple_reply.eml")
        .replace(b"Mary Test <mary.test@visa.com>", b"Nadia Test <nadia.test@visa.com>")
        .replace(b"APPLE-REPLY", b"NEWCOMER")
        .replace(b"Pilot timeline", b"Merchant list")
    )
