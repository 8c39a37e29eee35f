"""The pages speak the language the user chose, else French; the French reads naturally."""

import re

import polib
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import translation

from crm import roles, services
from crm.models import Agreement, Partnership, StaffProfile
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


def english_browser() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")


def test_without_a_choice_the_pages_are_french_even_on_an_english_browser(staff_user):
    client = english_browser()
    client.force_login(staff_user)

    response = client.get("/")

    assert response.headers["Content-Language"] == "fr"
    assert "Mes suivis" in response.text


def test_switching_language_saves_the_choice_on_the_profile(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    profile = StaffProfile.objects.get(user=staff_user)
    assert (profile.interface_language, profile.language) == ("en", "en")
    assert "My follow-ups" in client.get("/").text


def test_the_chosen_language_wins_over_the_browser_s_on_another_browser(staff_user):
    StaffProfile.objects.create(user=staff_user, interface_language="fr")
    client = english_browser()
    client.cookies["django_language"] = "en"  # Chosen on this browser before logging in.
    client.force_login(staff_user)

    assert "Mes suivis" in client.get("/").text


def test_a_user_who_chose_english_gets_english_on_a_french_browser(staff_user):
    StaffProfile.objects.create(user=staff_user, interface_language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(staff_user)

    assert "My follow-ups" in client.get("/").text


def test_the_login_page_is_french_unless_english_was_chosen():
    client = english_browser()
    assert client.get("/accounts/login/").headers["Content-Language"] == "fr"
    client.cookies["django_language"] = "en"
    assert client.get("/accounts/login/").headers["Content-Language"] == "en"


def test_the_api_still_answers_in_the_language_it_is_asked_for(coordinator):
    client = english_browser()
    client.force_login(coordinator)

    response = client.get("/api/v1/organizations/")

    assert response.headers["Content-Language"] == "en"


def test_a_bad_language_is_ignored(client, staff_user):
    client.force_login(staff_user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert StaffProfile.objects.filter(user=staff_user, interface_language="xx").count() == 0
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("name", "french"),
    [
        (roles.COORDINATION, "Coordination"),
        (roles.STAFF, "Personnel"),
        (roles.READ_ONLY, "Lecture seule"),
    ],
)
def test_group_names_are_shown_translated(name, french):
    group = Group.objects.get(name=name)
    with translation.override("fr"):
        assert str(group) == french
    with translation.override("en"):
        assert str(group) == name


def test_the_admin_user_form_shows_the_roles_in_french(client, coordinator):
    coordinator.is_superuser = True
    coordinator.save()
    client.force_login(coordinator)

    response = client.get(f"/admin/auth/user/{coordinator.pk}/change/")

    assert "Lecture seule" in response.text and "Personnel" in response.text


def test_french_wording(client, staff_user):
    project = factories.ProjectFactory(code="pay", name="Paiements digitaux")
    partnership = factories.PartnershipFactory(
        project=project, stage=Partnership.Stage.AGREEMENT, organization__slug="visa"
    )
    services.partnership_change_stage(
        partnership=partnership, to_stage=Partnership.Stage.ACTIVE, by=staff_user
    )
    client.force_login(staff_user)

    with translation.override("fr"):
        assert str(Partnership.Stage.ACTIVE.label) == "Actif"
    organization = client.get("/organizations/visa/").text
    assert "Paiements digitaux\u00a0: Protocole d’accord signé → Actif" in organization
    assert "Pipeline" not in client.get("/projects/pay/").text


def test_the_admin_history_has_no_english_heading_and_no_none(client, coordinator):
    coordinator.is_superuser = True
    coordinator.save()
    organization = factories.OrganizationFactory()
    services.record_update(
        instance=organization, changes={"city": "Lomé"}, by=coordinator, version=None
    )
    client.force_login(coordinator)

    response = client.get(f"/admin/crm/organization/{organization.pk}/history/")

    assert response.status_code == 200
    assert "Modifications" in response.text
    assert ">Changes<" not in response.text
    assert "None" not in response.text


def test_the_admin_titles_read_as_french_whatever_the_model_s_name(client, coordinator):
    coordinator.is_superuser = True
    coordinator.save()
    commitment = factories.CommitmentFactory(amount="300000", currency="USD")
    client.force_login(coordinator)

    change = client.get(f"/admin/crm/commitment/{commitment.pk}/change/").text
    add = client.get("/admin/auth/user/add/").text

    assert "Modification de engagement" not in change
    assert "Modification\u00a0: engagement" in change
    assert "Ajout de utilisateur" not in add
    assert "Ajout\u00a0: utilisateur" in add
    assert "300,000.00" not in change


def test_an_amount_reads_in_the_reader_s_language():
    commitment = factories.CommitmentFactory(amount="300000", currency="USD")

    with translation.override("fr"):
        french = str(commitment)
    with translation.override("en"):
        english = str(commitment)

    assert french.endswith("300\u202f000,00 USD") or french.endswith("300\u00a0000,00 USD")
    assert english.endswith("300,000.00 USD")


def test_a_draft_agreement_is_not_called_a_project_and_an_mou_has_one_name():
    with translation.override("fr"):
        assert str(Agreement.Status.DRAFT.label) == "En rédaction"
        assert str(Partnership.Stage.AGREEMENT.label) == "Protocole d’accord signé"
        assert str(Agreement.Kind.MOU.label) == "Protocole d’accord"


def test_the_catalogue_uses_curly_apostrophes_and_no_break_spaces_before_colons():
    catalogue = polib.pofile(str(settings.BASE_DIR / "crm/locale/fr/LC_MESSAGES/django.po"))
    texts = [
        text
        for entry in catalogue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
        if text
    ]

    assert [text for text in texts if re.search(r"\w'\w", text)] == []
    assert [text for text in texts if re.search(r"(?<=\w) [:;?!](\s|$)", text)] == []
    assert [text for text in texts if re.search(r"\w\((e|s)\)", text)] == []
