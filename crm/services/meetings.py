"""Meetings, calls and visits (interactions): recorded with who took part and what follows."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.emails import notify_assignment
from crm.models import FollowUp, Interaction, Organization
from crm.services.base import save_with_history


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
    interaction.organizations.set(organizations)
    interaction.projects.set(projects)
    interaction.people.set(people)
    interaction.staff.set(staff)

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
