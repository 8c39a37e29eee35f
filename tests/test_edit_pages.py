"""Correcting a meeting, a commitment and an agreement from the staff pages (issue 19).

Each edit page is opened on the record's version, saves only what changed
through the concept's service (with a history row), refuses a copy opened on an
older version, and leaves states (a commitment's or agreement's status) to
their own actions.
"""

from datetime import date, datetime, time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from crm import services
from crm.models import Agreement, AgreementParty, Commitment
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def form_data(client, url: str) -> dict:
    """Return what the edit page's form would post, untouched, version included."""
    form = client.get(url).context["form"]
    data = {}
    for field in form:
        value = field.value()
        if value is None:
            value = ""
        if isinstance(value, list | tuple):
            value = [str(getattr(item, "pk", item)) for item in value]
        elif hasattr(value, "pk"):
            value = str(value.pk)
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        data[field.html_name] = value
    return data


@pytest.fixture
def meeting(db):
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    interaction = factories.InteractionFactory(
        slug="cca-session", title="CCA session", city="Washington", organizations=[visa]
    )
    return interaction


@pytest.fixture
def commitment(db):
    partnership = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name="Mastercard"),
        project=factories.ProjectFactory(code="payments", name="Digital payments"),
    )
    return services.commitment_create(
        by=None,
        partnership=partnership,
        kind=Commitment.Kind.FINANCING,
        description="Support for the payment switch",
        amount=Decimal("1000.00"),
        currency="USD",
    )


@pytest.fixture
def agreement(db):
    return services.agreement_create(
        by=None,
        slug="mou-visa",
        kind=Agreement.Kind.MOU,
        title="MoU with Visa",
        parties=[
            factories.OrganizationFactory(slug="visa", name="Visa"),
            factories.OrganizationFactory(slug="mef", name="Ministry of Economy"),
        ],
    )


def edit_url(kind: str, record) -> str:
    key = record.pk if kind == "commitments" else record.slug
    return f"/{kind}/{key}/edit/"


def record_url(kind: str, record) -> str:
    key = record.pk if kind == "commitments" else record.slug
    return f"/{kind}/{key}/"


# The record of each kind, made by the fixture of that name.
KINDS = {"interactions": "meeting", "commitments": "commitment", "agreements": "agreement"}


@pytest.fixture(params=list(KINDS))
def any_record(request):
    kind = request.param
    return kind, request.getfixturevalue(KINDS[kind])


# --- Who may edit -------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, any_record):
    kind, record = any_record
    url = edit_url(kind, record)

    assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.post(url, {})["Location"].startswith("/accounts/login/")


def test_a_reader_gets_the_403_page_and_saves_nothing(client, reader, any_record):
    kind, record = any_record
    url = edit_url(kind, record)
    client.force_login(reader)
    before = record.history.count()

    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "Changed", "description": "Changed"}).status_code == 403
    assert record.history.count() == before


@pytest.mark.parametrize("user", ["staff_user", "coordinator"])
def test_the_record_page_links_to_its_edit_page_for_those_who_may_edit(
    client, any_record, user, request
):
    kind, record = any_record
    client.force_login(request.getfixturevalue(user))

    page = client.get(record_url(kind, record))

    assert f'href="{edit_url(kind, record)}"' in page.text
    assert client.get(edit_url(kind, record)).status_code == 200


def test_the_record_page_shows_a_reader_no_edit_link(client, reader, any_record):
    kind, record = any_record
    client.force_login(reader)

    page = client.get(record_url(kind, record))

    assert page.status_code == 200
    assert edit_url(kind, record) not in page.text


def test_a_form_posted_without_its_version_is_refused(client, staff_user, any_record):
    kind, record = any_record
    client.force_login(staff_user)
    url = edit_url(kind, record)
    data = {**form_data(client, url), "version": ""}

    response = client.post(url, data)

    assert response.status_code == 200
    assert "The form lost track of its version" in response.text


# Written as sent on the wire (percent-encoded): a NUL, a lone surrogate in
# broken UTF-8, a text far over the field's length.
@pytest.mark.parametrize("value", ["a%00b", "%ED%A0%80", "x" * 5000])
def test_hostile_text_in_an_edit_form_is_a_form_error_never_a_500(staff_user, any_record, value):
    kind, record = any_record
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    url = edit_url(kind, record)
    name = "description" if kind == "commitments" else "title"
    before = getattr(record, name)
    data = {**form_data(client, url), name: "HOSTILE"}
    body = urlencode(data, doseq=True).replace("HOSTILE", value)

    response = client.post(url, body, content_type="application/x-www-form-urlencoded")

    # Refused with a field error, or (broken UTF-8 read as U+FFFD, a long
    # description) stored as plain text: never a server error, never a NUL.
    assert response.status_code in (200, 302, 400)
    response.content.decode("utf-8")
    record.refresh_from_db()
    stored = getattr(record, name)
    stored.encode("utf-8")
    assert "\x00" not in stored
    if response.status_code != 302:
        assert stored == before


def test_a_tampered_choice_or_key_is_a_field_error(client, staff_user, any_record):
    kind, record = any_record
    client.force_login(staff_user)
    url = edit_url(kind, record)
    data = form_data(client, url)

    response = client.post(url, {**data, "kind": "<script>", "source": "99999"})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"kind", "source"} - {
        "source" if kind == "interactions" else ""
    }
    assert "<script>" not in response.text


# --- Meetings -------------------------------------------------------------------------


def test_the_meeting_form_opens_filled_with_the_meeting(
    client, staff_user, meeting, django_assert_max_num_queries
):
    meeting.starts_at = timezone.make_aware(datetime(2023, 9, 25, 14, 30))
    meeting.save()
    # Choices and links are one query each, however many there are.
    factories.OrganizationFactory.create_batch(3)
    meeting.people.set(factories.PersonFactory.create_batch(3))
    client.force_login(staff_user)

    with django_assert_max_num_queries(14):
        response = client.get("/interactions/cca-session/edit/")

    form = response.context["form"]
    assert response.status_code == 200
    assert form["title"].value() == "CCA session"
    assert form["city"].value() == "Washington"
    assert form["time"].value() == time(14, 30)
    assert [str(pk) for pk in form["organizations"].value()] == [
        str(meeting.organizations.get().pk)
    ]
    # The follow-up rows and the new person belong to logging, not to correcting.
    assert "follow_ups-TOTAL_FORMS" not in response.text
    assert 'id="new-person"' not in response.text


def test_correcting_a_meeting_saves_only_what_changed_with_a_history_row(
    client, staff_user, meeting
):
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    data = form_data(client, url)
    before = meeting.history.count()

    response = client.post(url, {**data, "outcome": "Visa will send a proposal."})

    assert response.status_code == 302
    assert response["Location"] == "/interactions/cca-session/"
    meeting.refresh_from_db()
    assert meeting.outcome == "Visa will send a proposal."
    assert (meeting.title, meeting.city, meeting.location) == ("CCA session", "Washington", None)
    assert meeting.history.count() == before + 1
    newest = meeting.history.first()
    assert newest.history_user == staff_user
    assert newest.prev_record.outcome == ""
    # The page then shows the new value: no admin needed.
    assert "Visa will send a proposal." in client.get(response["Location"]).text


def test_saving_an_unchanged_meeting_writes_nothing(client, staff_user, meeting):
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    before = meeting.history.count()

    assert client.post(url, form_data(client, url)).status_code == 302

    assert meeting.history.count() == before


def test_the_participants_of_a_meeting_change_with_a_history_row_naming_them(
    client, staff_user, meeting
):
    mastercard = factories.OrganizationFactory(name="Mastercard")
    project = factories.ProjectFactory(name="Digital payments")
    awa = factories.PersonFactory(given_name="Awa", family_name="Mensah")
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    data = form_data(client, url)
    old_version = data["version"]

    response = client.post(
        url,
        {
            **data,
            "organizations": [mastercard.pk],
            "projects": [project.pk],
            "people": [awa.pk],
            "staff": [staff_user.pk],
        },
    )

    assert response.status_code == 302
    assert list(meeting.organizations.all()) == [mastercard]
    assert list(meeting.projects.all()) == [project]
    assert list(meeting.people.all()) == [awa]
    assert list(meeting.staff.all()) == [staff_user]
    newest = meeting.history.first()
    assert newest.history_user == staff_user
    reason = newest.history_change_reason
    assert "Organisations: +Mastercard, −Visa" in reason
    assert "+Digital payments" in reason
    # People are counted, not named: their names stay with their own record.
    assert "People met: +1" in reason
    assert "Mensah" not in reason
    # The version moved on: a copy opened before is now stale.
    assert client.post(url, {**data, "version": old_version}).status_code == 200


def test_a_meeting_keeps_at_least_one_organisation(client, staff_user, meeting):
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    data = {**form_data(client, url), "organizations": []}

    response = client.post(url, data)

    assert response.status_code == 200
    assert "organizations" in response.context["form"].errors
    assert meeting.organizations.count() == 1


def test_a_stale_meeting_form_is_refused_keeping_what_was_typed(
    client, staff_user, coordinator, meeting
):
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    data = form_data(client, url)
    services.interaction_update(
        interaction=meeting, changes={"summary": "Newer summary."}, by=coordinator, version=None
    )
    mastercard = factories.OrganizationFactory(name="Mastercard")

    stale = client.post(url, {**data, "city": "New York", "organizations": [str(mastercard.pk)]})

    assert stale.status_code == 200
    assert "changed this record on" in stale.text
    assert 'value="New York"' in stale.text
    meeting.refresh_from_db()
    assert (meeting.city, meeting.summary) == ("Washington", "Newer summary.")
    assert [o.name for o in meeting.organizations.all()] == ["Visa"]


def test_an_invalid_meeting_form_shows_field_errors(client, staff_user, meeting):
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    data = form_data(client, url)

    response = client.post(url, {**data, "title": "", "occurred_on": "31/31/2023"})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"title", "occurred_on"}
    assert "Nothing was saved" in response.text
    meeting.refresh_from_db()
    assert meeting.title == "CCA session"


def test_a_meeting_time_kept_to_the_second_is_not_changed_by_saving_the_minute(
    client, staff_user, meeting
):
    meeting.starts_at = timezone.make_aware(datetime(2023, 9, 25, 14, 30, 15))
    meeting.save()
    client.force_login(staff_user)
    url = "/interactions/cca-session/edit/"
    before = meeting.history.count()

    client.post(url, form_data(client, url))

    meeting.refresh_from_db()
    assert meeting.starts_at.second == 15
    assert meeting.history.count() == before


# --- Commitments ------------------------------------------------------------------------


def test_the_commitment_form_opens_filled_without_its_status(
    client, staff_user, commitment, django_assert_max_num_queries
):
    client.force_login(staff_user)

    factories.PartnershipFactory.create_batch(3)

    with django_assert_max_num_queries(7):
        response = client.get(f"/commitments/{commitment.pk}/edit/")

    form = response.context["form"]
    assert form["description"].value() == "Support for the payment switch"
    assert form["amount"].value() == Decimal("1000.00")
    assert form["partnership"].value() == commitment.partnership_id
    assert "status" not in form.fields
    assert "amount_delivered" not in form.fields


def test_correcting_a_commitment_saves_only_what_changed(client, staff_user, commitment):
    client.force_login(staff_user)
    url = f"/commitments/{commitment.pk}/edit/"
    data = form_data(client, url)
    before = commitment.history.count()

    response = client.post(url, {**data, "amount": "2500.00", "status": "delivered"})

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert commitment.amount == Decimal("2500.00")
    # The status is no field of this form: a posted one is ignored.
    assert commitment.status == Commitment.Status.ANNOUNCED
    assert commitment.history.count() == before + 1
    newest = commitment.history.first()
    assert (newest.history_user, newest.prev_record.amount) == (staff_user, Decimal("1000.00"))
    assert "2,500.00" in client.get(response["Location"]).text


def test_a_stale_commitment_form_is_refused(client, staff_user, coordinator, commitment):
    client.force_login(staff_user)
    url = f"/commitments/{commitment.pk}/edit/"
    data = form_data(client, url)
    services.commitment_change_status(
        commitment=commitment, to_status=Commitment.Status.WITHDRAWN, by=coordinator
    )

    stale = client.post(url, {**data, "description": "Typed on an old copy"})

    assert stale.status_code == 200
    assert "changed this record on" in stale.text
    assert "Typed on an old copy" in stale.text
    commitment.refresh_from_db()
    assert commitment.description == "Support for the payment switch"


def test_an_invalid_commitment_form_shows_field_errors(client, staff_user, commitment):
    client.force_login(staff_user)
    url = f"/commitments/{commitment.pk}/edit/"
    data = form_data(client, url)

    response = client.post(url, {**data, "amount": "lots", "description": ""})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"amount", "description"}
    commitment.refresh_from_db()
    assert commitment.amount == Decimal("1000.00")


def test_a_demonstration_commitment_is_editable_as_any_other(client, staff_user, commitment):
    Commitment.objects.filter(pk=commitment.pk).update(is_demo=True)
    client.force_login(staff_user)
    url = f"/commitments/{commitment.pk}/edit/"

    response = client.post(url, {**form_data(client, url), "description": "Corrected"})

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert (commitment.description, commitment.is_demo) == ("Corrected", True)


# --- Agreements ---------------------------------------------------------------------------


def test_the_agreement_form_opens_filled_with_its_parties(
    client, staff_user, agreement, django_assert_max_num_queries
):
    client.force_login(staff_user)

    agreement.projects.set(factories.ProjectFactory.create_batch(3))

    with django_assert_max_num_queries(11):
        response = client.get("/agreements/mou-visa/edit/")

    form = response.context["form"]
    assert form["title"].value() == "MoU with Visa"
    assert sorted(form["parties"].value()) == sorted(
        agreement.parties.values_list("organization_id", flat=True)
    )
    assert "status" not in form.fields


def test_correcting_an_agreement_saves_only_what_changed(client, staff_user, agreement):
    client.force_login(staff_user)
    url = "/agreements/mou-visa/edit/"
    data = form_data(client, url)
    before = agreement.history.count()

    response = client.post(
        url, {**data, "expires_on": "2027-12-31", "status": Agreement.Status.SIGNED}
    )

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.expires_on == date(2027, 12, 31)
    assert agreement.status == Agreement.Status.DRAFT
    assert agreement.history.count() == before + 1
    assert agreement.history.first().history_user == staff_user
    assert "2027" in client.get(response["Location"]).text


def test_an_agreement_gains_and_loses_parties_and_projects_with_history(
    client, staff_user, agreement
):
    cca = factories.OrganizationFactory(name="CCA")
    project = factories.ProjectFactory(name="Connectivity")
    mef = agreement.parties.get(organization__slug="mef").organization
    client.force_login(staff_user)
    url = "/agreements/mou-visa/edit/"
    data = form_data(client, url)

    response = client.post(url, {**data, "parties": [mef.pk, cca.pk], "projects": [project.pk]})

    assert response.status_code == 302
    assert sorted(p.organization.name for p in agreement.parties.all()) == [
        "CCA",
        "Ministry of Economy",
    ]
    assert list(agreement.projects.all()) == [project]
    reason = agreement.history.first().history_change_reason
    assert "Parties: +CCA, −Visa" in reason
    assert "Projects: +Connectivity" in reason


def test_a_party_that_signed_is_not_removed(client, staff_user, agreement):
    visa = AgreementParty.objects.get(agreement=agreement, organization__slug="visa")
    services.agreement_party_sign(party=visa, signed_on=date(2023, 10, 2), by=None)
    mef = agreement.parties.get(organization__slug="mef").organization
    client.force_login(staff_user)
    url = "/agreements/mou-visa/edit/"
    data = form_data(client, url)

    response = client.post(url, {**data, "parties": [mef.pk], "title": "Renamed"})

    assert response.status_code == 200
    assert "A party that signed or has signatories cannot be removed: Visa." in response.text
    assert agreement.parties.count() == 2
    agreement.refresh_from_db()
    assert agreement.title == "MoU with Visa"


def test_a_stale_agreement_form_is_refused(client, staff_user, coordinator, agreement):
    client.force_login(staff_user)
    url = "/agreements/mou-visa/edit/"
    data = form_data(client, url)
    services.agreement_change_status(
        agreement=agreement, to_status=Agreement.Status.UNDER_REVIEW, by=coordinator
    )

    stale = client.post(url, {**data, "title": "Typed on an old copy"})

    assert stale.status_code == 200
    assert "changed this record on" in stale.text
    assert 'value="Typed on an old copy"' in stale.text
    agreement.refresh_from_db()
    assert agreement.title == "MoU with Visa"


def test_an_invalid_agreement_form_shows_field_errors(client, staff_user, agreement):
    client.force_login(staff_user)
    url = "/agreements/mou-visa/edit/"
    data = form_data(client, url)

    response = client.post(
        url, {**data, "effective_on": "2027-01-01", "expires_on": "2026-01-01", "parties": []}
    )

    assert response.status_code == 200
    assert "parties" in response.context["form"].errors
    agreement.refresh_from_db()
    assert agreement.effective_on is None


def test_the_services_refuse_a_state_field(agreement, commitment):
    with pytest.raises(ValueError, match="status"):
        services.agreement_update(
            agreement=agreement, changes={"status": "signed"}, by=None, version=None
        )
    with pytest.raises(ValueError, match="status"):
        services.commitment_update(
            commitment=commitment, changes={"status": "delivered"}, by=None, version=None
        )
