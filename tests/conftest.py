"""Shared actors and data: one user per role, and a fixed "today"."""

from datetime import date

import pytest
from django.contrib.auth.models import Group

from crm import roles
from tests.factories import UserFactory

# Every date-dependent test uses this day, never the clock.
TODAY = date(2026, 1, 15)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def postgres_only(db):
    """Skip on SQLite; CI fails if a test using this was skipped on PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
