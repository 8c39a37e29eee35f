"""The project and organisation pages with commitments, agreements and documents, in Chromium.

On a phone (390 px wide) nothing scrolls sideways; printed, the figures stay.
"""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from crm import roles, services
from tests import factories
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401
from tests.test_documents import PDF

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]


@pytest.fixture
def promised(role_groups, today):  # noqa: F811
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    project = factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")
    visa = factories.OrganizationFactory(
        slug="visa", name="Visa International Service Association"
    )
    partnership = factories.PartnershipFactory(organization=visa, project=project)
    factories.ExchangeRateFactory(rate_on=date(2026, 1, 2), xof_per_unit="605.123456")
    for amount, currency in [("250000000", "EUR"), ("1500000", "USD"), ("75000000", "XOF")]:
        factories.CommitmentFactory(
            partnership=partnership,
            amount=amount,
            currency=currency,
            description="Un engagement avec une description assez longue pour être coupée",
        )
    agreement = services.agreement_create(
        by=user,
        slug="mou",
        kind="mou",
        title="Protocole d'accord sur les paiements digitaux entre la coordination et Visa",
        parties=[visa, factories.OrganizationFactory(name="Coordination nationale du Compact")],
        projects=[project],
    )
    services.document_create(
        by=user,
        file=ContentFile(PDF, name="projet-de-protocole-d-accord-version-longue.pdf"),
        title="Projet de protocole d'accord",
        agreement=agreement,
        organization=visa,
    )
    return user


@pytest.mark.parametrize("path", ["/projects/paiements-digitaux/", "/organizations/visa/"])
def test_the_pages_fit_a_phone_and_print(promised, live_server, browser_page, request, path):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)

    page.goto(f"{live_server.url}{path}")

    assert page.locator("#commitments").is_visible()
    assert page.locator("#agreements").is_visible()
    screenshot(page, request, "phone")
    # Nothing in the new sections sticks out of them, and on the project page
    # (one column) the sections themselves stay on the screen. The site header
    # and the organisation page's partnership table are not part of this check.
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('#commitments, #agreements, #documents')]
            .flatMap(section => {
                const edge = section.getBoundingClientRect().right + 0.5;
                return [...section.querySelectorAll('*')]
                    .filter(el => el.getBoundingClientRect().right > edge)
                    .map(el => section.id + " " + el.tagName + "." + el.className);
            })"""
    )
    assert overflow == []
    if path.startswith("/projects/"):
        right = page.evaluate(
            "Math.max(...['commitments', 'agreements', 'documents'].map("
            "id => document.getElementById(id).getBoundingClientRect().right))"
        )
        assert right <= 390
    page.emulate_media(media="print")
    assert "XOF" in page.locator("#commitments").inner_text()
    screenshot(page, request, "print")
