"""Adding and correcting organisations, people, roles and partnerships from the staff pages."""

import pytest
from django.conf import settings

from crm import services
from crm.models import Affiliation, Interaction, Organization, Partnership, Person, StageChange
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def version(client, url: str) -> str:
    return client.get(url).context["form"]["version"].value()


ORGANIZATION = {
    "name": "Visa",
    "short_name": "",
    "kind": "payment_network",
    "country": "us",
    "city": "San Francisco",
    "website": "",
    "description": "",
    "is_identified": "on",
    "verification_note": "",
}


@pytest.mark.parametrize(
    "url",
    [
        "/organizations/new/",
        "/organizations/visa/edit/",
        "/organizations/visa/partnerships/new/",
        "/people/new/",
        "/people/awa/edit/",
        "/roles/new/",
        "ROLE",
    ],
)
def test_every_form_needs_login_and_a_permission_a_reader_lacks(client, reader, url):
    organization = factories.OrganizationFactory(slug="visa")
    person = factories.PersonFactory(slug="awa")
    role = factories.AffiliationFactory(person=person, organization=organization)
    url = f"/roles/{role.pk}/edit/" if url == "ROLE" else url

    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(reader)
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


def test_staff_add_an_organisation(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/organizations/new/", ORGANIZATION)

    organization = Organization.objects.get(name="Visa")
    assert response["Location"] == "/organizations/visa/"
    assert (organization.country, organization.city) == ("US", "San Francisco")
    assert organization.history.get().history_user == staff_user


def test_a_new_organisation_gets_a_slug_of_its_own(client, staff_user):
    factories.OrganizationFactory(slug="visa", name="Visa Inc")
    client.force_login(staff_user)

    # "Visa Inc" is shown first as perhaps the same; added anyway.
    client.post("/organizations/new/", {**ORGANIZATION, "confirm_new": "1"})

    assert Organization.objects.get(name="Visa").slug == "visa-2"


def test_an_organisation_to_verify_needs_a_note(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/organizations/new/", {**ORGANIZATION, "needs_verification": "on"})

    assert response.status_code == 200
    assert response.context["form"].errors["verification_note"] == [
        "Say what needs to be checked."
    ]
    assert not Organization.objects.exists()


def test_editing_an_organisation_saves_only_what_changed_with_history(client, staff_user):
    organization = factories.OrganizationFactory(slug="visa", name="Visa", city="")
    client.force_login(staff_user)
    url = "/organizations/visa/edit/"
    form = client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in ORGANIZATION}
    data["is_identified"] = "on"

    response = client.post(url, {**data, "city": "Washington", "version": version(client, url)})

    assert response["Location"] == "/organizations/visa/"
    organization.refresh_from_db()
    assert organization.city == "Washington"
    last = organization.history.first()
    assert (last.history_user, last.city) == (staff_user, "Washington")


def test_a_stale_organisation_form_is_refused_and_a_fresh_one_saves(
    client, staff_user, coordinator
):
    organization = factories.OrganizationFactory(slug="visa", name="Visa", country="US")
    client.force_login(staff_user)
    url = "/organizations/visa/edit/"
    old = version(client, url)
    services.record_update(
        instance=organization,
        changes={"description": "Card network."},
        by=coordinator,
        version=None,
    )
    data = {**ORGANIZATION, "country": "US", "city": "Washington"}

    stale = client.post(url, {**data, "version": old})

    assert stale.status_code == 200
    assert "changed this record on" in stale.text
    assert 'value="Washington"' in stale.text
    organization.refresh_from_db()
    assert organization.city == ""

    fresh = client.post(
        url, {**data, "description": "Card network.", "version": version(client, url)}
    )

    assert fresh.status_code == 302
    organization.refresh_from_db()
    assert (organization.city, organization.description) == ("Washington", "Card network.")
    assert [h.history_user for h in organization.history.all()[:2]] == [staff_user, coordinator]


def test_staff_add_a_person_with_their_role_in_one_submit(client, staff_user):
    organization = factories.OrganizationFactory(slug="visa")
    client.force_login(staff_user)

    response = client.post(
        "/people/new/?organization=visa",
        {
            "person-given_name": "Stéphane",
            "person-family_name": "Kpowbié",
            "person-organization": organization.pk,
            "person-title": "Country manager",
            "person-email": "",
        },
    )

    person = Person.objects.get(family_name="Kpowbié")
    assert response["Location"] == person.get_absolute_url()
    role = person.affiliations.get()
    assert (role.organization, role.title, role.is_primary) == (
        organization,
        "Country manager",
        True,
    )


def test_a_stale_person_form_is_refused_and_a_fresh_one_saves(client, staff_user, coordinator):
    person = factories.PersonFactory(slug="awa", given_name="Awa", family_name="Mensah")
    client.force_login(staff_user)
    url = "/people/awa/edit/"
    old = version(client, url)
    services.record_update(
        instance=person, changes={"notes": "Met in DC."}, by=coordinator, version=None
    )
    data = {"given_name": "Awa", "family_name": "Mensah", "email": "awa@example.org", "phone": "",
            "preferred_language": "fr", "notes": "Met in DC."}  # fmt: skip

    assert "changed this record on" in client.post(url, {**data, "version": old}).text
    assert client.post(url, {**data, "version": version(client, url)}).status_code == 302

    person.refresh_from_db()
    assert (person.email, person.notes) == ("awa@example.org", "Met in DC.")
    assert [h.history_user for h in person.history.all()[:2]] == [staff_user, coordinator]


def test_a_role_is_added_from_a_person_s_page_and_ended_not_deleted(client, staff_user):
    person = factories.PersonFactory(slug="awa")
    organization = factories.OrganizationFactory()
    client.force_login(staff_user)

    response = client.post(
        "/roles/new/?person=awa",
        {"organization": organization.pk, "title": "Adviser", "start_on": "", "end_on": ""},
    )

    assert response["Location"] == person.get_absolute_url()
    role = Affiliation.objects.get(person=person)
    url = f"/roles/{role.pk}/edit/"
    response = client.post(
        url,
        {"title": "Adviser", "start_on": "2025-01-01", "end_on": "2025-12-31",
         "version": version(client, url)},
    )  # fmt: skip

    assert response.status_code == 302
    role.refresh_from_db()
    assert role.end_on.isoformat() == "2025-12-31"
    assert role.history.count() == 2


def test_a_role_ending_before_it_starts_is_refused(client, staff_user):
    role = factories.AffiliationFactory()
    client.force_login(staff_user)
    url = f"/roles/{role.pk}/edit/"

    response = client.post(
        url,
        {"title": "Director", "start_on": "2025-01-01", "end_on": "2024-01-01",
         "version": version(client, url)},
    )  # fmt: skip

    assert response.status_code == 200
    assert "The end cannot come before the start." in response.text


def test_a_stale_role_form_is_refused(client, staff_user, coordinator):
    role = factories.AffiliationFactory(title="Director")
    client.force_login(staff_user)
    url = f"/roles/{role.pk}/edit/"
    old = version(client, url)
    services.record_update(instance=role, changes={"title": "CEO"}, by=coordinator, version=None)

    response = client.post(url, {"title": "Head", "start_on": "", "end_on": "", "version": old})

    assert "changed this record on" in response.text
    role.refresh_from_db()
    assert role.title == "CEO"


def test_a_partnership_is_added_with_its_owner_and_first_stage(client, staff_user, coordinator):
    organization = factories.OrganizationFactory(slug="visa")
    project = factories.ProjectFactory()
    client.force_login(staff_user)

    response = client.post(
        "/organizations/visa/partnerships/new/",
        {"project": project.pk, "role": "payment_network", "stage": "contacted",
         "owner": coordinator.pk, "contact_cadence_days": "", "notes": ""},
    )  # fmt: skip

    assert response["Location"] == "/organizations/visa/"
    partnership = Partnership.objects.get(organization=organization)
    assert partnership.owner == coordinator
    change = StageChange.objects.get(partnership=partnership)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "contacted", staff_user)


def test_a_partnership_needs_an_owner(client, staff_user):
    factories.OrganizationFactory(slug="visa")
    project = factories.ProjectFactory()
    client.force_login(staff_user)

    response = client.post(
        "/organizations/visa/partnerships/new/",
        {"project": project.pk, "role": "payment_network", "stage": "contacted", "owner": ""},
    )

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Partnership.objects.exists()


# Logging a meeting.


def meeting_data(organization, **extra) -> dict:
    return {
        "kind": "meeting",
        "title": "Rencontre avec Visa",
        "occurred_on": "2026-01-14",
        "date_precision": "day",
        "organizations": [organization.pk],
        "follow_ups-TOTAL_FORMS": "0",
        "follow_ups-INITIAL_FORMS": "0",
        **extra,
    }


def test_log_a_meeting_records_a_person_met_for_the_first_time(client, staff_user):
    organization = factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)

    response = client.post(
        "/interactions/new/",
        meeting_data(
            organization,
            **{
                "new_person-given_name": "Stéphane",
                "new_person-family_name": "Kpowbié",
                "new_person-organization": organization.pk,
                "new_person-title": "Country manager",
            },
        ),
    )

    assert response.status_code == 302
    interaction = Interaction.objects.get()
    person = Person.objects.get(family_name="Kpowbié")
    assert list(interaction.people.all()) == [person]
    assert person.affiliations.get().organization == organization
    assert person.history.get().history_user == staff_user


def test_a_refused_meeting_keeps_no_new_person(client, staff_user):
    organization = factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)
    data = meeting_data(
        organization,
        **{"new_person-family_name": "Kpowbié", "organizations": []},
    )

    response = client.post("/interactions/new/", data)

    assert response.status_code == 200
    assert not Person.objects.exists()
    assert 'value="Kpowbié"' in response.text


def test_a_new_person_with_a_role_but_no_organisation_is_refused(client, staff_user):
    organization = factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)

    response = client.post(
        "/interactions/new/",
        meeting_data(
            organization, **{"new_person-family_name": "Kpowbié", "new_person-title": "CEO"}
        ),
    )

    assert response.status_code == 200
    assert "Say where this person holds this role." in response.text
    assert not Interaction.objects.exists()


def test_the_meeting_form_offers_choosers_not_checkboxes(client, staff_user):
    factories.OrganizationFactory.create_batch(3)
    client.force_login(staff_user)

    text = client.get("/interactions/new/").text

    # The directory: a box to find by name (tests/test_choosers.py); the staff:
    # a list box with a filter.
    assert '<select name="organizations"' in text and 'name="organizations__q"' in text
    assert 'type="checkbox" name="organizations"' not in text
    assert '<select name="staff"' in text and "data-chooser" in text
    assert "crm/chooser.js" in text and "crm/choose.js" in text


def test_an_organisation_s_only_project_is_pre_filled(client, staff_user):
    visa = factories.OrganizationFactory(slug="visa")
    payments = factories.ProjectFactory()
    factories.PartnershipFactory(organization=visa, project=payments)
    client.force_login(staff_user)

    meeting = client.get("/interactions/new/?organization=visa")
    follow_up = client.get("/follow-ups/new/?organization=visa")

    assert meeting.context["form"]["projects"].value() == [payments.pk]
    assert follow_up.context["form"]["project"].value() == payments.pk


def test_an_organisation_with_two_projects_pre_fills_none(client, staff_user):
    visa = factories.OrganizationFactory(slug="visa")
    factories.PartnershipFactory(organization=visa)
    factories.PartnershipFactory(organization=visa)
    client.force_login(staff_user)

    assert (
        client.get("/follow-ups/new/?organization=visa").context["form"]["project"].value() is None
    )
