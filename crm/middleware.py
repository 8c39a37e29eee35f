"""Which language a page speaks: the user's choice, else French.

Django's ``LocaleMiddleware`` follows the browser's Accept-Language header, so a
member of staff who chose French saw English pages on an English browser. Here
the order is: the language the user chose (saved on their profile when they
switch, and put in their session when they log in), then the language chosen
on this browser before logging in (the cookie), then French. Only the REST API
still honours Accept-Language, which is how API clients ask for a language.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

# Where a logged-in user's chosen language is kept for the session.
SESSION_KEY = "crm_language"


def _supported(code: str | None) -> str | None:
    return code if code in dict(settings.LANGUAGES) else None


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request) -> None:
        session = getattr(request, "session", None)
        language = _supported(session.get(SESSION_KEY) if session is not None else None)
        language = language or _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        if language is None and request.path_info.startswith("/api/"):
            language = translation.get_language_from_request(request)
        language = language or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def remember_language_on_login(sender, request, user, **kwargs) -> None:
    """Put the user's chosen language, if any, in their new session (one query, at login)."""
    from crm.models import StaffProfile

    chosen = (
        StaffProfile.objects.filter(user=user).values_list("interface_language", flat=True).first()
    )
    if chosen and request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = chosen
