"""Defences shared by every page and endpoint: hostile parameters, sessions, logins.

Each defence lives here once, as a middleware or a helper, rather than in each
view: a view added later is covered without remembering to be.
"""

import hashlib
import logging
import re
import time

from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

# Ids are bigints: 18 digits always fit, so no value overflows the database.
_ASCII_INT_RE = re.compile(r"[0-9]{1,18}")


def is_ascii_int(value: str) -> bool:
    """Tell whether ``value`` is a whole number written in ASCII digits.

    ``str.isdigit()`` accepts "²" and "٣", which ``int()`` refuses or reads as
    another number: neither is a parameter a client meant.
    """
    return _ASCII_INT_RE.fullmatch(value) is not None


def client_ip(request: HttpRequest) -> str:
    """Return the client's address, trusting X-Forwarded-For only as far as our proxies.

    With ``CRM_TRUSTED_PROXY_COUNT`` proxies in front (the load balancer), the
    client is the address that the outermost of them appended; whatever the
    client wrote itself further left is ignored, so it cannot choose its address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.CRM_TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def _bad_request(request: HttpRequest, name: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({name: [message]}, status=400)
    response = render(
        request, "crm/bad_request.html", {"parameter": name, "message": message}, status=400
    )
    return response


class HostileParameterMiddleware:
    """Answer 400 to a query string carrying a NUL byte, before any view reads it.

    PostgreSQL refuses NUL in text, so a view passing ``?q=a%00b`` to a query
    would fail with a 500; no honest client sends one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                shown = name.replace("\x00", "\\0")
                return _bad_request(request, shown, _("This parameter contains a NUL byte."))
        return self.get_response(request)


# Sessions.

_LOGIN_AT = "_crm_login_at"
_SEEN_AT = "_crm_seen_at"
# Writing the session on every request would make each page a database write;
# a minute is precise enough for an idle timeout counted in minutes.
_SEEN_PRECISION = 60


class SessionTimeoutMiddleware:
    """End a session idle longer than the idle timeout, or older than its lifetime.

    Django's session only knows one age. Office work wants both: a session left
    open on a shared desk closes after ``CRM_SESSION_IDLE_MINUTES``, and no
    session lasts longer than ``CRM_SESSION_MAX_HOURS`` however busy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            login_at = session.get(_LOGIN_AT)
            seen_at = session.get(_SEEN_AT)
            if login_at is None or seen_at is None:
                # A session from before this middleware: start counting now.
                session[_LOGIN_AT] = login_at = now
                session[_SEEN_AT] = seen_at = now
            idle = now - seen_at > settings.CRM_SESSION_IDLE_MINUTES * 60
            expired = now - login_at > settings.CRM_SESSION_MAX_HOURS * 3600
            if idle or expired:
                logout(request)
            elif now - seen_at >= _SEEN_PRECISION:
                session[_SEEN_AT] = now
        return self.get_response(request)


def start_session_clock(sender, request, user, **kwargs) -> None:
    """Start both session clocks at login (connected to ``user_logged_in``)."""
    if hasattr(request, "session"):
        now = int(time.time())
        request.session[_LOGIN_AT] = now
        request.session[_SEEN_AT] = now


# Logins.


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """Tell someone locked out why, and what to do, in their language (django-axes)."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        if settings.AXES_COOLOFF_TIME
        else None,
    }
    return render(
        request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count a password-reset request; tell whether it is within the limits.

    At most ``CRM_PASSWORD_RESET_PER_HOUR`` requests an hour from one address,
    and as many for one e-mail address, so the form can neither be used to
    flood a mailbox nor to probe many addresses from one machine.
    """
    limit = settings.CRM_PASSWORD_RESET_PER_HOUR
    hour = int(time.time() // 3600)
    email_hash = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    allowed = True
    for who in (f"ip:{client_ip(request)}", f"email:{email_hash}"):
        key = f"crm:password-reset:{who}:{hour}"
        cache.add(key, 0, timeout=3600)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=3600)
            count = 1
        allowed = allowed and count <= limit
    return allowed


# Health.


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers, else 503; no login, no data.

    For the load balancer: an app server whose database is unreachable is taken
    out of rotation.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: the database is unreachable")
        return HttpResponse("database unreachable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


class HealthCheckMiddleware:
    """Answer ``/healthz`` before host validation and the HTTPS redirect.

    Load balancers probe each server by its own address and over plain HTTP:
    neither is in ALLOWED_HOSTS nor https, yet the probe must get its answer.
    First in MIDDLEWARE; it reads nothing from the request but the path.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
