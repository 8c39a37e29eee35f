"""A 100,000-row contact import through the staff pages, on a phone (issue 23, point 3).

The whole way a member of staff goes, in Chromium at 390 px: the people list's
"Import" button, the upload, the check's progress, the preview, the
confirmation, the import's progress and the result. A real ``manage.py
run_jobs`` process does the work, as in production. PostgreSQL only: the
worker needs the test's database committed (a transactional test), and only
PostgreSQL lets the job report progress while its transaction is open
(SQLite has one writer, the job itself: there the page learns the end only).
"""

import time

import pytest
from django.contrib.auth.models import Group

from crm import roles
from crm.models import ImportJob, Person
from tests import factories
from tests.job_worker import worker_process
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 100_000
PHONE = {"width": 390, "height": 844}


def people_file(path) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("slug,given_name,family_name,email\n")
        for n in range(ROWS):
            file.write(f"personne-{n:06d},Prénom{n},Nom{n},p{n}@example.org\n")


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways ({width} px)"


def follow(page, *, done_text: str, seconds: float = 600) -> set[int]:
    """Watch the job's page until ``done_text`` shows; return the progress values seen.

    The page reloads itself every two seconds; a value is read between reloads.
    """
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if page.get_by_text(done_text).count():
                return seen
            bar = page.locator("progress.job-progress")
            if bar.count():
                value, total = bar.get_attribute("value"), bar.get_attribute("max")
                if value and total and 0 < int(value) < int(total):
                    seen.add(int(value))
                    fits_the_phone(page)
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError(f"“{done_text}” did not show within {seconds} s; seen {sorted(seen)}")


def test_a_hundred_thousand_people_imported_from_a_phone_with_progress_seen(
    postgres_only,
    role_groups,  # noqa: F811
    live_server,
    browser_page,  # noqa: F811
    request,
    tmp_path,
    private_documents,
):
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.STAFF))
    path = tmp_path / "personnes.csv"
    people_file(path)
    page = browser_page
    page.set_viewport_size(PHONE)
    page.set_default_timeout(60_000)
    worker = worker_process(private_documents)
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}/people/")
        page.get_by_role("link", name="Importer", exact=True).click()
        page.get_by_label("Personnes").check()
        page.set_input_files("input[type=file]", str(path))
        page.get_by_role("button", name="Vérifier le fichier").click()
        page.wait_for_url("**/imports/*/")
        fits_the_phone(page)

        checking = follow(page, done_text="sans problème")
        screenshot(page, request, "checked")
        fits_the_phone(page)
        assert not Person.objects.exists()
        confirm = page.get_by_role("button", name="Importer le fichier")
        assert confirm.bounding_box()["height"] >= 24
        confirm.click()
        importing = follow(page, done_text="fiches créées")
        screenshot(page, request, "imported")
        fits_the_phone(page)
    finally:
        worker.kill()
        worker.wait(10)

    assert len(checking) >= 2, f"the check's progress was seen {sorted(checking)}"
    assert len(importing) >= 2, f"the import's progress was seen {sorted(importing)}"
    job = ImportJob.objects.get()
    assert (job.step, job.status, job.result["created"]) == ("import", "done", ROWS)
    assert Person.objects.count() == ROWS
    assert page.get_by_role("link", name="Prénom0 Nom0").count() == 1
