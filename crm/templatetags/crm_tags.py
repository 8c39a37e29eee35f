"""Template filters of the staff pages: dates as precise as the source, record versions."""

from datetime import date

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.models import DatePrecision
from crm.versions import version_of

register = template.Library()


@register.filter
def precise_date(value: date | None, precision: str = DatePrecision.DAY) -> str:
    """Render ``value`` no more precisely than the source gave it.

    ``{{ mission.start_on|precise_date:mission.date_precision }}`` gives
    "fin septembre 2023" in French and "late September 2023" in English.
    """
    if value is None:
        return ""
    month = date_format(value, "F Y")
    if precision == DatePrecision.EARLY_MONTH:
        return _("early %(month)s") % {"month": month}
    if precision == DatePrecision.MID_MONTH:
        return _("mid-%(month)s") % {"month": month}
    if precision == DatePrecision.LATE_MONTH:
        return _("late %(month)s") % {"month": month}
    if precision == DatePrecision.MONTH:
        return month
    if precision == DatePrecision.YEAR:
        return date_format(value, "Y")
    return date_format(value, "DATE_FORMAT")


@register.simple_tag
def precise_span(start: date, end: date | None, precision: str) -> str:
    """Render a span of dates; a rough span inside one period reads as that period."""
    first = precise_date(start, precision)
    last = precise_date(end, precision) if end else ""
    if not last or last == first:
        return first
    if precision != DatePrecision.DAY and (start.year, start.month) == (end.year, end.month):
        # "fin septembre 2023" stored as 1–30 September: the period, not the span.
        return first
    if precision == DatePrecision.DAY:
        return _("%(start)s to %(end)s") % {"start": first, "end": last}
    # French says "du 3 au 5 mars" for days but "de septembre à octobre" for
    # months: a separate message lets each language word the two apart.
    return pgettext("span of months or years", "%(start)s to %(end)s") % {
        "start": first,
        "end": last,
    }


@register.filter
def absolute_url(path: str) -> str:
    """Prefix a site path with ``CRM_BASE_URL``, for links in e-mails."""
    from crm.emails import absolute_url as build

    return build(path)


@register.filter
def version(record) -> str:
    """Return the version of ``record``, for an edit form's hidden ``version`` field."""
    return version_of(record)


@register.filter
def overdue_on(follow_up, today: date) -> bool:
    """Tell whether ``follow_up`` is overdue on ``today``: ``{% if f|overdue_on:today %}``."""
    return follow_up.is_overdue(today=today)
