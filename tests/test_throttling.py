"""The API's request rates: per personal token and per session user (issue 9, item 1)."""

import pytest
from rest_framework.test import APIClient

from crm.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    # DRF reads the rates of settings once, into the throttle classes.
    from crm.api import throttling

    rates = {"token": "3/hour", "user": "2/hour"}
    for throttle in (throttling.TokenRateThrottle, throttling.SessionUserRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


def with_token(user) -> APIClient:
    _token, key = ApiToken.create_for(user, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def statuses(client, times: int) -> list[int]:
    return [client.get("/api/v1/projects/").status_code for _ in range(times)]


def test_each_token_has_its_own_allowance(rates, staff_user):
    first, second = with_token(staff_user), with_token(staff_user)

    assert statuses(first, 4) == [200, 200, 200, 429]
    assert statuses(second, 1) == [200]


def test_the_session_counts_apart_from_the_users_tokens(rates, staff_user):
    browser = APIClient()
    browser.force_login(staff_user)
    script = with_token(staff_user)

    assert statuses(browser, 3) == [200, 200, 429]
    assert statuses(script, 1) == [200]


def test_a_throttled_answer_says_when_to_come_back(rates, reader):
    client = with_token(reader)
    statuses(client, 3)

    response = client.get("/api/v1/projects/")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
