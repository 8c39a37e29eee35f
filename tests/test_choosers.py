"""Choosers over the directory: forms that render only what is chosen (issue 22).

A form with a chooser costs the same at 50 organisations as at 500: it lists
the records chosen, never the table. The records to choose from come from
``/choose/<kind>/?q=…``, bounded like the staff search (a few statements
whatever the word); without JavaScript, a name typed in the chooser's box is
looked up when the form is sent. What is posted is checked by primary key.
"""

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import choosers
from crm.models import Interaction, Organization, Person
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def add_directory(count: int) -> None:
    """Add ``count`` organisations and as many people, in two statements."""
    start = Organization.objects.count()
    Organization.objects.bulk_create(
        Organization(slug=f"bulk-{start + n}", name=f"Bulk company {start + n}", kind="company")
        for n in range(count)
    )
    start = Person.objects.count()
    Person.objects.bulk_create(
        Person(slug=f"bulk-{start + n}", given_name="Bulk", family_name=f"Person {start + n}")
        for n in range(count)
    )


def options(text: str) -> int:
    return len(re.findall(r"<option\b", text))


def render(client, url: str) -> tuple[int, int]:
    """Return the statements a page costs and the options it renders."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), options(response.text)


# Forms: only what is chosen.


FORMS = [
    "/interactions/new/",
    "/interactions/new/?organization=visa",
    "/follow-ups/new/",
    "/roles/new/",
    "/agreements/new/",
    "/commitments/new/",
    "/duplicates/",
]


@pytest.mark.parametrize("url", FORMS)
def test_a_form_costs_the_same_at_50_and_at_500_records(client, coordinator, url):
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    factories.PartnershipFactory(organization=visa)
    client.force_login(coordinator)
    add_directory(50)
    small = render(client, url)

    add_directory(450)
    large = render(client, url)

    assert large == small
    # Staff, projects, kinds and priorities: a few dozen options, never the directory.
    assert large[1] < 60


def test_the_meeting_form_lists_only_the_organisation_it_was_opened_for(client, staff_user):
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(staff_user)

    text = client.get("/interactions/new/?organization=visa").text

    chosen = re.search(r'<select name="organizations".*?</select>', text, re.S).group(0)
    assert f'<option value="{visa.pk}" selected>Visa</option>' in chosen
    assert "Mastercard" not in text
    assert 'name="organizations__q"' in text
    assert 'data-choose-url="/choose/organizations/"' in text
    assert '<script src="/static/crm/choose.js" defer>' in text


def test_an_edit_form_shows_what_was_chosen(client, staff_user):
    visa = factories.OrganizationFactory(name="Visa")
    factories.OrganizationFactory(name="Mastercard")
    person = factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    interaction = factories.InteractionFactory(organizations=[visa])
    interaction.people.add(person)
    client.force_login(staff_user)

    text = client.get(f"/interactions/{interaction.slug}/edit/").text

    assert f'<option value="{visa.pk}" selected>Visa</option>' in text
    assert f'<option value="{person.pk}" selected>Stéphane Kpowbié</option>' in text
    assert "Mastercard" not in text


# Posting: checked by primary key.


def meeting(**extra) -> dict:
    return {
        "kind": "meeting",
        "title": "Rencontre avec Visa",
        "occurred_on": "2026-01-14",
        "date_precision": "day",
        "follow_ups-TOTAL_FORMS": "0",
        "follow_ups-INITIAL_FORMS": "0",
        **extra,
    }


def test_a_meeting_is_saved_with_the_organisations_posted_by_key(client, staff_user):
    visa = factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)

    response = client.post("/interactions/new/", meeting(organizations=[visa.pk]))

    assert response.status_code == 302
    assert list(Interaction.objects.get().organizations.all()) == [visa]


@pytest.mark.parametrize(
    "value", ["abc", "999999", "-1", "1.5", "9" * 30, "' OR 1=1 --", "%", "<b>x</b>"]
)
def test_a_bad_key_is_a_field_error_never_a_server_error(client, staff_user, value):
    factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)

    response = client.post(
        "/interactions/new/",
        meeting(
            organizations=[value],
            **{
                "follow_ups-TOTAL_FORMS": "1",
                "follow_ups-0-title": "Envoyer la note",
                "follow_ups-0-organization": value,
            },
        ),
    )

    assert response.status_code == 200
    assert "Nothing was saved" in response.text
    assert not Interaction.objects.exists()


def test_without_javascript_a_name_typed_chooses_the_one_record_it_means(client, staff_user):
    visa = factories.OrganizationFactory(name="Visa")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(staff_user)

    response = client.post("/interactions/new/", meeting(organizations__q="visa"))

    assert response.status_code == 302
    assert list(Interaction.objects.get().organizations.all()) == [visa]


def test_without_javascript_a_name_several_share_offers_them_to_choose(client, staff_user):
    first = factories.OrganizationFactory(name="Visa Africa")
    second = factories.OrganizationFactory(name="Visa Europe")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(staff_user)

    response = client.post("/interactions/new/", meeting(organizations__q="visa"))

    assert response.status_code == 200
    assert "Several records match “visa”: choose one in the list." in response.text
    chosen = re.search(r'<select name="organizations".*?</select>', response.text, re.S).group(0)
    assert f'<option value="{first.pk}">Visa Africa</option>' in chosen
    assert f'<option value="{second.pk}">Visa Europe</option>' in chosen
    assert "Mastercard" not in chosen
    # Picking one of them and sending again saves it.
    response = client.post("/interactions/new/", meeting(organizations=[second.pk]))
    assert list(Interaction.objects.get().organizations.all()) == [second]


def test_without_javascript_the_exact_name_wins_over_longer_ones(client, staff_user):
    visa = factories.OrganizationFactory(name="Visa")
    factories.OrganizationFactory(name="Visa Africa")
    client.force_login(staff_user)

    response = client.post("/interactions/new/", meeting(organizations__q="VISA"))

    assert response.status_code == 302
    assert list(Interaction.objects.get().organizations.all()) == [visa]


def test_without_javascript_a_name_nobody_has_is_an_error(client, staff_user):
    factories.OrganizationFactory(name="Visa")
    client.force_login(staff_user)

    response = client.post("/interactions/new/", meeting(organizations__q="Zanzibar\x00 Telecom"))

    assert response.status_code == 200
    assert "Nothing matches" in response.text
    assert not Interaction.objects.exists()


def test_a_chooser_keeps_to_the_field_s_own_records(client, staff_user):
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    factories.PartnershipFactory(organization=visa)
    other = factories.PartnershipFactory(organization=factories.OrganizationFactory(name="Visa 2"))
    client.force_login(staff_user)

    # The commitment form opened for Visa offers Visa's partnerships only.
    response = client.post(
        "/commitments/new/?organization=visa",
        {"partnership": other.pk, "kind": "financial", "description": "x"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.text


# The endpoint.


def test_the_endpoint_needs_a_login_and_the_right_to_view(client, reader, django_user_model):
    response = client.get("/choose/organizations/?q=visa")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get("/choose/organizations/?q=visa").status_code == 403

    client.force_login(reader)
    assert client.get("/choose/organizations/?q=visa").status_code == 200
    assert client.get("/choose/projects/?q=visa").status_code == 404


def test_the_endpoint_returns_at_most_twenty_best_first(client, reader):
    factories.OrganizationFactory(name="Visa", city="San Francisco", country="US")
    for n in range(30):
        factories.OrganizationFactory(name=f"Visa partner {n:02d}")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(reader)

    results = client.get("/choose/organizations/?q=visa").json()["results"]

    assert len(results) == choosers.LIMIT == 20
    assert results[0] == {
        "id": Organization.objects.get(name="Visa").pk,
        "label": "Visa",
        "hint": "San Francisco, US",
    }
    assert all(result["label"].startswith("Visa") for result in results)


def test_the_endpoint_ignores_accents_and_case_and_tells_people_apart(client, reader):
    person = factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    factories.AffiliationFactory(
        person=person, organization=factories.OrganizationFactory(name="Visa")
    )
    client.force_login(reader)

    results = client.get("/choose/people/?q=STEPHANE").json()["results"]

    assert results == [{"id": person.pk, "label": "Stéphane Kpowbié", "hint": "Visa"}]


def test_the_endpoint_finds_partnerships_by_their_organisation(client, reader):
    partnership = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name="Visa")
    )
    factories.PartnershipFactory()
    client.force_login(reader)

    results = client.get("/choose/partnerships/?q=visa").json()["results"]

    assert [result["id"] for result in results] == [partnership.pk]


# Session, user and the two reads of permissions; then the kind's own reads:
# one ranked read (people: and their current roles; partnerships: the
# organisations, then theirs).
@pytest.mark.parametrize(
    ("kind", "rare", "statements"),
    [
        ("organizations", "company 7", 5),
        ("people", "person 7", 6),
        ("partnerships", "company 3", 6),
    ],
)
def test_the_endpoint_costs_the_same_for_a_common_word_and_a_rare_one(
    client, reader, kind, rare, statements
):
    add_directory(60)
    for n in range(5):
        factories.PartnershipFactory(organization=Organization.objects.get(slug=f"bulk-{n}"))
    client.force_login(reader)

    found = {}
    for query in ("bulk", rare):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/choose/{kind}/", {"q": query})
        assert response.status_code == 200
        found[query] = response.json()["results"]
        assert len(captured) == statements, (query, captured.captured_queries)

    assert len(found["bulk"]) == (5 if kind == "partnerships" else choosers.LIMIT)
    # The rare word's record first (names that merely look alike follow).
    assert found[rare][0]["label"].split(" — ")[0].endswith(rare[-1])


def test_an_empty_query_reads_nothing_from_the_directory(client, reader):
    client.force_login(reader)
    client.get("/choose/organizations/")

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/choose/organizations/?q=%20%20")

    assert response.json() == {"results": []}
    assert not any("crm_organization" in query["sql"] for query in captured.captured_queries)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?q=" + "a" * 101, 400),
        ("?q=visa&q=master", 400),
        ("?q=visa%00", 400),
        ("?q=%25%25%25", 200),
        ("?q=_", 200),
        ("?q=%27%3B%20DROP%20TABLE%20crm_organization%3B--", 200),
        ("?q=%F0%9F%98%80", 200),
        ("?q=%E2%80%AE", 200),
        ("?q=" + "mot%20" * 16, 200),
        ("?x=1", 200),
    ],
)
def test_hostile_queries_get_an_answer_never_a_server_error(client, reader, query, status):
    factories.OrganizationFactory(name="Visa")
    client.force_login(reader)

    response = client.get(f"/choose/organizations/{query}")

    assert response.status_code == status
    if status == 200:
        assert response.json()["results"] == []


def test_the_endpoint_answers_only_get(client, reader):
    client.force_login(reader)

    assert client.post("/choose/organizations/?q=visa").status_code == 405
