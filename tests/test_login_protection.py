"""Guessed passwords, idle sessions and password reset (issue 9, item 1)."""

import ipaddress
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import Client

from crm import security
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN_URLS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5


def fail(client, url: str, username: str, times: int, **extra) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong"}, **extra).status_code
        for _ in range(times)
    ]


@pytest.mark.parametrize("url", LOGIN_URLS)
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


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_a_user_name_longer_than_any_accounts_is_a_form_error(url):
    # It reached django-axes' record of the failure (255 characters): a 500 on
    # PostgreSQL.
    response = Client().post(url, {"username": "a" * 256, "password": "wrong"})

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert [error.code for error in errors["username"]] == ["max_length"]
    assert not AccessAttempt.objects.exists()


# Forwarded headers: believed from the configured proxies only.

BALANCER = "10.0.0.2"


@pytest.fixture
def behind_the_balancer(settings):
    settings.CRM_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]


def test_an_untrusted_peers_forwarded_for_is_ignored_and_the_peer_locked_out(
    coordinator, behind_the_balancer
):
    client = Client(REMOTE_ADDR="203.0.113.7")

    codes = [
        client.post(
            "/accounts/login/",
            {"username": "coordinator", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        ).status_code
        for number in range(8)
    ]
    right = client.post(
        "/accounts/login/",
        {"username": "coordinator", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )

    assert codes == [200] * 4 + [429] * 4
    assert right.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_through_a_trusted_proxy_each_forwarded_client_counts_apart(
    coordinator, behind_the_balancer
):
    client = Client(REMOTE_ADDR=BALANCER)

    codes = [
        client.post(
            "/accounts/login/",
            {"username": "coordinator", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        ).status_code
        for number in range(8)
    ]
    right = client.post(
        "/accounts/login/",
        {"username": "coordinator", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )

    assert codes == [200] * 8
    assert right.status_code == 302


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        # What a client wrote itself, left of what our proxies appended, is ignored.
        ("6.6.6.6, 41.1.1.1", "41.1.1.1"),
        ("6.6.6.6, 41.1.1.1, 10.0.0.3", "41.1.1.1"),
        ("garbage, 41.1.1.1", "41.1.1.1"),
        ("::ffff:41.1.1.1", "41.1.1.1"),
        ("2001:db8::1", "2001:db8::1"),
        # Nothing believable: the proxy's own address.
        ("garbage", BALANCER),
        ("41.1.1.1, garbage", BALANCER),
        ("", BALANCER),
        (" , ", BALANCER),
        ("10.0.0.300", BALANCER),
        ("41.1.1.1" + "0" * 5000, BALANCER),
    ],
)
def test_the_client_address_is_the_nearest_one_no_trusted_proxy_vouches_for(
    rf, behind_the_balancer, forwarded_for, client
):
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded_for, REMOTE_ADDR=BALANCER)

    assert security.client_ip(request) == client


def test_without_trusted_proxies_the_peer_is_the_client(rf, settings):
    settings.CRM_TRUSTED_PROXIES = []
    request = rf.get("/", HTTP_X_FORWARDED_FOR="41.1.1.1", REMOTE_ADDR=BALANCER)

    assert security.client_ip(request) == BALANCER


def test_a_malformed_forwarded_for_is_never_a_500(coordinator, behind_the_balancer):
    response = Client(REMOTE_ADDR=BALANCER, raise_request_exception=False).post(
        "/accounts/login/",
        {"username": "coordinator", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="garbage",
    )

    assert response.status_code == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [BALANCER]


def test_the_forwarded_scheme_is_believed_from_a_trusted_proxy_only(settings, behind_the_balancer):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True

    direct = Client(REMOTE_ADDR="203.0.113.7").get(
        "/accounts/login/", HTTP_X_FORWARDED_PROTO="https"
    )
    proxied = Client(REMOTE_ADDR=BALANCER).get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert direct.status_code == 301
    assert direct["Location"] == "https://testserver/accounts/login/"
    assert proxied.status_code == 200


# The limit per address, whatever the user names.


def test_many_user_names_from_one_address_lock_the_address_out(settings, coordinator):
    settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT = 30
    client = Client(REMOTE_ADDR="10.0.0.1")

    codes = [
        client.post(
            "/accounts/login/", {"username": f"name{number}", "password": "wrong"}
        ).status_code
        for _round in range(4)
        for number in range(30)
    ]
    same_address = client.post(
        "/accounts/login/", {"username": "coordinator", "password": PASSWORD}
    )
    other_address = Client(REMOTE_ADDR="10.0.0.2").post(
        "/accounts/login/", {"username": "coordinator", "password": PASSWORD}
    )

    assert codes == [200] * 29 + [429] * 91
    assert same_address.status_code == 429
    assert same_address.context["address_locked_out"]
    assert other_address.status_code == 302


def test_a_successful_login_does_not_clear_the_addresss_other_failures(settings, coordinator):
    settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT = 10
    client = Client(REMOTE_ADDR="10.0.0.1")
    for number in range(9):
        fail(client, "/accounts/login/", f"name{number}", 1)

    Client(REMOTE_ADDR="10.0.0.1").post(
        "/accounts/login/", {"username": "coordinator", "password": PASSWORD}
    )

    assert fail(client, "/accounts/login/", "name99", 1) == [429]


# A lock-out runs from the failure that started it.


def test_failures_during_a_lockout_do_not_extend_it(settings, coordinator):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    start = datetime(2026, 1, 15, 9, tzinfo=UTC)
    right = {"username": "coordinator", "password": PASSWORD}
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        assert fail(client, "/accounts/login/", "coordinator", 5)[-1] == 429

        clock.shift(timedelta(minutes=20))
        assert fail(client, "/accounts/login/", "coordinator", 3) == [429] * 3
        clock.shift(timedelta(minutes=9))
        assert client.post("/accounts/login/", right).status_code == 429
        clock.shift(timedelta(minutes=2))
        assert client.post("/accounts/login/", right).status_code == 302


# Changing one's password: the current password is a login.

NEW_PASSWORD = "Une-phrase-tres-longue-42"


def change_password(client, url: str, current: str):
    return client.post(
        url,
        {"old_password": current, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


@pytest.mark.parametrize("url", ["/accounts/password_change/", "/admin/password_change/"])
def test_wrong_current_passwords_count_towards_the_lockout(staff_user, url):
    client = Client()
    client.force_login(staff_user)

    codes = [change_password(client, url, "wrong").status_code for _ in range(5)]
    right = change_password(client, url, PASSWORD)
    login = Client().post("/accounts/login/", {"username": "staffer", "password": PASSWORD})

    assert codes == [200] * 4 + [429]
    assert right.status_code == 429
    assert login.status_code == 429
    staff_user.refresh_from_db()
    assert staff_user.check_password(PASSWORD)


@pytest.mark.parametrize("url", ["/accounts/password_change/", "/admin/password_change/"])
def test_the_right_current_password_changes_it(staff_user, url):
    client = Client()
    client.force_login(staff_user)

    response = change_password(client, url, PASSWORD)

    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(NEW_PASSWORD)


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

    # Session, user, permissions (2), counts (2), the page, the date hierarchy (2);
    # PostgreSQL first asks the planner's estimate of the table's size, one more.
    estimate = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(9 + estimate):
        response = client.get("/admin/axes/accessattempt/")
    assert len(response.context["cl"].result_list) == 5


def test_coordination_sees_and_unlocks_a_locked_out_address(settings, coordinator):
    settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT = 6
    for number in range(3):
        fail(Client(REMOTE_ADDR="10.0.0.1"), "/accounts/login/", f"name{number}", 2)
    fail(Client(REMOTE_ADDR="10.0.0.2"), "/accounts/login/", "name0", 2)
    admin = Client()
    admin.force_login(coordinator)

    locked = admin.get("/admin/axes/accessattempt/?locked_out=yes")
    unlocked = admin.get("/admin/axes/accessattempt/?locked_out=no")

    assert {(row.username, row.ip_address) for row in locked.context["cl"].result_list} == {
        ("name0", "10.0.0.1"),
        ("name1", "10.0.0.1"),
        ("name2", "10.0.0.1"),
    }
    assert [row.ip_address for row in unlocked.context["cl"].result_list] == ["10.0.0.2"]
    admin.post(
        "/admin/axes/accessattempt/",
        {
            "action": "unlock",
            "_selected_action": [row.pk for row in locked.context["cl"].result_list],
        },
    )
    relogin = Client(REMOTE_ADDR="10.0.0.1").post(
        "/accounts/login/", {"username": "coordinator", "password": PASSWORD}
    )
    assert relogin.status_code == 302
