"""Country names in the reader's language, for the ISO 3166 codes the records keep.

The names and their translations are pycountry's (the Debian iso-codes
catalogues): "US" is "United States" in English and "États-Unis" in French.
"""

import functools
import gettext

import pycountry
from django.conf import settings
from django.utils import translation

from crm.search import fold


@functools.cache
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str, language: str | None = None) -> str:
    """The name of the country ``code`` in ``language`` (the active one); the code if unknown."""
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    if country is None:
        return code
    language = (language or translation.get_language() or "en").split("-")[0]
    return _catalogue(language).gettext(country.name)


def country_choices(codes) -> list[tuple[str, str]]:
    """``(code, name)`` for each of ``codes``, by name in the active language."""
    return sorted(((code, country_name(code)) for code in codes), key=lambda c: fold(c[1]))


def country_code(text: str, codes) -> str | None:
    """The code among ``codes`` that ``text`` names: the code, or the name in any of the
    site's languages (an English page's URL shared with a French reader still works),
    whatever the case or accents."""
    wanted = fold(text.strip())
    for code in codes:
        names = {fold(country_name(code, language)) for language, _name in settings.LANGUAGES}
        if wanted == fold(code) or wanted in names:
            return code
    return None
