"""Meetings, calls and visits (interactions): recorded with who took part and what follows."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from crm.emails import notify_assignment
from crm.models import (
    FollowUp,
    Interaction,
    InteractionOrganization,
    InteractionPerson,
    InteractionProject,
    Organization,
)
from crm.services.base import save_with_history, update_with_links
from crm.versions import Version


@transaction.atomic
def interaction_create(*, by: AbstractBaseUser | None, **fields: Any) -> Interaction:
    """Record an interaction alone, after checking it against the model's rules.

    Its participants, projects and follow-ups are the caller's to add: the
    staff pages through ``interaction_log``, the admin through its inlines.
    """
    interaction = Interaction(created_by=by, **fields)
    # The slug is made by Interaction.save() from the title and date.
    interaction.full_clean(exclude=["slug"])
    save_with_history(interaction, by=by)
    return interaction


@transaction.atomic
def interaction_log(
    *,
    by: AbstractBaseUser | None,
    kind: str,
    occurred_on: date,
    title: str,
    organizations: Iterable[Organization],
    projects: Iterable = (),
    people: Iterable = (),
    staff: Iterable = (),
    follow_ups: Iterable[dict[str, Any]] = (),
    **fields: Any,
) -> Interaction:
    """Record an interaction with its participants and the follow-ups it opened.

    Each item of ``follow_ups`` holds FollowUp field values (title, project,
    due_on, assignee…). Either everything is saved or nothing is.
    """
    organizations = list(organizations)
    if not organizations:
        raise ValidationError({"organizations": _("Name at least one organisation.")})
    interaction = interaction_create(
        by=by, kind=kind, occurred_on=occurred_on, title=title, **fields
    )
    _link(
        [
            NewInteraction(
                interaction=interaction,
                organizations=organizations,
                projects=list(projects),
                people=list(people),
                staff=list(staff),
            )
        ]
    )

    errors: dict[str, list] = {}
    saved = []
    for index, values in enumerate(follow_ups):
        follow_up = FollowUp(interaction=interaction, created_by=by, **values)
        try:
            follow_up.full_clean(exclude=["interaction"])
        except ValidationError as error:
            errors[f"follow_ups[{index}]"] = error.messages
            continue
        save_with_history(follow_up, by=by)
        saved.append(follow_up)
    if errors:
        # Raised after checking every follow-up, so the user sees all mistakes at
        # once; the transaction then rolls back the interaction too.
        raise ValidationError(errors)
    notify_assignment(follow_ups=saved, by=by)
    return interaction


def interaction_update(
    *,
    interaction: Interaction,
    changes: dict[str, Any],
    by: AbstractBaseUser | None,
    version: Version,
    organizations: Iterable[Organization] | None = None,
    projects: Iterable | None = None,
    people: Iterable | None = None,
    staff: Iterable | None = None,
    reason: str = "",
) -> Interaction:
    """Correct an interaction: its fields and, when given, who took part and what was discussed.

    Under the interaction's row lock, refused with ``StaleVersion`` when
    ``version`` is no longer its version; only what differs is written and the
    history row says which participants changed. An interaction keeps at
    least one organisation.
    """
    links = {
        name: list(values)
        for name, values in [
            ("organizations", organizations),
            ("projects", projects),
            ("people", people),
            ("staff", staff),
        ]
        if values is not None
    }
    if "organizations" in links and not links["organizations"]:
        raise ValidationError({"organizations": _("Name at least one organisation.")})
    return update_with_links(
        instance=interaction,
        changes=changes,
        links=links,
        by=by,
        version=version,
        reason=reason,
        anonymous=frozenset({"people"}),
    )


@dataclass
class NewInteraction:
    """An interaction not yet saved, with who and what it is to be linked to."""

    interaction: Interaction
    organizations: list[Organization]
    projects: list = field(default_factory=list)
    people: list = field(default_factory=list)
    staff: list = field(default_factory=list)


def _link(entries: list[NewInteraction]) -> None:
    """Link new interactions to their participants: one INSERT per table, whatever their number.

    For interactions just created (no links yet), which ``.set()`` would first
    read back, table by table and interaction by interaction. The database's
    triggers keep each organisation's latest interaction (LastInteraction).
    """
    tables = [
        (InteractionOrganization, "organization", "organizations"),
        (InteractionProject, "project", "projects"),
        (InteractionPerson, "person", "people"),
        (Interaction.staff.through, "user", "staff"),
    ]
    for through, column, attribute in tables:
        rows = [
            through(interaction_id=entry.interaction.pk, **{f"{column}_id": related.pk})
            for entry in entries
            for related in {item.pk: item for item in getattr(entry, attribute)}.values()
        ]
        if rows:
            through.objects.bulk_create(rows)


@transaction.atomic(savepoint=False)
def interactions_record(entries: list[NewInteraction]) -> list[Interaction]:
    """Record many new interactions with their participants in a few statements (mail filing).

    All or nothing; inside a caller's transaction, part of it (no savepoint of
    its own: the caller's rolls it back).

    Each interaction carries who records it (``created_by``, also its history
    row's user). Its fields are checked against the model's rules as
    ``interaction_create`` checks them, except the database's own constraints
    (kind and date precision among their choices, which the field checks
    already enforce), which would cost a query each.
    """
    for entry in entries:
        if not entry.organizations:
            raise ValidationError({"organizations": _("Name at least one organisation.")})
        interaction = entry.interaction
        interaction.slug = interaction.slug or interaction.make_slug()
        interaction.full_clean(exclude=["slug"], validate_unique=False, validate_constraints=False)
        interaction._history_user = interaction.created_by
    interactions = bulk_create_with_history([entry.interaction for entry in entries], Interaction)
    _link(entries)
    return interactions
