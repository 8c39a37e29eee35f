"""Planning a chunk of rows: what each row creates, updates or leaves as it is.

A chunk of rows is checked in Python against what a few queries read (the
records its keys name, the e-mails it uses, the organisations and roles it
refers to), then written in a few statements (crm/importing/applying.py).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from crm.importing.base import (
    AFFILIATION_COLUMNS,
    ORGANIZATION_COLUMNS,
    ORGANIZATIONS,
    PEOPLE,
    PERSON_COLUMNS,
    excerpt,
)
from crm.importing.checking import (
    apply_values,
    check_cells,
    check_fields,
    rule_message,
    to_boolean,
    to_date,
)
from crm.models import Affiliation, Organization, Person


@dataclass
class PlannedRow:
    number: int
    slug: str
    action: str  # created, updated or unchanged
    instance: object = None  # to create or update
    affiliation_action: str | None = None
    affiliation: Affiliation | None = None


@dataclass
class Lookups:
    """What the chunk's rows refer to, read in a few queries."""

    existing: dict
    owners: dict[str, str]  # lower-case e-mail -> slug of the person who has it
    organizations: dict
    held: dict[int, list[Affiliation]]

    @classmethod
    def read(cls, kind: str, chunk) -> "Lookups":
        model = Organization if kind == ORGANIZATIONS else Person
        slugs = [values.get("slug", "") for _number, values in chunk]
        existing = model.objects.in_bulk([slug for slug in slugs if slug], field_name="slug")
        owners: dict[str, str] = {}
        organizations: dict = {}
        held: dict[int, list[Affiliation]] = {}
        if kind == PEOPLE:
            emails = {values["email"].lower() for _n, values in chunk if values.get("email")}
            if emails:
                owners = dict(
                    Person.objects.annotate(lower_email=Lower("email"))
                    .filter(lower_email__in=emails)
                    .values_list("lower_email", "slug")
                )
            wanted = {values.get("organization") for _n, values in chunk} - {"", None}
            if wanted:
                organizations = Organization.objects.in_bulk(wanted, field_name="slug")
            if existing:
                people = [person.pk for person in existing.values()]
                for affiliation in Affiliation.objects.filter(person__in=people).order_by("pk"):
                    held.setdefault(affiliation.person_id, []).append(affiliation)
        return cls(existing, owners, organizations, held)


def _plan_affiliation(person, values, lookups: Lookups) -> tuple[str | None, Affiliation | None]:
    slug = values.get("organization", "")
    if not slug:
        if any(values.get(column) for column in AFFILIATION_COLUMNS):
            raise ValidationError({"organization": _("Give the organisation's slug.")})
        return None, None
    organization = lookups.organizations.get(slug)
    if organization is None:
        raise ValidationError(
            {
                "organization": _("No organisation has the slug “%(slug)s”.")
                % {"slug": excerpt(slug)}
            }
        )
    title = values.get("title", "")
    start_on = to_date("start_on", values.get("start_on", ""))
    end_on = to_date("end_on", values.get("end_on", ""))
    primary = to_boolean("is_primary", values["is_primary"]) if values.get("is_primary") else None
    held = lookups.held.get(person.pk, []) if person.pk else []
    same = [a for a in held if a.organization_id == organization.pk and a.title == title]
    # The natural key first; else the active role of that title (one at most).
    affiliation = next((a for a in same if a.start_on == start_on), None) or next(
        (a for a in same if a.end_on is None), None
    )
    action = "updated"
    if affiliation is None:
        affiliation = Affiliation(person=person, organization=organization, title=title)
        action = "created"
    changed = False
    for column, value in (("start_on", start_on), ("end_on", end_on)):
        if (values.get(column) or action == "created") and getattr(affiliation, column) != value:
            setattr(affiliation, column, value)
            changed = True
    if primary is not None and affiliation.is_primary != primary:
        affiliation.is_primary = primary
        changed = True
    if action == "updated" and not changed:
        return "unchanged", affiliation
    # The person may be created by this very row: it has no id yet.
    check_fields(affiliation, {}, exclude=("person", "organization"))
    if affiliation.start_on and affiliation.end_on and affiliation.end_on < affiliation.start_on:
        raise ValidationError(rule_message(Affiliation, "crm_affiliation_end_on_after_start_on"))
    if affiliation.end_on is None:
        for other in held:
            if other is affiliation or other.end_on is not None:
                continue
            if other.organization_id == organization.pk and other.title == title:
                rule = "crm_affiliation_one_active_per_role"
                raise ValidationError(rule_message(Affiliation, rule))
            if other.is_primary and affiliation.is_primary:
                rule = "crm_affiliation_one_primary_per_person"
                raise ValidationError(rule_message(Affiliation, rule))
    return action, affiliation


def _broken_rule(kind: str, instance, lookups: Lookups) -> str | None:
    """The name of a constraint the record would break, checked here to name it per row.

    The database checks them all again on write (crm_organization_*, crm_person_*).
    """
    if kind == ORGANIZATIONS:
        if instance.needs_verification and not instance.verification_note:
            return "crm_organization_verification_has_note"
        return None
    email = instance.email.lower()
    if email and lookups.owners.get(email, instance.slug) != instance.slug:
        return "crm_person_email_unique"
    return None


def plan_row(
    kind: str, number: int, values: dict[str, str], lookups: Lookups, first_rows: dict[str, int]
) -> PlannedRow:
    """Check one row against the chunk's lookups; raise ValidationError naming its fields.

    ``first_rows`` gives, for each slug of the chunk, the first row of the file
    that has it (``FileKeys.first_rows``).
    """
    model, columns = (
        (Organization, ORGANIZATION_COLUMNS) if kind == ORGANIZATIONS else (Person, PERSON_COLUMNS)
    )
    check_cells(values)
    slug = values.get("slug", "")
    if not slug:
        raise ValidationError({"slug": _("Give the record's key (slug).")})
    first = first_rows.get(slug, number)
    if first != number:
        raise ValidationError(
            {
                "slug": _("The key “%(slug)s” is already in row %(row)d of this file.")
                % {"slug": excerpt(slug), "row": first}
            }
        )
    instance = lookups.existing.get(slug)
    action = "updated"
    if instance is None:
        instance = model(slug=slug)
        action = "created"
    old_email = getattr(instance, "email", "")
    errors: dict = {}
    changed = apply_values(instance, values, columns, errors)
    row = PlannedRow(number, slug, action)
    if action == "created" or changed or errors:
        check_fields(instance, errors)
        broken = _broken_rule(kind, instance, lookups)
        if broken is not None:
            raise ValidationError(rule_message(model, broken))
        row.instance = instance
    else:
        row.action = "unchanged"
    if kind == PEOPLE:
        row.affiliation_action, row.affiliation = _plan_affiliation(instance, values, lookups)
        if row.affiliation_action == "updated" and row.action == "unchanged":
            row.action = "updated"
        # Later rows see this row's e-mail as taken.
        if old_email and lookups.owners.get(old_email.lower()) == slug:
            del lookups.owners[old_email.lower()]
        if instance.email:
            lookups.owners[instance.email.lower()] = slug
    return row
