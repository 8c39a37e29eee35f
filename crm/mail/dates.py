"""Dates as mail writes them: RFC 5322 headers, and the French or English lines of forwards."""

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from django.conf import settings

_MONTHS = {
    "jan": 1,
    "fev": 2,
    "feb": 2,
    "mar": 3,
    "avr": 4,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "jun": 6,
    "juin": 6,
    "jul": 7,
    "juil": 7,
    "aou": 8,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}

_WORD = r"([^\W\d_][^\W\d_.]*\.?)"
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:er)?\s+" + _WORD + r",?\s+(\d{4})")
_MONTH_DAY_YEAR = re.compile(_WORD + r"\s+(\d{1,2}),?\s+(\d{4})")
_NUMERIC = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2})\s*[:h]\s*(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?", re.I)
_ZONE = re.compile(r"(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?|\s([+-])(\d{2})(\d{2})\b")


def unit_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _month(word: str) -> int | None:
    folded = unicodedata.normalize("NFKD", word.lower()).encode("ascii", "ignore").decode()
    folded = folded.rstrip(".")
    if folded.startswith("juil"):
        return 7
    if folded.startswith("juin"):
        return 6
    for prefix, number in _MONTHS.items():
        if len(prefix) == 3 and folded.startswith(prefix):
            return number
    return None


def parse_header_date(value: str) -> datetime | None:
    """Return an RFC 5322 date as an aware datetime, or None."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _date_parts(text: str) -> tuple[int, int, int] | None:
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        for match in pattern.finditer(text):
            if order == "dmy":
                day, word, year = match.groups()
            else:
                word, day, year = match.groups()
            month = _month(word)
            if month:
                return int(year), month, int(day)
    if match := _ISO.search(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _NUMERIC.search(text):
        # French order: day/month/year.
        return int(match[3]), int(match[2]), int(match[1])
    return None


def parse_loose_date(value: str) -> datetime | None:
    """Return the moment of a forward's "Envoyé : mardi 14 octobre 2025 10:32" line, or None.

    Reads RFC 5322, French and English long and short forms; without a zone,
    the moment is in the unit's time zone.
    """
    value = (value or "")[:200]
    if moment := parse_header_date(value):
        return moment
    parts = _date_parts(value)
    if parts is None:
        return None
    year, month, day = parts
    hour = minute = second = 0
    # The time is looked for after the year, so that the day is not read as one.
    rest = value[value.find(str(year)) + 4 :] if str(year) in value else value
    if match := _TIME.search(rest):
        hour, minute = int(match[1]), int(match[2])
        second = int(match[3] or 0)
        meridiem = (match[4] or "").lower().replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
    zone: timezone | ZoneInfo = unit_zone()
    if match := _ZONE.search(rest):
        if match[1]:
            sign, hours, minutes = match[1], int(match[2]), int(match[3] or 0)
        else:
            sign, hours, minutes = match[4], int(match[5]), int(match[6])
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
