"""The source fixture holds the communiqué's facts, and loaddata names a bad row."""

import json

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import (
    Affiliation,
    Interaction,
    InteractionOrganization,
    InteractionProject,
    Mission,
    MissionMember,
    Organization,
    Partnership,
    Person,
    Programme,
    Project,
    Source,
    StageChange,
)

FIXTURE = settings.BASE_DIR / "fixtures" / "compact_togo_2023.json"
SOURCE_SLUG = "communique-compact-togo-2023-10"
AKAYA = "stephane-kpowbie-tchasso-akaya"

SOURCED_MODELS = [
    Organization,
    Person,
    Affiliation,
    Programme,
    Project,
    Mission,
    Interaction,
    Partnership,
]


@pytest.fixture
def facts(db) -> Source:
    call_command("loaddata", str(FIXTURE), verbosity=0)
    return Source.objects.get(slug=SOURCE_SLUG)


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("crm").models.values()
    }


def test_source_fixture_loads_into_an_empty_database(facts):
    assert facts.publisher == "Coordination nationale du programme Compact pour le Togo"
    assert facts.kind == Source.Kind.PRESS_RELEASE
    assert facts.published_on_precision == "month"
    assert facts.url == ""


def test_fixture_holds_exactly_the_twelve_organisations_of_the_source(facts):
    assert set(Organization.objects.values_list("slug", flat=True)) == {
        "mcc",
        "cca",
        "mastercard",
        "visa",
        "amazonbloc",
        "stanford",
        "venture-capital-firms",
        "incubators",
        "port-of-los-angeles",
        "coordination-compact-togo",
        "ministere-economie-numerique",
        "ministere-economie-finances",
    }


def test_fixture_holds_exactly_the_two_people_named_in_the_source(facts):
    assert set(Person.objects.values_list("slug", flat=True)) == {"cina-lawson", AKAYA}


def test_fixture_holds_three_ict_projects_and_no_energy_project(facts):
    assert set(Project.objects.values_list("code", flat=True)) == {
        "connectivite",
        "hub-innovation-digital",
        "paiements-digitaux",
    }
    assert set(Project.objects.values_list("sector", flat=True)) == {Project.Sector.ICT}
    assert set(Project.objects.values_list("programme__slug", flat=True)) == {"compact-togo"}


def test_fixture_holds_one_mission_with_two_delegation_members(facts):
    mission = Mission.objects.get()
    assert mission.slug == "mission-usa-2023-09"
    # The source says the meetings were held under the CCA's auspices, not who
    # organised the mission.
    assert mission.organizer is None
    assert "sous les auspices du Corporate Council on Africa" in mission.description
    assert mission.city_list == ["Washington", "San Francisco", "Los Angeles"]
    assert set(mission.delegation.values_list("person__slug", flat=True)) == {
        "cina-lawson",
        AKAYA,
    }


def test_fixture_holds_the_five_meetings_of_the_mission(facts):
    assert Interaction.objects.filter(mission__slug="mission-usa-2023-09").count() == 5
    assert Interaction.objects.count() == 5
    cca_meeting = Interaction.objects.get(slug="rencontres-cca-2023-09")
    assert set(cca_meeting.organizations.values_list("slug", flat=True)) == {
        "cca",
        "mastercard",
        "visa",
        "amazonbloc",
    }
    for interaction in Interaction.objects.all():
        assert interaction.projects.count() == 3
        assert interaction.people.count() == 0
        assert interaction.outcome == ""


def test_every_fixture_record_cites_the_communique(facts):
    for model in SOURCED_MODELS:
        assert model.objects.exists(), model
        assert not model.objects.exclude(source=facts).exists(), model


def test_fixture_gives_no_contact_details_for_anyone(facts):
    assert not Person.objects.exclude(email="").exists()
    assert not Person.objects.exclude(phone="").exists()


def test_amazonbloc_is_recorded_as_printed_and_flagged_for_verification(facts):
    amazonbloc = Organization.objects.get(slug="amazonbloc")
    assert amazonbloc.name == "AmazonBloc Inc"
    assert amazonbloc.needs_verification
    assert amazonbloc.verification_note


def test_unnamed_venture_capital_firms_and_incubators_are_placeholders(facts):
    assert set(
        Organization.objects.filter(is_identified=False).values_list("slug", flat=True)
    ) == {"venture-capital-firms", "incubators"}


def test_national_coordinator_holds_two_active_affiliations_one_primary(facts):
    affiliations = Affiliation.objects.filter(person__slug=AKAYA)
    assert {(a.organization.slug, a.is_primary, a.is_active) for a in affiliations} == {
        ("ministere-economie-finances", True, True),
        ("coordination-compact-togo", False, True),
    }


def test_partnerships_are_contacted_and_each_says_why_it_exists(facts):
    partnerships = Partnership.objects.all()
    assert {(p.organization.slug, p.project.code) for p in partnerships} == {
        ("mastercard", "paiements-digitaux"),
        ("visa", "paiements-digitaux"),
        ("stanford", "hub-innovation-digital"),
        ("venture-capital-firms", "hub-innovation-digital"),
        ("incubators", "hub-innovation-digital"),
    }
    assert {p.stage for p in partnerships} == {Partnership.Stage.CONTACTED}
    assert all(p.notes.strip() for p in partnerships)
    assert not StageChange.objects.exists()


def test_fixture_json_has_no_pk_and_no_integer_foreign_keys():
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for row in rows:
        assert set(row) == {"model", "fields"}, row
        model = apps.get_model(row["model"])
        assert hasattr(model, "natural_key"), row["model"]
        for name, value in row["fields"].items():
            field = model._meta.get_field(name)
            if not field.is_relation or value is None:
                continue
            keys = value if field.many_to_many else [value]
            for key in keys:
                assert isinstance(key, list), (row["model"], name, value)
                assert all(isinstance(part, str) for part in key), (row["model"], name, value)


def test_loading_the_fixture_twice_creates_no_duplicates(facts):
    before = _counts()
    call_command("loaddata", str(FIXTURE), verbosity=0)
    assert _counts() == before
    assert InteractionOrganization.objects.count() == 8
    assert InteractionProject.objects.count() == 15
    assert MissionMember.objects.count() == 2


def test_a_bad_row_names_file_model_and_natural_key_and_changes_nothing(facts, tmp_path):
    bad = tmp_path / "one_bad_row.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "model": "crm.organization",
                    "fields": {"slug": "valid-org", "name": "Valid", "kind": "company"},
                },
                {
                    "model": "crm.organization",
                    "fields": {"slug": "bogus-org", "name": "Bogus", "kind": "bogus"},
                },
            ]
        ),
        encoding="utf-8",
    )
    before = _counts()

    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(bad), verbosity=0)

    message = str(error.value)
    assert "one_bad_row.json" in message
    assert "crm.Organization" in message
    assert "('bogus-org',)" in message
    assert "kind" in message  # The database's own words: the violated constraint.
    assert _counts() == before
    assert not Organization.objects.filter(slug="valid-org").exists()


def test_a_bad_row_keyed_through_relations_is_named_by_its_natural_key(facts, tmp_path):
    bad = tmp_path / "bad_affiliation.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "model": "crm.affiliation",
                    "fields": {
                        "person": ["cina-lawson"],
                        "organization": ["mcc"],
                        "title": "Backwards",
                        "start_on": "2023-09-30",
                        "end_on": "2023-09-01",
                    },
                }
            ]
        ),
        encoding="utf-8",
    )

    with pytest.raises(
        CommandError, match=r"crm\.Affiliation .*'cina-lawson', 'mcc', 'Backwards'"
    ):
        call_command("loaddata", str(bad), verbosity=0)


def test_fixture_leaves_the_placeholders_country_empty(facts):
    placeholders = Organization.objects.filter(is_identified=False)
    assert set(placeholders.values_list("slug", flat=True)) == {
        "venture-capital-firms",
        "incubators",
    }
    assert set(placeholders.values_list("country", flat=True)) == {""}


def test_fixture_says_the_card_networks_kind_is_an_inference(facts):
    for slug in ("mastercard", "visa"):
        organization = Organization.objects.get(slug=slug)
        assert organization.kind == Organization.Kind.PAYMENT_NETWORK
        assert "déduits, non affirmés par la source" in organization.description


def test_a_deduced_country_is_marked_inferred_on_the_pages(client, coordinator):
    call_command("loaddata", str(FIXTURE), verbosity=0)
    inferred = set(
        Organization.objects.filter(country_inferred=True).values_list("slug", flat=True)
    )
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    stanford = client.get("/organizations/stanford/").content.decode()
    ministry = client.get("/organizations/ministere-economie-finances/").content.decode()

    assert {"cca", "stanford", "visa", "mastercard"} <= inferred
    assert "ministere-economie-finances" not in inferred
    assert 'US <span class="inferred"' in stanford
    assert "(inferred)" not in ministry


def test_a_language_the_source_does_not_give_is_not_known_rather_than_french(client, coordinator):
    call_command("loaddata", str(FIXTURE), verbosity=0)
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/people/cina-lawson/").content.decode()

    assert Person.objects.get(slug="cina-lawson").preferred_language == ""
    assert "<dd>not known</dd>" in page
