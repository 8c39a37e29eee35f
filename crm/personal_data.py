"""Everything the CRM holds on one person: the package a person is given on request.

Togo's law n° 2019-014 gives people the right of access. The package holds the
person's record and every version of it the history kept, their roles, the
missions they were part of, the meetings they attended, the follow-ups that
name them, the agreements they signed, and the e-mails filed to them with
their attachments' names. ``access_package`` returns it as plain data (JSON
for machines); ``templates/crm/personal_data.html`` shows the same for the
person to read. Each list is complete: a person's share of the data is small,
and a package that stopped at a limit would not be an answer.
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.text import capfirst

from crm.models import (
    Affiliation,
    AgreementSignatory,
    FollowUp,
    InteractionPerson,
    MailMessage,
    MissionMember,
    Person,
)

PERSON_FIELDS = [
    "slug",
    "given_name",
    "family_name",
    "email",
    "phone",
    "preferred_language",
    "notes",
    "legal_basis",
    "data_origin",
    "reviewed_on",
    "objects_to_processing",
    "created_at",
    "updated_at",
]


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _row(record, names: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(record, name)) for name in names}


def access_package(person: Person) -> dict[str, Any]:
    """Return every record that names ``person``, as JSON-ready data."""
    history = person.history.order_by("history_date", "history_id")
    return {
        "person": {
            **_row(person, PERSON_FIELDS),
            "source": str(person.source) if person.source_id else None,
        },
        "history": [
            {
                "date": version.history_date.isoformat(),
                "change": version.get_history_type_display(),
                **_row(version, PERSON_FIELDS[:-2]),
            }
            for version in history
        ],
        "roles": [
            _row(role, ["organization", "title", "start_on", "end_on", "is_primary"])
            for role in Affiliation.objects.filter(person=person).select_related("organization")
        ],
        "missions": [
            {"mission": str(member.mission), "role": member.role}
            for member in MissionMember.objects.filter(person=person).select_related("mission")
        ],
        "meetings": [
            _row(link.interaction, ["title", "kind", "occurred_on", "summary"])
            for link in InteractionPerson.objects.filter(person=person)
            .select_related("interaction")
            .order_by("interaction__occurred_on", "interaction_id")
        ],
        "follow_ups": [
            _row(follow_up, ["title", "description", "due_on", "status", "completion_note"])
            for follow_up in FollowUp.objects.filter(person=person).order_by("due_on", "id")
        ],
        "agreements_signed": [
            {"agreement": str(signatory.party.agreement), "as": signatory.affiliation.title}
            for signatory in AgreementSignatory.objects.filter(
                affiliation__person=person
            ).select_related("party__agreement", "affiliation")
        ],
        "emails": [
            {
                **_row(message, ["subject", "from_name", "from_address", "sent_at", "body"]),
                "to": message.to_addresses,
                "cc": message.cc_addresses,
                "attachments": [document.title for document in message.documents.all()],
            }
            for message in MailMessage.objects.filter(person=person)
            .prefetch_related("documents")
            .order_by("sent_at", "id")
        ],
    }


def readable(package: dict[str, Any]) -> dict[str, Any]:
    """Return ``package`` with each field named as the pages name it, for the person to read."""

    def name(key: str) -> str:
        try:
            return str(capfirst(Person._meta.get_field(key).verbose_name))
        except FieldDoesNotExist:
            return capfirst(key.replace("_", " "))

    def rows(value):
        if isinstance(value, dict):
            return {name(key): item for key, item in value.items()}
        return [rows(item) for item in value]

    return {section: rows(value) for section, value in package.items()}
