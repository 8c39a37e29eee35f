"""The logs of state moves: what a partnership's stages and the statuses of commitments
and agreements share.

Each of the three is a table of its own (``StageChange``, ``CommitmentStatusChange``,
``AgreementStatusChange``) whose rows only the services write, one a move; the rules
of such a log (who and when, newest first, a move goes somewhere else, the first row
comes from nowhere) are written here once. A log declares the record it follows and
the state it follows, and keeps its own field, constraint and index names, so that
no table or column changed when the three came to share this base.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from crm.models.constraints import choices_constraint


class StateChange(models.Model):
    """One move of a record from one state to another. Never edited.

    A log names, as class keywords, its record's foreign key (``subject``) and the
    state it follows (``state``: ``"stage"`` for ``from_stage`` → ``to_stage``):
    ``class StageChange(StateChange, subject="partnership", state="stage")``. It
    declares those fields with ``subject_field``, ``from_state`` and ``to_state``,
    its constraints with ``state_change_constraints`` and its history index with
    ``history_index``.
    """

    subject: ClassVar[str]
    state: ClassVar[str]

    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        # Who moved a record stays known: a user with logged moves cannot be deleted.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        abstract = True
        # Newest first; the id orders moves made within the same instant.
        ordering = ["-changed_at", "-id"]

    def __init_subclass__(cls, *, subject: str, state: str, **kwargs) -> None:
        # Required keywords: a log that forgot them fails when it is defined, not
        # when a row is first shown. (Migrations' historical models do not come
        # through here: their bases are flattened to models.Model.)
        super().__init_subclass__(**kwargs)
        cls.subject, cls.state = subject, state

    def __str__(self) -> str:
        before = self._state_label("from") or "—"
        return f"{getattr(self, self.subject)}: {before} → {self._state_label('to')}"

    def _state_label(self, end: str) -> str:
        """Return the label of the ``from`` or ``to`` state, in the active language."""
        return getattr(self, f"get_{end}_{self.state}_display")()


def subject_field(
    to: type[models.Model], verbose_name: str, *, related_name: str
) -> models.ForeignKey:
    """Return the foreign key to the record whose moves a log holds."""
    # A record with a logged move cannot be deleted: its history would go with it.
    return models.ForeignKey(
        to, verbose_name=verbose_name, on_delete=models.PROTECT, related_name=related_name
    )


def from_state(choices: type[models.TextChoices]) -> models.CharField:
    """Return the field of the state a record left: empty on its first row."""
    return models.CharField(_("from"), max_length=20, choices=choices.choices, blank=True)


def to_state(choices: type[models.TextChoices]) -> models.CharField:
    """Return the field of the state a record reached."""
    return models.CharField(_("to"), max_length=20, choices=choices.choices)


def history_index(subject: str, name: str) -> models.Index:
    """Return the index of a record's moves, newest first.

    It serves the record's history and the organisation's timeline:
    WHERE <subject> = … ORDER BY changed_at DESC.
    """
    return models.Index(fields=[subject, "-changed_at"], name=name)


def state_change_constraints(
    state: str, choices: type[models.TextChoices], *, or_else: Q | None = None
) -> list[models.CheckConstraint]:
    """Return the constraints of a log of ``state`` moves (``from_<state>``, ``to_<state>``).

    Both ends are one of ``choices`` (the start may be empty: the first row comes
    from nowhere) and a row is a move to another state, unless ``or_else`` holds:
    a row the log keeps although the state stays. Named ``crm_<model>_<rule>``:
    Django puts the model's name in ``%(class)s``.
    """
    start, end = f"from_{state}", f"to_{state}"
    is_a_change = ~Q(**{start: F(end)})
    if or_else is not None:
        is_a_change |= or_else
    return [
        models.CheckConstraint(
            condition=Q(**{start: ""}) | Q(**{f"{start}__in": choices.values}),
            name=f"crm_%(class)s_{start}_valid",
        ),
        choices_constraint(end, choices, "%(class)s"),
        models.CheckConstraint(condition=is_a_change, name="crm_%(class)s_is_a_change"),
    ]
