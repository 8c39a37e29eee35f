"""The shell every staff page shares: login, logout, language switch."""

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_is_in_french_by_default(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "Mot de passe" in response.text


def test_language_switch_turns_the_pages_to_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302

    page = client.get("/accounts/login/")

    assert '<html lang="en">' in page.text
    assert "Password" in page.text


def test_staff_user_logs_in_and_out(client, staff_user):
    response = client.post(
        "/accounts/login/",
        {"username": "staffer", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused_with_a_message(client, staff_user):
    response = client.post("/accounts/login/", {"username": "staffer", "password": "nope"})

    assert response.status_code == 200
    assert 'class="error"' in response.text
