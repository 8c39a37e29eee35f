"""Merging duplicates: one organisation or person into another, nothing lost.

Every row that points at the record merged is moved to the record kept, found
from the model's relations so that a model added later is moved too; a move
that would break a rule of the database is resolved as below, or the whole
merge is refused.
"""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import (
    Affiliation,
    InteractionOrganization,
    InteractionPerson,
    LastInteraction,
    Merge,
    MissionMember,
    Organization,
    Partnership,
    Person,
)
from crm.services.base import save_with_history

# Link tables, whose duplicate rows a merge drops (see _resolve_clash).
LINK_MODELS = (InteractionOrganization, InteractionPerson, MissionMember)
# Kept by the database from the links themselves: they follow the links moved.
DERIVED_MODELS = (LastInteraction,)


def links_to(model) -> list:
    """Return the foreign keys that point at ``model``, history and derived tables excepted."""
    return [
        relation.field
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
        and not relation.related_model._meta.model_name.startswith("historical")
        and relation.related_model not in DERIVED_MODELS
    ]


def _clashes(row) -> bool:
    """Tell whether ``row``, now pointing at the record kept, breaks a unique rule."""
    try:
        row.validate_unique()
        row.validate_constraints()
    except ValidationError:
        return True
    return False


def _save_moved(row, field_name: str, *, by, reason: str) -> None:
    fields = [field_name]
    if any(f.name == "updated_at" for f in row._meta.fields):
        fields.append("updated_at")
    if hasattr(type(row), "history"):
        save_with_history(row, by=by, reason=reason, update_fields=fields)
    else:
        row.save(update_fields=fields)


def _resolve_clash(row, field_name: str, kept, *, by, reason: str, today: date) -> str:
    """Move a row that duplicates one the record kept already has; return what was done."""
    if isinstance(row, Affiliation):
        # The same role twice: the moved copy is ended (roles are never deleted);
        # a second primary role becomes a plain one.
        if row.is_primary:
            row.is_primary = False
            if not _clashes(row):
                save_with_history(row, by=by, reason=reason)
                return "moved"
        row.end_on = max(row.start_on or today, today)
        save_with_history(row, by=by, reason=reason)
        return "ended"
    if isinstance(row, Partnership):
        # Both records are partners of the same project: the kept partnership
        # stays, the other's stage history and notes join it.
        current = Partnership.objects.select_for_update().get(
            organization=kept, project_id=row.project_id
        )
        # Whatever hangs on the other partnership (its stage changes, and any
        # record a later model ties to a partnership) moves to the kept one.
        _merge(current, row, by=by, reason=reason, today=today)
        if row.notes.strip() and row.notes.strip() not in current.notes:
            current.notes = "\n\n".join(filter(None, [current.notes.strip(), row.notes.strip()]))
            save_with_history(current, by=by, reason=reason, update_fields=["notes", "updated_at"])
        row._change_reason = reason
        row._history_user = by
        row.delete()
        return "folded"
    if isinstance(row, LINK_MODELS):
        # A link table (meeting ↔ organisation, mission ↔ person…): the record
        # kept is already linked, the duplicate link goes.
        row.delete()
        return "dropped"
    raise ValidationError(
        _("%(model)s: cannot be moved without breaking a rule; nothing was merged.")
        % {"model": row._meta.verbose_name}
    )


def _merge(kept, other, *, by, reason: str, today: date) -> dict[str, int]:
    moved: dict[str, int] = {}
    for field in links_to(type(kept)):
        model = field.model
        rows = model._base_manager.select_for_update().filter(**{field.name: other}).order_by("pk")
        for row in rows:
            setattr(row, field.name, kept)
            if _clashes(row):
                outcome = _resolve_clash(row, field.name, kept, by=by, reason=reason, today=today)
            else:
                _save_moved(row, field.name, by=by, reason=reason)
                outcome = "moved"
            key = f"{model._meta.model_name}.{outcome}"
            moved[key] = moved.get(key, 0) + 1
    return moved


def _lock_pair(model, kept, other):
    if kept.pk == other.pk:
        raise ValidationError({"other": _("Choose two different records.")})
    # Locked in the order of their keys, so two merges of the same pair wait
    # for each other instead of deadlocking.
    rows = {
        row.pk: row
        for row in model.objects.select_for_update()
        .filter(pk__in=[kept.pk, other.pk])
        .order_by("pk")
    }
    if len(rows) != 2:
        raise ValidationError(_("One of the two records no longer exists."))
    return rows[kept.pk], rows[other.pk]


def _fill_blanks(kept, other, names: list[str]) -> list[str]:
    """Take the other's value for each field the record kept leaves blank."""
    filled = []
    for name in names:
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
            filled.append(name)
    return filled


def _record_merge(kind, kept, other, *, by, reason: str, moved: dict, filled: list[str]):
    note = _("Merged “%(name)s” (%(slug)s) into this record.") % {
        "name": other,
        "slug": other.slug,
    }
    # The removed record's history ends with a row saying where it went.
    other._history_user = by
    other._change_reason = (_("Merged into “%(name)s”.") % {"name": kept})[:100]
    other_id, other_slug, other_name = other.pk, other.slug, str(other)
    other.delete()
    save_with_history(kept, by=by, reason=note[:100], update_fields=[*filled, "updated_at"])
    return Merge.objects.create(
        kind=kind,
        kept_id=kept.pk,
        kept_name=str(kept),
        removed_id=other_id,
        removed_slug=other_slug,
        removed_name=other_name,
        moved=moved,
        reason=reason.strip(),
        merged_at=timezone.now(),
        merged_by=by,
    )


@transaction.atomic
def organization_merge(
    *, kept: Organization, other: Organization, by: AbstractBaseUser, reason: str = ""
):
    """Merge ``other`` into ``kept``: every link, role, meeting, partnership and follow-up moves.

    Both histories are kept (the removed record's rows stay in its history
    table, ending with its removal) and a ``Merge`` row records what happened.
    Blank fields of the record kept take the other's values. Return the Merge.
    """
    kept, other = _lock_pair(Organization, kept, other)
    today = timezone.localdate()
    note = reason.strip() or _("merge of duplicates")
    moved = _merge(kept, other, by=by, reason=note[:100], today=today)
    filled = _fill_blanks(kept, other, ["short_name", "country", "city", "website", "description"])
    if not kept.is_identified and other.is_identified:
        # A placeholder merged with a real organisation is resolved.
        kept.is_identified = True
        filled.append("is_identified")
    return _record_merge(
        Merge.Kind.ORGANIZATION, kept, other, by=by, reason=reason, moved=moved, filled=filled
    )


@transaction.atomic
def person_merge(*, kept: Person, other: Person, by: AbstractBaseUser, reason: str = ""):
    """Merge ``other`` into ``kept``, as ``organization_merge`` does for organisations."""
    kept, other = _lock_pair(Person, kept, other)
    today = timezone.localdate()
    note = reason.strip() or _("merge of duplicates")
    moved = _merge(kept, other, by=by, reason=note[:100], today=today)
    email = other.email if not kept.email else ""
    filled = _fill_blanks(kept, other, ["phone", "notes"])
    merge = _record_merge(
        Merge.Kind.PERSON, kept, other, by=by, reason=reason, moved=moved, filled=filled
    )
    if email:
        # Only once the other is gone: two people may not share an address.
        kept.email = email
        save_with_history(kept, by=by, reason=note[:100], update_fields=["email", "updated_at"])
    return merge
