"""People of the directory, added from the staff pages with the role they hold."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from crm.models import Affiliation, Organization, Person
from crm.services.base import record_create
from crm.slugs import unique_slug


@transaction.atomic
def person_create(
    *,
    by: AbstractBaseUser | None,
    given_name: str,
    family_name: str,
    organization: Organization | None = None,
    title: str = "",
    **fields: Any,
) -> Person:
    """Record a person and, when ``organization`` is given, the role they hold there.

    The first current role of a person is their primary one.
    """
    person = Person(given_name=given_name.strip(), family_name=family_name.strip(), **fields)
    person.slug = unique_slug(Person, f"{person.given_name} {person.family_name}")
    record_create(instance=person, by=by)
    if organization is not None:
        record_create(
            instance=Affiliation(
                person=person, organization=organization, title=title.strip(), is_primary=True
            ),
            by=by,
        )
    return person
