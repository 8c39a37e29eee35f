"""Duplicates caught at the door: adding "VISA" or "Visa Inc." when "Visa" exists shows it first.

Issue 19: no warning was given; only Coordination's duplicates page noticed, later.
"""

import pytest
from django.conf import settings

from crm.likely_matches import core_name, organizations_like, people_like
from crm.models import Organization, Person
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

NEW_ORGANIZATION = {"short_name": "", "kind": "payment_network", "is_identified": "on"}


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.mark.parametrize(
    ("name", "core"),
    [("Visa Inc.", "visa"), ("VISA", "visa"), ("Société Générale SA", "societe generale")],
)
def test_a_core_name_is_folded_and_loses_its_legal_suffix(name, core):
    assert core_name(name) == core


@pytest.mark.parametrize("typed", ["VISA", "Visa Inc.", "visa, inc", "Vísa"])
def test_an_organisation_named_like_one_on_file_is_shown_before_it_is_added(
    client, staff_user, typed
):
    visa = factories.OrganizationFactory(name="Visa", slug="visa")
    client.force_login(staff_user)

    response = client.post("/organizations/new/", {**NEW_ORGANIZATION, "name": typed})

    html = response.content.decode()
    assert response.status_code == 200
    assert "This may already be on file" in html
    assert f'href="{visa.get_absolute_url()}">Visa</a>' in html
    assert 'name="confirm_new" value="1"' in html
    assert Organization.objects.count() == 1


def test_added_anyway_once_confirmed(client, staff_user):
    factories.OrganizationFactory(name="Visa", slug="visa")
    client.force_login(staff_user)

    response = client.post(
        "/organizations/new/", {**NEW_ORGANIZATION, "name": "Visa Inc.", "confirm_new": "1"}
    )

    assert response.status_code == 302
    assert Organization.objects.filter(name="Visa Inc.").exists()


def test_an_organisation_unlike_any_other_is_added_at_once(client, staff_user):
    factories.OrganizationFactory(name="Visa", slug="visa")
    client.force_login(staff_user)

    response = client.post("/organizations/new/", {**NEW_ORGANIZATION, "name": "Mastercard"})

    assert response.status_code == 302
    assert Organization.objects.filter(name="Mastercard").exists()


def test_a_person_with_an_e_mail_on_file_is_shown_before_being_added(client, staff_user):
    mary = factories.PersonFactory(given_name="Mary", family_name="Test", email="m.test@visa.com")
    client.force_login(staff_user)

    response = client.post(
        "/people/new/",
        {
            "person-given_name": "Marie",
            "person-family_name": "Dupont",
            "person-email": "M.Test@visa.com",
        },
    )

    assert response.status_code == 200
    assert f'href="{mary.get_absolute_url()}">Mary Test</a>' in response.content.decode()
    assert Person.objects.count() == 1


def test_a_person_named_alike_is_found_whatever_the_accents(db):
    stephane = factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    factories.PersonFactory(given_name="Awa", family_name="Mensah")

    assert people_like("stephane", "KPOWBIE") == [stephane]
    assert people_like("Awa", "Kpowbié") == []


def test_likely_matches_read_a_bounded_number_of_rows(db, django_assert_max_num_queries):
    for number in range(60):
        factories.OrganizationFactory(name=f"Visa {number}")

    with django_assert_max_num_queries(1):
        found = organizations_like("Visa")

    assert len(found) <= 5
