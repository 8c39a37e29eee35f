"""Defences shared by every page and endpoint: hostile parameters, sessions, logins.

Each defence lives here once, as a middleware or a helper, rather than in each
view: a view added later is covered without remembering to be.
"""

import hashlib
import ipaddress
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


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 peer seen through an IPv6 socket ("::ffff:10.0.0.5") is that IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address) -> bool:
    return address is not None and any(
        address in network for network in settings.CRM_TRUSTED_PROXIES
    )


def is_trusted_proxy(peer: str) -> bool:
    """Tell whether ``peer`` (a REMOTE_ADDR) is one of ``CRM_TRUSTED_PROXIES``."""
    return _is_trusted(_parse_address(peer))


def client_ip(request: HttpRequest) -> str:
    """Return the client's address, believing X-Forwarded-For only from our proxies.

    When the direct peer is one of ``CRM_TRUSTED_PROXIES``, X-Forwarded-For is
    read from the right, through every address that is a trusted proxy too: the
    first one that is not is the client. What a client wrote itself further left
    is never reached, so no client picks its address; from any other peer the
    header is ignored. An entry that is no address stops the reading: the
    nearest trusted hop is then taken, never the entry.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    client = _parse_address(remote)
    if not _is_trusted(client):
        return remote
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse_address(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address):
            break
    return str(client)


# Set by proxies; from any other peer, a client's claim about itself.
_FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
)


class ForwardedHeadersMiddleware:
    """Drop the forwarding headers of a request whose peer is no trusted proxy.

    Django believes X-Forwarded-Proto whenever ``SECURE_PROXY_SSL_HEADER`` is
    set, from whoever sends it: a client reaching an app server directly could
    claim HTTPS. Only ``CRM_TRUSTED_PROXIES`` may say how a request came in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            for header in _FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


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
    address_locked_out = getattr(request, "crm_address_locked_out", False)
    context = {
        "address_locked_out": address_locked_out,
        "failure_limit": settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT
        if address_locked_out
        else settings.AXES_FAILURE_LIMIT,
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
