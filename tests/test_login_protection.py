"""Guessed passwords, idle sessions and password reset (issue 9, item 1)."""

import time

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from crm import security
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5


def fail(client, url: str, username: str, times: int, **extra) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong"}, **extra).status_code
        for _ in range(times)
    ]


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_repeated_failures_lock_out_the_right_password_too(coordinator, url):
    client = Client()

    assert fail(client, url, "coordinator", 4) == [200] * 4
    assert fail(client, url, "coordinator", 1) == [429]
    response = client.post(url, {"username": "coordinator", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_says_why_in_french(coordinator):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    fail(client, "/accounts/login/", "coordinator", 5)

    response = client.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})

    assert response.status_code == 429
    assert "Connexion bloquée" in response.content.decode()


def test_a_lockout_is_per_user_name_and_address(coordinator, staff_user):
    fail(Client(REMOTE_ADDR="10.0.0.1"), "/accounts/login/", "coordinator", 5)

    other_address = Client(REMOTE_ADDR="10.0.0.2").post(
        "/accounts/login/", {"username": "coordinator", "password": PASSWORD}
    )
    other_user = Client(REMOTE_ADDR="10.0.0.1").post(
        "/accounts/login/", {"username": "staffer", "password": PASSWORD}
    )

    assert other_address.status_code == 302
    assert other_user.status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_only(settings, rf):
    settings.CRM_TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 41.1.1.1", REMOTE_ADDR="10.0.0.9")

    assert security.client_ip(request) == "41.1.1.1"

    settings.CRM_TRUSTED_PROXY_COUNT = 0
    assert security.client_ip(request) == "10.0.0.9"


def test_coordination_unlocks_a_colleague_in_the_admin(coordinator, staff_user):
    fail(Client(), "/accounts/login/", "staffer", 5)
    attempt = AccessAttempt.objects.get(username="staffer")
    admin = Client()
    admin.force_login(coordinator)

    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": [attempt.pk]},
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    relogin = Client().post("/accounts/login/", {"username": "staffer", "password": PASSWORD})
    assert relogin.status_code == 302


def test_staff_do_not_see_login_attempts(staff_user):
    client = Client()
    client.force_login(staff_user)

    assert client.get("/admin/axes/accessattempt/").status_code == 403


# Sessions.


def _logged_in(user) -> Client:
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    return client


def test_an_idle_session_ends(staff_user, settings, monkeypatch):
    settings.CRM_SESSION_IDLE_MINUTES = 30
    client = _logged_in(staff_user)
    now = time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + 29 * 60)
    assert client.get("/").status_code == 200

    monkeypatch.setattr(security.time, "time", lambda: now + 29 * 60 + 31 * 60)
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_busy_session_still_ends_after_its_lifetime(staff_user, settings, monkeypatch):
    settings.CRM_SESSION_IDLE_MINUTES = 30
    settings.CRM_SESSION_MAX_HOURS = 2
    client = _logged_in(staff_user)
    start = time.time()
    for minutes in range(20, 120, 20):
        monkeypatch.setattr(security.time, "time", lambda m=minutes: start + m * 60)
        assert client.get("/").status_code == 200

    monkeypatch.setattr(security.time, "time", lambda: start + 121 * 60)
    assert client.get("/").status_code == 302


def test_logout_ends_the_session_on_the_server(staff_user):
    client = _logged_in(staff_user)
    key = client.session.session_key

    client.post("/accounts/logout/")

    assert not Session.objects.filter(session_key=key).exists()


# Password reset.


def test_password_reset_is_off_by_default():
    client = Client()

    assert client.get("/accounts/password_reset/").status_code == 404
    assert client.post("/accounts/password_reset/", {"email": "a@example.org"}).status_code == 404


def test_password_reset_when_on_is_throttled(settings, staff_user):
    settings.CRM_PASSWORD_RESET_ENABLED = True
    settings.CRM_PASSWORD_RESET_PER_HOUR = 3
    client = Client()

    codes = [
        client.post("/accounts/password_reset/", {"email": staff_user.email}).status_code
        for _ in range(5)
    ]

    assert codes == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3


def test_password_reset_counts_each_address_apart(settings):
    settings.CRM_PASSWORD_RESET_ENABLED = True
    settings.CRM_PASSWORD_RESET_PER_HOUR = 2
    factories.UserFactory(email="a@example.org")

    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        # The e-mail's own limit is reached after two, whoever asks.
        Client(REMOTE_ADDR=address).post("/accounts/password_reset/", {"email": "a@example.org"})

    assert len(mail.outbox) == 2


def test_the_access_attempts_changelist_runs_a_fixed_number_of_queries(
    coordinator, django_assert_num_queries
):
    for number in range(5):
        fail(Client(REMOTE_ADDR=f"10.0.0.{number + 1}"), "/accounts/login/", f"user{number}", 2)
    client = Client()
    client.force_login(coordinator)
    client.get("/admin/axes/accessattempt/")

    # Session, user, permissions (2), counts (2), the page, the date hierarchy (2).
    with django_assert_num_queries(9):
        response = client.get("/admin/axes/accessattempt/")
    assert len(response.context["cl"].result_list) == 5
