"""The choosers in a real Chromium, at a phone's width (issue 22).

Type a few letters, the matches come from /choose/<kind>/; arrows move,
Enter chooses, Escape closes; what is chosen is what the form sends. No
sideways scroll at 390 px, targets a finger can hit, and the page's policy
(no inline script, nothing from elsewhere) holds.
"""

import pytest
from django.contrib.auth.models import Group

from crm import roles
from crm.models import Interaction
from tests import factories
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401
from tests.test_browser_csp import RECORD_VIOLATIONS, violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]


@pytest.fixture
def directory(role_groups):  # noqa: F811
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.STAFF))
    names = ["Visa", "Visa Africa", "Mastercard", "Ecobank Togo", "Moov Africa Togo"]
    return {name: factories.OrganizationFactory(name=name) for name in names}


def test_choose_an_organisation_with_the_keyboard_on_a_phone(
    directory,
    live_server,
    browser_page,  # noqa: F811
    request,
):
    page = browser_page
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.console_violations = []
    page.context.on(
        "console",
        lambda message: (
            page.console_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/interactions/new/")

    # The list box is hidden; its label names the box one types in.
    assert page.locator("#id_organizations").is_hidden()
    assert page.get_attribute("label[for='id_organizations__q']", "for") == "id_organizations__q"
    box = page.locator("#id_organizations__q")
    assert box.get_attribute("role") == "combobox"
    page.fill("#id_title", "Appel avec Visa Africa")
    page.fill("#id_occurred_on", "2026-01-14")

    box.press_sequentially("visa")
    page.wait_for_selector("#id_organizations__q[aria-expanded='true']")
    options = page.locator("[role='listbox'] [role='option']")
    # Each with what tells it apart (here the country).
    assert options.all_inner_texts()[:2] == ["Visa · US", "Visa Africa · US"]
    assert "Mastercard" not in " ".join(options.all_inner_texts())
    for option in options.all():
        assert option.bounding_box()["height"] >= 24
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, request, "listbox")

    # Escape closes the list; the arrows open it again and move.
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    box.press("ArrowDown")
    box.press("ArrowDown")
    second = page.locator("[role='option'][aria-selected='true']")
    assert second.inner_text().startswith("Visa Africa")
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    box.press("Enter")

    # Chosen: shown above the box with a button to remove it, the box empty again.
    chosen = page.locator(".choose-chosen li")
    assert chosen.all_inner_texts()[0].startswith("Visa Africa")
    remove = chosen.locator("button")
    assert remove.bounding_box()["height"] >= 24 and remove.bounding_box()["width"] >= 24
    assert box.input_value() == ""
    assert page.url.endswith("/interactions/new/")  # Enter chose; it did not send.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, request, "chosen")

    page.click(".log-form button.primary")
    page.wait_for_url("**/interactions/appel-avec-visa-africa-*/")

    interaction = Interaction.objects.get(title="Appel avec Visa Africa")
    assert list(interaction.organizations.all()) == [directory["Visa Africa"]]
    assert violations(page) == [], "\n".join(violations(page))


def test_remove_what_was_chosen_and_choose_another(
    directory,
    live_server,
    browser_page,  # noqa: F811
):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/interactions/new/?organization={directory['Visa'].slug}")
    page.fill("#id_title", "Appel avec Ecobank")

    page.click(".choose-chosen li button")
    box = page.locator("#id_organizations__q")
    box.press_sequentially("ecobank")
    page.wait_for_selector("[role='option']:has-text('Ecobank Togo')")
    page.click("[role='option']:has-text('Ecobank Togo')")
    page.click(".log-form button.primary")
    page.wait_for_url("**/interactions/appel-avec-ecobank-*/")

    interaction = Interaction.objects.get(title="Appel avec Ecobank")
    assert list(interaction.organizations.all()) == [directory["Ecobank Togo"]]


def test_without_javascript_type_a_name_send_and_pick_among_the_matches(
    directory,
    live_server,
    browser_page,  # noqa: F811
    request,
):
    context = browser_page.context.browser.new_context(
        locale="fr-FR", java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/interactions/new/")
    page.fill("#id_title", "Appel avec Moov")
    page.fill("#id_occurred_on", "2026-01-14")

    # "africa" is two organisations: the form comes back with both in the list.
    page.fill("#id_organizations__q", "africa")
    with page.expect_navigation():
        page.click(".log-form button.primary")
    assert "choisissez-en une dans la liste" in page.locator("main").inner_text()
    offered = page.locator("#id_organizations option").all_inner_texts()
    assert sorted(offered) == ["Moov Africa Togo", "Visa Africa"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, request, "offered")

    page.fill("#id_organizations__q", "")
    page.select_option("#id_organizations", label="Moov Africa Togo")
    page.click(".log-form button.primary")
    page.wait_for_url("**/interactions/appel-avec-moov-*/")
    context.close()

    interaction = Interaction.objects.get(title="Appel avec Moov")
    assert list(interaction.organizations.all()) == [directory["Moov Africa Togo"]]
