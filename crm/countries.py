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


@functools.cache
def country_choices(language: str) -> list[tuple[str, str]]:
    """``(code, name)`` of every ISO 3166 country, by name in ``language``.

    Every country, not those the records hold: listing those would read the
    whole organisation table at each page (the admin dropped that filter for it).
    """
    pairs = [(c.alpha_2, country_name(c.alpha_2, language)) for c in pycountry.countries]
    return sorted(pairs, key=lambda pair: fold(pair[1]))


@functools.cache
def _codes_by_name() -> dict[str, str]:
    """Each country's code, by its folded code and its folded name in each site language."""
    codes = {}
    for country in pycountry.countries:
        code = country.alpha_2
        codes[fold(code)] = code
        for language, _name in settings.LANGUAGES:
            codes[fold(country_name(code, language))] = code
    return codes


def country_code(text: str) -> str | None:
    """The code of the country ``text`` names: its code, or its name in any of the site's
    languages (an English page's URL shared with a French reader still works), whatever
    the case or accents."""
    return _codes_by_name().get(fold(text.strip()))
