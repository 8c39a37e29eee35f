"""The Content-Security-Policy in a real Chromium: the admin's widgets and the API docs work.

The policy forbids inline scripts and styles (crm/settings.py). The admin's
date shortcuts, autocomplete lists, "add another" popup and slug prefill are
all scripts: each must still work, and the browser must report no violation
of the policy on any page or popup (``securitypolicyviolation`` events,
recorded from before each document's first script).
"""

import pytest
from django.contrib.auth.models import Group

from crm import roles
from tests import factories
from tests.test_browser import (  # noqa: F401 - fixtures
    PASSWORD,
    SCREENSHOTS,
    browser_page,
    role_groups,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in every page and popup of the context before the page's own scripts.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `in ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber})`
  );
});
"""


@pytest.fixture
def coordinator_page(role_groups, browser_page, live_server):  # noqa: F811
    """A page logged in to the admin as a coordinator, recording policy violations."""
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")
    page = browser_page
    page.context.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.context.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "awa")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.console_violations = console
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.cspViolations") + page.console_violations


def test_the_admin_widgets_work_under_the_policy(coordinator_page, live_server, request):
    page = coordinator_page
    page.goto(f"{live_server.url}/admin/crm/followup/add/")

    # The date shortcuts: the calendar opens and "today" fills the field.
    page.click("#calendarlink0")
    page.wait_for_selector("#calendarbox0", state="visible")
    page.click("#calendarbox0 .calendar-shortcuts a")
    assert page.input_value("#id_due_on") != ""

    # An autocomplete list (select2, asking the server as one types).
    page.click("[aria-labelledby=select2-id_project-container]")
    page.fill(".select2-search__field", "Paie")
    page.click(".select2-results__option >> text=Paiements digitaux")
    assert "Paiements digitaux" in page.inner_text("#select2-id_project-container")

    # "Add another" opens the organisation form in a popup: its slug is
    # prefilled from the name as one types, and saving puts the new
    # organisation in the list of the form that opened it.
    with page.expect_popup() as opened:
        page.click("#add_id_organization")
    popup = opened.value
    popup.wait_for_load_state()
    popup.locator("#id_name").press_sequentially("Banque Ouest")
    assert popup.input_value("#id_slug") == "banque-ouest"
    popup.select_option("#id_kind", index=1)
    screenshot(popup, request, "popup")
    popup_violations = popup.evaluate("window.cspViolations")
    with popup.expect_event("close"):
        popup.click("input[name=_save]")
    page.wait_for_function(
        "document.querySelector('#id_organization').selectedOptions[0]?.text.includes('Banque')"
    )
    screenshot(page, request, "follow-up")

    assert popup_violations == []
    assert violations(page) == [], "\n".join(violations(page))


@pytest.mark.parametrize(
    ("path", "title"),
    [("/api/v1/docs/", ".swagger-ui .info .title"), ("/api/v1/redoc/", ".api-info h1")],
    ids=["swagger-ui", "redoc"],
)
def test_the_api_documentation_renders_under_the_policy(
    coordinator_page, live_server, request, path, title
):
    page = coordinator_page
    page.goto(f"{live_server.url}{path}")

    heading = page.wait_for_selector(title)
    # The visible part only: the whole of either page is very long.
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png")

    assert "Compact partnerships API" in heading.inner_text()
    # ReDoc always asks Redocly's server for its logo: the policy keeps the page
    # from calling out (and ReDoc hides the image it could not load).
    found = [v for v in violations(page) if "cdn.redoc.ly/redoc/logo-mini.svg" not in v]
    assert found == [], "\n".join(found)


def test_the_staff_pages_scripts_run_under_the_policy(coordinator_page, live_server, request):
    page = coordinator_page
    factories.OrganizationFactory(slug="visa", name="Visa")

    for path in ("/", "/organizations/", "/organizations/visa/", "/search/?q=visa"):
        page.goto(f"{live_server.url}{path}")
    page.goto(f"{live_server.url}/interactions/new/")
    # crm/static/crm/chooser.js ran: its filter box is above each long list.
    page.wait_for_selector(".chooser-filter")
    screenshot(page, request, "interaction-form")

    assert violations(page) == [], "\n".join(violations(page))
