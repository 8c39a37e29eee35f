"""The one clock of the CRM: what day it is for the unit.

Pages, the API, the admin and the commands ask ``today()`` once per request
or run and hand the date to the QuerySet methods (``today=…``), which never
read the clock themselves. Tests move time with time-machine.
"""

from datetime import date

from django.utils import timezone


def today() -> date:
    """Return the unit's today, in the time zone of the settings (Africa/Lome)."""
    return timezone.localdate()
