"""The daily loop in a real Chromium: Playwright for Python and Debian's browser.

Skipped with the reason when /usr/bin/chromium or Playwright is missing; CI sets
CRM_REQUIRE_BROWSER=1, which turns such a skip into a failure (tests/conftest.py).
Each test saves full-page screenshots under tests/screenshots/ (git-ignored).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from crm import roles
from crm.models import FollowUp, Interaction, Partnership, StageChange
from tests import factories
from tests.conftest import TODAY

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def browser_page(request, monkeypatch):
    """Return a Playwright page in Debian's Chromium, French like the unit's staff."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (requirements/dev.txt)")
    # Playwright's sync API runs an event loop in this thread, and Django then
    # refuses ORM calls from it; the test's own queries are ordinary sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        playwright = sync_playwright().start()
    except Exception as error:
        pytest.skip(f"Playwright could not start: {error}")
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        pytest.skip(f"Chromium could not start: {error}")
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    browser.close()
    # While Playwright's loop runs, Django's context-local storage gives this
    # thread other connection objects than the test's own. Close them here, in
    # that same context: left open, PostgreSQL cannot drop the test database.
    connections.close_all()
    playwright.stop()


@pytest.fixture
def role_groups(transactional_db):
    """Recreate the role groups: an earlier transactional test may have flushed them."""
    for name in roles.ROLES:
        Group.objects.get_or_create(name=name)
    roles.sync_role_permissions()


@pytest.fixture
def loop(role_groups):
    """A member of staff with an overdue follow-up on a partner of a project."""
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.STAFF))
    organization = factories.OrganizationFactory(slug="visa", name="Visa")
    project = factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")
    partnership = factories.PartnershipFactory(
        organization=organization, project=project, owner=user
    )
    interaction = factories.InteractionFactory(
        slug="cca", title="Rencontres du CCA", organizations=[organization]
    )
    interaction.projects.set([project])
    follow_up = factories.FollowUpFactory(
        title="Relancer Visa",
        organization=organization,
        project=project,
        interaction=interaction,
        assignee=user,
        due_on=TODAY - timedelta(days=3),
    )
    factories.FollowUpFactory(
        title="Préparer la note conceptuelle",
        organization=organization,
        project=project,
        assignee=user,
        due_on=TODAY + timedelta(days=4),
    )
    return {
        "user": user,
        "organization": organization,
        "project": project,
        "partnership": partnership,
        "follow_up": follow_up,
    }


def screenshot(page, request, step: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{step}.png", full_page=True)


def choose(page, field_id: str, text: str) -> None:
    """Type ``text`` into the chooser of field ``field_id`` and take its first match.

    The chooser (crm/static/crm/choose.js) stands where the field's list was:
    type, the matches come, Enter picks the first.
    """
    box = page.locator(f"#{field_id}__q")
    box.press_sequentially(text)
    page.wait_for_selector(f"#{field_id}__q[aria-expanded='true']")
    box.press("Enter")


def log_in(page, live_server, username: str = "awa") -> None:
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_staff_log_in_and_see_their_overdue_follow_up(loop, live_server, browser_page, request):
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    screenshot(page, request, "login")

    log_in(page, live_server)

    assert page.get_attribute("html", "lang") == "fr"
    assert "Mes suivis" in page.locator("main").inner_text()
    overdue = page.locator("#group-overdue")
    assert "Relancer Visa" in overdue.inner_text()
    assert "Préparer la note conceptuelle" in page.locator("#group-week").inner_text()
    screenshot(page, request, "dashboard")


def test_marking_done_moves_it_off_overdue_and_onto_the_timeline(
    loop, live_server, browser_page, request
):
    page = browser_page
    log_in(page, live_server)
    item = page.locator(f"#follow-up-{loop['follow_up'].pk}")
    item.locator("details.actions summary").click()
    item.locator("textarea[name=completion_note]").fill("Appel passé, Visa attend la note.")
    screenshot(page, request, "acting")

    item.locator(".action-done button").click()
    page.wait_for_load_state()

    assert "Relancer Visa" not in page.locator("#group-overdue").inner_text()
    screenshot(page, request, "dashboard-after")
    page.goto(f"{live_server.url}/organizations/visa/")
    done = page.locator("#timeline .entry-follow_up_done")
    assert "Relancer Visa" in done.inner_text()
    assert "Appel passé, Visa attend la note." in done.inner_text()
    screenshot(page, request, "organization")
    follow_up = FollowUp.objects.get(pk=loop["follow_up"].pk)
    assert (follow_up.status, follow_up.completed_by) == (FollowUp.Status.DONE, loop["user"])


def test_log_an_interaction_with_two_follow_ups(loop, live_server, browser_page, request):
    page = browser_page
    log_in(page, live_server)
    page.click("nav.main-nav a[href='/interactions/new/']")
    page.fill("#id_title", "Appel avec Visa sur le pilote")
    page.fill("#id_occurred_on", "2026-01-14")
    page.select_option("#id_kind", "call")
    choose(page, "id_organizations", "Visa")
    page.get_by_label("Paiements digitaux", exact=True).check()
    page.fill("#id_outcome", "Visa enverra une proposition.")
    for index, (title, due_on) in enumerate(
        [("Remercier Visa", "2026-01-16"), ("Relire la proposition", "2026-01-30")]
    ):
        page.fill(f"#id_follow_ups-{index}-title", title)
        page.select_option(f"#id_follow_ups-{index}-project", label="Paiements digitaux")
        choose(page, f"id_follow_ups-{index}-organization", "Visa")
        page.fill(f"#id_follow_ups-{index}-due_on", due_on)
    screenshot(page, request, "form")

    page.click(".log-form button.primary")
    page.wait_for_url("**/interactions/appel-avec-visa-sur-le-pilote-*/")

    text = page.locator("main").inner_text()
    assert "Remercier Visa" in text and "Relire la proposition" in text
    screenshot(page, request, "interaction")
    interaction = Interaction.objects.get(title="Appel avec Visa sur le pilote")
    assert interaction.follow_ups.count() == 2
    assert interaction.created_by == loop["user"]


def test_move_a_partner_to_another_stage_on_the_project_page(
    loop, live_server, browser_page, request
):
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/projects/paiements-digitaux/")
    assert "Visa" in page.locator(".stage-column.stage-contacted").inner_text()
    card = page.locator(f"#partnership-{loop['partnership'].pk}")

    card.locator("select[name=stage]").select_option("exploring")
    card.locator("button").click()
    page.wait_for_load_state()

    assert "Visa" in page.locator(".stage-column.stage-exploring").inner_text()
    assert "Visa" not in page.locator(".stage-column.stage-contacted").inner_text()
    screenshot(page, request, "project")
    change = StageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        "contacted",
        "exploring",
        loop["user"],
    )
    assert Partnership.objects.get().stage == "exploring"


def test_switch_to_english_and_see_the_dashboard_in_english(
    loop, live_server, browser_page, request
):
    page = browser_page
    log_in(page, live_server)
    screenshot(page, request, "french")

    page.select_option("#language-select", "en")
    page.click(".language-switch button")
    page.wait_for_load_state()

    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text() == "My follow-ups"
    assert "Overdue" in page.locator("#group-overdue h2").inner_text()
    assert "Log out" in page.locator(".site-header").inner_text()
    screenshot(page, request, "english")


def test_mission_report_prints_without_the_sites_chrome(loop, live_server, browser_page, request):
    mission = factories.MissionFactory(slug="usa", title="Mission aux États-Unis")
    Interaction.objects.filter(slug="cca").update(mission=mission)
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/missions/usa/")
    screenshot(page, request, "screen")

    page.emulate_media(media="print")

    assert not page.locator(".site-header").is_visible()
    assert page.locator("h1").inner_text() == "Mission aux États-Unis"
    screenshot(page, request, "print")


def test_on_a_phone_done_as_a_contact_is_logged_and_the_timeline_fits(
    loop, live_server, browser_page, request
):
    from django.core.files.base import ContentFile

    from crm import services

    user, organization = loop["user"], loop["organization"]
    services.organization_merge(
        kept=organization,
        other=factories.OrganizationFactory(name="Visa Inc. (saisie en double)"),
        by=user,
    )
    services.document_create(
        by=user,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="mou.pdf"),
        title="Projet de protocole d’accord avec Visa",
        organization=organization,
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    item = page.locator(f"#follow-up-{loop['follow_up'].pk}")
    item.locator("details.actions summary").click()
    item.locator("textarea[name=completion_note]").fill("Note envoyée par courriel.")
    box = item.locator("input[name=contact]")
    size = box.bounding_box()
    assert size["width"] >= 24 and size["height"] >= 24
    box.check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, request, "acting")

    item.locator(".action-done button").click()
    page.wait_for_load_state()

    follow_up = FollowUp.objects.get(pk=loop["follow_up"].pk)
    assert follow_up.completion_contact.summary == "Note envoyée par courriel."
    page.goto(f"{live_server.url}/follow-ups/{follow_up.pk}/")
    assert page.locator("#completion-contact a").inner_text() == "Relancer Visa"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live_server.url}/organizations/visa/")
    timeline = page.locator("#timeline").inner_text()
    assert "Visa Inc. (saisie en double) → Visa" in timeline
    assert page.locator("#timeline .entry-document a").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, request, "timeline")
