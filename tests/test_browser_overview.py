"""The overview in a real browser (issue 21): on a phone, read by a screen reader, touched."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from crm import roles
from crm.models import Partnership
from tests import factories
from tests.conftest import TODAY
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

Stage = Partnership.Stage


@pytest.fixture
def pipeline(role_groups):  # noqa: F811
    """Three projects, two years of stage history, money, late work and a meeting ahead."""
    user = factories.UserFactory(
        username="awa", first_name="Awa", last_name="Mensah", is_staff=True
    )
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    names = ["Connectivité", "Hub d’innovation digitale", "Paiements digitaux"]
    projects = [factories.ProjectFactory(code=f"p{n}", name=name) for n, name in enumerate(names)]
    for n in range(24):
        partnership = factories.PartnershipFactory(
            project=projects[n % 3], stage=Stage.EXPLORING, owner=user
        )
        for days, from_stage, to_stage in [
            (700 - n * 20, "", Stage.IDENTIFIED),
            (400 - n * 15, Stage.IDENTIFIED, Stage.CONTACTED),
            (60 - n * 2, Stage.CONTACTED, Stage.EXPLORING),
        ]:
            factories.StageChangeFactory(
                partnership=partnership,
                from_stage=from_stage,
                to_stage=to_stage,
                changed_at=timezone.make_aware(
                    datetime.combine(TODAY - timedelta(days=days), time(10))
                ),
            )
        factories.CommitmentFactory(partnership=partnership, amount=Decimal("12500000"))
        factories.FollowUpFactory(
            project=projects[n % 3],
            organization=partnership.organization,
            assignee=user,
            title="Relancer le partenaire au sujet de la note conceptuelle détaillée",
            due_on=TODAY - timedelta(days=n),
        )
    factories.InteractionFactory(occurred_on=TODAY + timedelta(days=2))
    return user


@pytest.mark.parametrize("width", [390, 1366], ids=["phone", "computer"])
def test_the_overview_fits_a_phone_and_its_charts_have_text_alternatives(
    pipeline,
    live_server,
    browser_page,  # noqa: F811
    request,
    width,
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)
    page.click("nav.main-nav a[href='/overview/']")
    page.wait_for_url("**/overview/")
    screenshot(page, request, "overview")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    charts = page.locator("svg[role=img]")
    assert charts.count() == 3
    for index in range(charts.count()):
        chart = charts.nth(index)
        ids = chart.get_attribute("aria-labelledby").split()
        names = [page.locator(f"[id='{id_}']").text_content().strip() for id_ in ids]
        assert all(names), ids
        # The same figures as a table, for screen readers and for copying.
        table = chart.locator("xpath=ancestor::figure/following-sibling::details[1]//table")
        assert table.locator("tbody tr").count() >= 20
    # The figures are links big enough to touch (WCAG 2.5.8: 24 × 24 px).
    figures = page.locator(".overview td a, .summary-figures a")
    assert figures.count() >= 10
    for index in range(figures.count()):
        box = figures.nth(index).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, figures.nth(index).inner_html()
    # The history table opens, still without scrolling the page sideways.
    page.locator("details.history-table summary").first.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, request, "history-table")
