"""The dashboard's export buttons in Chromium, for each role, at a computer's and a phone's width.

The browser speaks French (tests.test_browser.browser_page): the XLSX is read
back with openpyxl, the CSV with ";" as its separator. Skipped without
Chromium unless CRM_REQUIRE_BROWSER=1 (tests/conftest.py).
"""

import csv
import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Group

from crm import roles
from tests import factories
from tests.conftest import TODAY
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

WIDTHS = {"computer": 1366, "phone": 390}


def _user_with_follow_ups(role: str):
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=role))
    project = factories.ProjectFactory(name="Paiements digitaux")
    meeting = factories.InteractionFactory(title="Rencontres du CCA")
    factories.FollowUpFactory(
        title="Relancer Visa",
        project=project,
        assignee=user,
        interaction=meeting,
        due_on=TODAY - timedelta(days=2),
    )
    factories.FollowUpFactory(
        title="Envoyer la note conceptuelle", project=project, assignee=user, due_on=TODAY
    )
    factories.FollowUpFactory(title="Pas le mien", project=project, due_on=TODAY)
    return user


def _download(page, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as download:
        page.click(selector)
    return download.value.suggested_filename, Path(download.value.path()).read_bytes()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("role", [roles.COORDINATION, roles.STAFF, roles.READ_ONLY])
def test_export_the_dashboard_to_xlsx_and_csv_and_read_them_back(
    role_groups,  # noqa: F811
    live_server,
    browser_page,  # noqa: F811
    request,
    role,
    width,
):
    _user_with_follow_ups(role)
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)

    buttons = page.locator("#dashboard-export a.button")
    assert buttons.count() == 2
    for n in range(2):
        box = buttons.nth(n).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, request, "dashboard")

    name, content = _download(page, "#dashboard-export a[data-export=xlsx]")
    assert name == f"suivis-{TODAY:%Y-%m-%d}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    headers, *rows = sheet.iter_rows(values_only=True)
    workbook = [dict(zip(headers, row, strict=True)) for row in rows]
    assert [row["Titre"] for row in workbook] == ["Relancer Visa", "Envoyer la note conceptuelle"]
    assert workbook[0]["Projet"] == "Paiements digitaux"
    assert workbook[0]["Responsable"] == "Awa Mensah"
    assert "En retard" in workbook[0].values()

    name, content = _download(page, "#dashboard-export a[data-export=csv]")
    assert name == f"suivis-{TODAY:%Y-%m-%d}.csv"
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert [row["Titre"] for row in table] == ["Relancer Visa", "Envoyer la note conceptuelle"]
    assert table[0]["Échéance"] == f"{TODAY - timedelta(days=2):%Y-%m-%d}"
    assert "Rencontres du CCA" in table[0].values()
