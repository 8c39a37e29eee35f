"""Refusals (403) in the site's layout and the reader's language, saying why and where to go.

Issue 19: Staff on /duplicates/ and Read-only on any form URL met Django's bare
English page (``<h1>403 Forbidden</h1>``, no menu, no explanation).
"""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_staff_refused_the_duplicates_page_see_why_in_french_with_the_menu(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/duplicates/")

    html = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="fr"' in html
    assert "Action non autorisée" in html
    assert "Votre rôle\u00a0: Personnel." in html
    assert "Retour au tableau de bord" in html
    assert 'href="/organizations/"' in html  # the site's menu


def test_read_only_refused_a_form_see_their_role_in_english_when_chosen(client, reader):
    client.force_login(reader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/organizations/new/")

    html = response.content.decode()
    assert response.status_code == 403
    assert "Not allowed" in html
    assert "Your role: Read-only." in html
    assert "403 Forbidden" not in html


def test_an_account_without_a_role_is_told_to_ask_for_one(client, django_user_model):
    user = django_user_model.objects.create_user("norole", password="x")
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/duplicates/")

    assert response.status_code == 403
    assert "Your account has no role yet" in response.content.decode()
