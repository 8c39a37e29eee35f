"""The register of processing, for the declaration to the IPDCP (issue 20, point 1).

Built from the settings and the data, so that it says what the running CRM does.
"""

import io

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation
from openpyxl import load_workbook

from crm import roles
from crm.privacy_register import FIELDS, processings
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def test_coordination_and_the_officer_read_it_others_do_not(
    client, coordinator, staff_user, reader
):
    officer = factories.UserFactory(username="dpo")
    officer.groups.add(Group.objects.get(name=roles.DATA_PROTECTION))

    statuses = {}
    for user in (coordinator, officer, staff_user, reader):
        client.force_login(user)
        statuses[user.username] = client.get("/privacy/register/").status_code
    client.logout()

    assert statuses == {"coordinator": 200, "dpo": 200, "staffer": 403, "reader": 403}
    assert client.get("/privacy/register/")["Location"].startswith("/accounts/login/")


def test_every_processing_has_its_legal_basis_retention_and_hosting(settings):
    settings.CRM_MAIL_BODY_RETENTION_DAYS = 90
    settings.CRM_EXPORT_LOG_RETENTION_DAYS = 30
    settings.CRM_HOSTING_LOCATION = "Lomé, Togo (the unit's server room)"

    register = {row.name: row for row in processings()}

    assert set(register) == {
        "Partner contacts",
        "Staff accounts",
        "E-mail filing",
        "Exports",
        "Audit logs",
    }
    for row in register.values():
        assert all(getattr(row, name) for name, _label in FIELDS), row.name
        assert row.transfers == "Hosted in: Lomé, Togo (the unit's server room)."
    assert "after 90 days" in register["E-mail filing"].retention
    assert "after 30 days" in register["Exports"].retention


def test_the_legal_bases_are_counted_from_the_people_on_file():
    factories.PersonFactory.create_batch(2)
    factories.PersonFactory(legal_basis="consent")

    contacts = processings()[0]

    assert "Consent: 1" in contacts.legal_basis
    assert "2 people to be reviewed" in contacts.legal_basis


def test_an_unset_hosting_location_is_said_not_guessed(settings):
    settings.CRM_HOSTING_LOCATION = ""

    assert all("CRM_HOSTING_LOCATION" in row.transfers for row in processings())


def test_it_reads_the_same_few_rows_however_many_people(
    client, coordinator, django_assert_max_num_queries
):
    client.force_login(coordinator)
    factories.PersonFactory.create_batch(3)
    with django_assert_max_num_queries(12) as few:
        client.get("/privacy/register/")
    factories.PersonFactory.create_batch(40, legal_basis="contract")

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/privacy/register/")


def test_it_exports_as_a_workbook_with_a_row_per_processing(client, coordinator):
    client.force_login(coordinator)

    response = client.get("/privacy/register/?export=xlsx")

    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert response["Content-Disposition"].startswith("attachment;")
    assert list(rows[0]) == [str(label) for _name, label in FIELDS]
    assert [row[0] for row in rows[1:]] == [row.name for row in processings()]
