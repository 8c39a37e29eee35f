"""The staff workspace in a real Chromium, at a computer's width and a phone's.

Browse, correct, log a meeting with a new person; and no staff page wider than
a phone. Screenshots go to tests/screenshots/ (git-ignored), one per width.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from crm import roles, services
from crm.models import ExportJob, ImportJob, Interaction, Organization, Person
from tests import factories
from tests.conftest import TODAY
from tests.mail_helpers import corpus, newcomer_reply
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

WIDTHS = {"computer": 1366, "phone": 390}


@pytest.fixture
def world(role_groups):  # noqa: F811
    """A coordinator, and one record of every kind a staff page shows."""
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    # Also the data-protection officer: the sweeps cover that role's pages too.
    user.groups.add(Group.objects.get(name=roles.DATA_PROTECTION))
    visa = factories.OrganizationFactory(
        slug="visa",
        name="Visa",
        kind="payment_network",
        city="",
        country="US",
        email_domains="visa.com",
    )
    project = factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")
    # The longest stage, role and kind in French, and a long name: what a phone
    # must fit without scrolling sideways.
    partnership = factories.PartnershipFactory(
        organization=visa,
        project=project,
        owner=user,
        stage="proposal",
        role="infrastructure",
    )
    factories.PartnershipFactory(
        organization=factories.OrganizationFactory(
            slug="ministere",
            name="Ministère de l’Économie numérique et de la Transformation digitale",
            kind="business_association",
        ),
        project=project,
        stage="proposal",
        role="infrastructure",
    )
    mission = factories.MissionFactory(slug="usa", title="Mission d’exploration aux États-Unis")
    person = factories.PersonFactory(
        slug="stephane",
        given_name="Stéphane",
        family_name="Kpowbié-Anani-d’Almeida",
        email="mary.test@visa.com",
    )
    role = factories.AffiliationFactory(
        person=person, organization=visa, title="Directeur régional des paiements numériques"
    )
    interaction = factories.InteractionFactory(
        slug="cca", title="Rencontres du CCA", organizations=[visa], mission=mission,
        occurred_on=TODAY - timedelta(days=60),
    )  # fmt: skip
    interaction.projects.set([project])
    interaction.people.set([person])
    follow_up = factories.FollowUpFactory(
        title="Relancer Visa au sujet du pilote de paiements marchands",
        organization=visa,
        project=project,
        interaction=interaction,
        assignee=user,
        due_on=TODAY - timedelta(days=3),
    )
    services.follow_up_snooze(
        follow_up=follow_up,
        due_on=TODAY + timedelta(days=3),
        reason="L’équipe de Visa revient la semaine prochaine",
        by=user,
        today=TODAY,
    )
    commitment = services.commitment_create(
        by=user,
        partnership=partnership,
        kind="financing",
        description="Un pilote",
        amount=250_000,
        currency="USD",
    )
    agreement = services.agreement_create(
        by=user, slug="mou-visa", kind="mou", title="Protocole d’accord", parties=[visa]
    )
    # Mail: one e-mail filed on Visa's timeline, one waiting in "Courriels à classer".
    services.mail_receive(raw=corpus("apple_reply.eml"), door="upload", by=user)
    waiting = services.mail_receive(raw=newcomer_reply(), door="upload", by=user).message
    # A large export written by a job: its page, ready, with its link.
    export_job = ExportJob.objects.create(
        requested_by=user,
        status="done",
        kind="xlsx",
        resource="page: dashboard",
        permission="crm.view_followup",
        filename="suivis-de-l-unite-de-coordination-2026-12-07.xlsx",
        total=12_345,
        done=12_345,
        file="exports/job.xlsx",
    )
    # A file of organisations checked by a job, waiting for its confirmation:
    # the preview's counts and first rows, with long keys.
    import_job = ImportJob.objects.create(
        requested_by=user,
        kind="organizations",
        file_name="organisations-rencontrees-pendant-la-mission-de-septembre-2023.csv",
        status="done",
        total=2,
        done=2,
        upload="imports/waiting.csv",
        result={
            "rows": 2,
            "created": 1,
            "updated": 0,
            "unchanged": 1,
            "error_count": 0,
            "errors": [],
            "preview": [
                [2, "unchanged", "visa"],
                [3, "created", "corporate-council-on-africa-washington-dc-office"],
            ],
            "created_keys": [],
        },
    )
    return {
        "user": user,
        "mail": waiting,
        "export_job": export_job,
        "import_job": import_job,
        "commitment": commitment,
        "agreement": agreement,
        "organization": visa,
        "project": project,
        "partnership": partnership,
        "mission": mission,
        "person": person,
        "role": role,
        "interaction": interaction,
        "follow_up": follow_up,
    }


# URL parameters of the staff pages, by the URL's name.
def _kwargs(world) -> dict[str, dict]:
    follow_up = {"pk": world["follow_up"].pk}
    return {
        "organization": {"slug": "visa"},
        "organization-edit": {"slug": "visa"},
        "partnership-new": {"slug": "visa"},
        "partnership": {"pk": world["partnership"].pk},
        "partnership-edit": {"pk": world["partnership"].pk},
        "person": {"slug": "stephane"},
        "person-edit": {"slug": "stephane"},
        "person-data": {"slug": "stephane"},
        "person-erase": {"slug": "stephane"},
        "affiliation-edit": {"pk": world["role"].pk},
        "project": {"code": "paiements-digitaux"},
        "mission": {"slug": "usa"},
        "interaction": {"slug": "cca"},
        "interaction-edit": {"slug": "cca"},
        "follow-up": follow_up,
        "follow-up-edit": follow_up,
        "follow-up-done": follow_up,
        "follow-up-snooze": follow_up,
        "follow-up-reassign": follow_up,
        "follow-up-waiting": follow_up,
        "commitment": {"pk": world["commitment"].pk},
        "commitment-edit": {"pk": world["commitment"].pk},
        "agreement": {"slug": "mou-visa"},
        "agreement-edit": {"slug": "mou-visa"},
        "mail-message": {"pk": world["mail"].pk},
        "merge": {"kind": "organizations", "kept": world["organization"].pk, "other": "OTHER"},
        "export-job": {"pk": world["export_job"].pk},
        "import-job": {"pk": world["import_job"].pk},
    }


# Not staff pages: Django's admin and auth, the API, the calendar feed, and
# endpoints that only take a POST.
NOT_PAGES = {
    "import-job-confirm",
    "partnership-stage",
    "partnership-owner",
    "partnership-cadence",
    "interaction-apply-plan",
    "api-token-revoke",
    "calendar-regenerate",
    "weekly-summary-preference",
    "calendar-feed",
    "set_language",
    "logout",
    "commitment-status",
    "commitment-deliver",
    "commitment-follow-up",
    "agreement-status",
    "agreement-signature",
    "agreement-obligation",
    "mail-file",
    "mail-discard",
    # Files, not pages.
    "document-download",
    "export-job-download",
    "import-job-report",
    "follow-up-export",
    "overview-pdf",
    # JSON for the choosers' script, not a page.
    "choose",
}
NOT_PAGE_PREFIXES = ("admin/", "api/", "accounts/", "i18n/")


def staff_urls(world) -> list[str]:
    """Return the URL of every staff page, from the URL resolver: a new page is covered."""
    kwargs = _kwargs(world)
    urls = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(NOT_PAGE_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            if pattern.name in NOT_PAGES:
                continue
            needed = pattern.pattern.converters
            assert not needed or pattern.name in kwargs, f"no parameters for {pattern.name}"
            from django.urls import reverse

            values = dict(kwargs.get(pattern.name, {}))
            if values.get("other") == "OTHER":
                values["other"] = factories.OrganizationFactory(name="Visa Inc.").pk
            query = {"document-new": "?organization=visa"}.get(pattern.name, "")
            urls.append(reverse(pattern.name, kwargs=values or None) + query)

    walk(get_resolver().url_patterns)
    return urls


def test_no_staff_page_scrolls_sideways_on_a_phone(world, live_server, browser_page, request):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    urls = [*staff_urls(world), "/search/?q=visa", "/?scope=team", "/organizations/?kind=company"]
    assert len(urls) > 20
    too_wide = {}
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[url] = width
        name = url.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "dashboard"
        screenshot(page, request, f"phone-{name}")
    assert too_wide == {}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_browse_to_an_organisation_correct_its_city_and_see_it_in_the_timeline(
    world,
    live_server,
    browser_page,  # noqa: F811
    request,
    width,
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)

    page.click("nav.main-nav a[href='/organizations/']")
    page.wait_for_url("**/organizations/")
    screenshot(page, request, "organisations")
    page.click("table.cards a[href='/organizations/visa/']")
    page.wait_for_url("**/organizations/visa/")
    page.click(".page-actions a[href='/organizations/visa/edit/']")
    page.fill("#id_city", "Washington")
    screenshot(page, request, "edit")
    page.click("form button.primary")
    page.wait_for_url("**/organizations/visa/")

    edit = page.locator("#timeline .entry-record_change").first
    assert "Washington" in edit.inner_text()
    assert "Awa Mensah" in edit.inner_text()
    snooze = page.locator("#timeline .entry-snoozed").first
    assert "L’équipe de Visa revient la semaine prochaine" in snooze.inner_text()
    screenshot(page, request, "organisation")
    assert Organization.objects.get(slug="visa").city == "Washington"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_log_a_meeting_with_a_person_met_for_the_first_time(
    world,
    live_server,
    browser_page,  # noqa: F811
    request,
    width,
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)

    page.goto(f"{live_server.url}/interactions/new/?organization=visa")
    page.fill("#id_title", "Appel avec Visa")
    page.fill("#id_occurred_on", "2026-01-14")
    # The chooser (JavaScript on): type, the matches come, Enter picks the first.
    page.locator("#id_people__q").press_sequentially("stephane")
    page.wait_for_selector("#id_people__q[aria-expanded='true']")
    page.locator("#id_people__q").press("Enter")
    page.fill("#id_new_person-given_name", "Adjoa")
    page.fill("#id_new_person-family_name", "Ékué")
    # The meeting's organisation is already chosen for the newcomer.
    assert "Visa" in page.locator("#id_new_person-organization__q").locator("..").inner_text()
    page.fill("#id_new_person-title", "Responsable des partenariats")
    screenshot(page, request, "form")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.click(".log-form button.primary")
    page.wait_for_url("**/interactions/appel-avec-visa-*/")

    text = page.locator("main").inner_text()
    assert "Adjoa Ékué" in text and "Stéphane" in text
    screenshot(page, request, "interaction")
    interaction = Interaction.objects.get(title="Appel avec Visa")
    newcomer = Person.objects.get(family_name="Ékué")
    assert set(interaction.people.all()) == {newcomer, world["person"]}
    assert newcomer.affiliations.get().title == "Responsable des partenariats"
    # The project of Visa's only partnership was filled in.
    assert list(interaction.projects.all()) == [world["project"]]


def test_the_pipeline_fits_its_eight_stages_on_one_row_at_a_computer_s_width(
    world,
    live_server,
    browser_page,  # noqa: F811
    request,
):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server)

    page.goto(f"{live_server.url}/projects/paiements-digitaux/")

    tops = page.eval_on_selector_all(
        ".pipeline .stage-column", "columns => columns.map(c => c.getBoundingClientRect().top)"
    )
    assert len(tops) == 8
    assert len(set(tops)) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, request, "project")


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_merge_two_organisations(world, live_server, browser_page, request, width):  # noqa: F811
    factories.OrganizationFactory(slug="visa-inc", name="Visa Inc", city="San Francisco")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)

    page.click("nav.main-nav a[href='/duplicates/']")
    page.wait_for_url("**/duplicates/")
    screenshot(page, request, "duplicates")
    row = page.locator("#duplicate-organizations tr", has_text="Visa Inc")
    row.get_by_role("link").last.click()
    page.wait_for_url("**/duplicates/organizations/*/*/")
    # The older record is offered as the one kept; "keep the other" would swap.
    assert "Visa Inc" in page.locator(".merge-other").inner_text()
    page.fill("#id_reason", "Saisie en double")
    screenshot(page, request, "merge")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.click("form button.primary")
    page.wait_for_url("**/organizations/visa/")

    assert "San Francisco" in page.locator("main").inner_text()
    screenshot(page, request, "kept")
    assert not Organization.objects.filter(slug="visa-inc").exists()
    assert Organization.objects.get(slug="visa").city == "San Francisco"


def test_pages_print_without_the_site_s_chrome(world, live_server, browser_page):  # noqa: F811
    page = browser_page
    log_in(page, live_server)

    for url in (
        "/missions/usa/",
        "/organizations/",
        f"/follow-ups/{world['follow_up'].pk}/",
    ):
        page.goto(f"{live_server.url}{url}")
        page.emulate_media(media="print")
        assert not page.locator(".site-header").is_visible(), url
        assert not page.locator("form").first.is_visible(), url
        assert page.locator("main h1").is_visible(), url
        page.emulate_media(media="screen")


# Every control a finger must hit: WCAG 2.2's minimum target size (2.5.8) is
# 24 × 24 CSS pixels. Links inside a sentence are exempt, as WCAG says.
SMALL_TARGETS = """
() => [...document.querySelectorAll(
    'button, input[type=checkbox], input[type=radio], input[type=submit], select, '
    + 'a.button, summary'
  )].filter(el => el.offsetParent !== null).map(el => {
    const box = el.getBoundingClientRect();
    return [el.outerHTML.slice(0, 80), Math.round(box.width), Math.round(box.height)];
  }).filter(([, width, height]) => width < 24 || height < 24)
"""


def test_every_control_of_every_staff_page_is_a_24_pixel_target_on_a_phone(
    world,
    live_server,
    browser_page,  # noqa: F811
):
    # Issue 19: checkboxes were 13 × 13, the chooser's "×" 23 × 16, "Agir" 21 px tall.
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    small = {}
    for url in [*staff_urls(world), "/search/?q=visa", "/?scope=team"]:
        page.goto(f"{live_server.url}{url}")
        if found := page.evaluate(SMALL_TARGETS):
            small[url] = found
    assert small == {}
