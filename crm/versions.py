"""Versions of a record, so that a copy opened on an old version is never saved.

An edit form carries the version it was opened on, the API hands it out as the
ETag; ``crm.services.record_update`` compares it with the record's version under
a row lock and refuses a stale copy with :class:`StaleVersion`.
"""

import hashlib
from collections.abc import Collection
from functools import cached_property

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


def version_of(instance) -> str:
    """Name the version of ``instance``: its identity and the moment it last changed."""
    raw = f"{instance._meta.label}:{instance.pk}:{instance.updated_at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# What a writer says it read: one version, several (an If-Match header may
# list more than one), or None to accept whatever the record is now.
Version = str | Collection[str] | None


def check_version(current, version: Version) -> None:
    """Raise ``StaleVersion`` unless ``version`` names the version of ``current``.

    Call it on a row read under lock, so that the record cannot change between
    the check and the write.
    """
    if version is None:
        return
    candidates = {version} if isinstance(version, str) else set(version)
    if version_of(current) not in candidates:
        raise StaleVersion(current)


class StaleVersion(Exception):
    """The record changed after the copy being saved was read; nothing was saved."""

    def __init__(self, current) -> None:
        super().__init__(f"{current._meta.label} {current.pk} changed meanwhile")
        self.current = current

    @cached_property
    def last_change(self):
        """Return the newest history row of the record (who changed it, when), if any."""
        history = getattr(self.current, "history", None)
        return history.select_related("history_user").first() if history is not None else None

    @property
    def changed_by(self):
        return self.last_change.history_user if self.last_change else None

    @property
    def changed_at(self):
        return self.last_change.history_date if self.last_change else self.current.updated_at

    def message(self, *, reload_url: str) -> SafeString:
        """Say who changed the record and when, with a link to reload it (HTML, escaped)."""
        when = formats.date_format(timezone.localtime(self.changed_at), "DATETIME_FORMAT")
        who = self.changed_by or _("someone")
        return format_html(
            '{} <a href="{}">{}</a>',
            _(
                "%(who)s changed this record on %(when)s, after you opened it. Nothing "
                "was saved; what you typed is still below."
            )
            % {"who": who, "when": when},
            reload_url,
            _("Reload the record to see their change, then make yours again."),
        )
