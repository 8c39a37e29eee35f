"""English dates day first, as British English writes them ("25/10/2006", "25 Oct 2006").

The unit writes day first in French; American month-first dates ("10/12/2026")
would be read the other way round by the same people (issue 19).
"""

from django.conf.locale.en_GB.formats import *  # noqa: F403
