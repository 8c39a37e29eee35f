"""Request rates of the API: per personal token and per logged-in user.

Rates come from the environment (``CRM_API_RATE_TOKEN``, ``CRM_API_RATE_USER``);
counts live in the default cache (``CRM_CACHE``). Each class applies to one kind
of caller and lets the other through, so a user's script with a token and the
same user's browser are counted apart. Requests without valid credentials are
refused (401) before any throttle: they reach no data.
"""

from rest_framework.throttling import SimpleRateThrottle

from crm.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Requests made with one personal token."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class SessionUserRateThrottle(SimpleRateThrottle):
    """Requests of one logged-in user through the session (browsable API, pages' scripts)."""

    scope = "user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
