"""Shared actors and data: one user per role, and a fixed "today"."""

import os
from datetime import date, datetime, time

import pytest
import time_machine
from django.contrib.auth.models import Group

from crm import roles
from tests.factories import UserFactory

# Every date-dependent test uses this day, never the clock.
TODAY = date(2026, 1, 15)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Production serves hashed names from collectstatic's manifest; tests do not
    # run collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_AUTOREFRESH = True
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture(autouse=True)
def no_schedule(settings):
    # A worker run in a test runs the jobs the test queued, not the scheduled
    # commands (tests/test_schedule.py turns the schedule on).
    settings.CRM_SCHEDULE = False


@pytest.fixture(autouse=True)
def fresh_cache():
    # API throttle counts live in the cache: one test's requests must not count
    # against the next one's.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def private_documents(settings, tmp_path):
    """Keep the documents tests upload, and the erasure ledger, in the test's own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "crm.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    # The erasure ledger too (crm/services/erasure.py).
    settings.CRM_ERASURE_LEDGER = str(tmp_path / "var" / "erasures.jsonl")
    return tmp_path / "private"


@pytest.fixture
def today() -> date:
    return TODAY


def _user_in(role: str, username: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def coordinator(db):
    return _user_in(roles.COORDINATION, "coordinator")


@pytest.fixture
def staff_user(db):
    return _user_in(roles.STAFF, "staffer")


@pytest.fixture
def reader(db):
    return _user_in(roles.READ_ONLY, "reader")


NEEDS_POSTGRESQL = "needs PostgreSQL (set DATABASE_URL)"


@pytest.fixture
def postgres_only(db):
    """Skip on SQLite; CI fails if a test using this was skipped on PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRESQL)


# Tests that only run on PostgreSQL (or in a real browser, or behind nginx) skip
# elsewhere; CI sets these variables on the run where skipping them would hide a
# failure.
_REQUIRED = {
    "CRM_REQUIRE_POSTGRES": ("postgres", "postgres_only"),
    "CRM_REQUIRE_BROWSER": ("browser", "browser_page"),
    "CRM_REQUIRE_IMAP": ("imap", "imap_server"),
    "CRM_REQUIRE_NGINX": ("nginx", "nginx_binary"),
    "CRM_REQUIRE_PDF": ("pdf", "pdf_maker"),
}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped:
        # A PostgreSQL-only browser test skipped on SQLite is skipped for want
        # of PostgreSQL: only the PostgreSQL run must not skip it.
        for_postgresql = NEEDS_POSTGRESQL in str(report.longrepr)
        for variable, (marker, fixture) in _REQUIRED.items():
            if for_postgresql and variable != "CRM_REQUIRE_POSTGRES":
                continue
            needed = item.get_closest_marker(marker) or fixture in item.fixturenames
            if needed and os.environ.get(variable) == "1":
                report.outcome = "failed"
                report.longrepr = f"{item.nodeid} was skipped but {variable}=1: {report.longrepr}"
    return report


@pytest.fixture(scope="session")
def imap_server():
    """A real IMAP server (Dovecot) for the session; skipped where it is not installed."""
    from tests.imap_server import Dovecot, dovecot_binary

    binary = dovecot_binary()
    if binary is None:
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    server = Dovecot(binary)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_account(imap_server):
    """An account of its own on the IMAP server, its mailbox empty."""
    return imap_server.add_account()


@pytest.fixture
def mailbox_on(settings, imap_account):
    """The CRM_MAIL_IMAP_* settings pointing at a test account of the IMAP server."""
    for name, value in imap_account.settings().items():
        setattr(settings, name, value)
    return imap_account


@pytest.fixture
def pages_today(today):
    """Move the clock to the tests' fixed day, morning in the unit's time zone.

    Pages, API, admin and commands all read ``crm.clock.today()``: time-machine
    moves it for all of them at once (the clock keeps ticking from there).
    """
    from django.utils import timezone

    with time_machine.travel(timezone.make_aware(datetime.combine(today, time(9))), tick=True):
        yield today


@pytest.fixture
def api_client():
    """A DRF test client that asks for English, so labels are predictable."""
    from rest_framework.test import APIClient

    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def coordinator_api(api_client, coordinator):
    api_client.force_authenticate(coordinator)
    return api_client
