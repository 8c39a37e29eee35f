"""Why a message waits or was refused, kept so that each reader reads it in their language.

A reason is stored as its English text (the message id of the French
catalogue, marked with ``gettext_noop`` where it is written) and the values it
names, and translated when it is shown: the same message, received by the
mailbox at night in French and read by a colleague in English, says why in
English. Texts stored before this, or an error's own words, show as stored.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext


@dataclass(frozen=True)
class Reason:
    text: str
    values: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return say(self.text, self.values)


def say(text: str, values: dict[str, str] | None) -> str:
    """Return ``text`` in the active language, with its values."""
    if not text:
        return ""
    translated = gettext(text)
    if not values:
        return translated
    try:
        return translated % values
    except (KeyError, TypeError, ValueError):
        # A translation that lost a placeholder must not hide the reason.
        return text % values
