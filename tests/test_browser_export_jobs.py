"""A 200,000-row XLSX export through the staff pages, in Chromium (issue 23).

A coordinator presses the dashboard's "Export" (XLSX) button: the export is
above ``CRM_EXPORT_JOB_THRESHOLD``, so the browser lands on the job's progress
page, which reloads itself while a real worker (``run_jobs``' loop) writes the
file; the test sees the rows done at least twice strictly between 0 and the
total, then the page becomes the link to the file, which is downloaded and read
back with openpyxl. At a computer's width and a phone's (390 px: no sideways
scrolling, a link one can tap). Slow by nature (a minute or more a width): marked
``slow`` as well as ``browser``.
"""

import contextlib
import re
import threading
import time

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.utils import timezone

from crm import jobs, roles
from crm.management.commands.run_jobs import JobWorker
from crm.models import ExportJob, FollowUp
from crm.views import jobs as job_pages
from tests import factories
from tests.conftest import TODAY
from tests.test_browser import browser_page, log_in, role_groups, screenshot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

ROWS = 200_000
WIDTHS = {"computer": 1366, "phone": 390}
# The longest the test waits for the file, whatever the machine's load.
WRITING_SECONDS = 300

# What the progress page shows: its bar, its words, or the link; and its width.
PROGRESS = """() => {
    const bar = document.querySelector("progress.job-progress");
    const text = document.querySelector("#job-progress-text");
    const link = document.querySelector(".export-job a[href$='/download/']");
    return {done: bar && Number(bar.getAttribute("value")),
            total: bar && Number(bar.getAttribute("max")),
            text: text && text.textContent,
            link: Boolean(link),
            width: document.documentElement.scrollWidth};
}"""


def open_follow_ups_of(user, rows: int) -> None:
    """Give ``user`` ``rows`` open follow-ups, numbered in their titles, due today.

    One INSERT … SELECT over a counter the database generates (a recursive
    CTE, which SQLite and PostgreSQL both read): a few seconds for 200,000
    rows, where building them as objects for bulk_create took ten times as
    long. The triggers that keep the open follow-ups' counts run as for any
    insert. Every other column gets what a new follow-up gets from the model.
    """
    project = factories.ProjectFactory(name="Paiements digitaux")
    now = timezone.now()
    model = FollowUp(project=project, assignee=user, due_on=TODAY, created_at=now, updated_at=now)
    fields = [field for field in FollowUp._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = ", ".join("'Suivi ' || n" if field.name == "title" else "%s" for field in fields)
    parameters = [
        field.get_db_prep_save(getattr(model, field.attname), connection)
        for field in fields
        if field.name != "title"
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(FollowUp._meta.db_table)} ({columns}) "
            "WITH RECURSIVE numbers(n) AS "
            "(SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < %s) "
            f"SELECT {values} FROM numbers",
            [rows, *parameters],
        )


class Worker(threading.Thread):
    """``manage.py run_jobs``' loop (its housekeeping, then the queue until empty), in a thread.

    Why a thread and not a ``run_jobs`` process: on SQLite the test database is
    in memory, one connection that pytest-django's live server already shares
    with its request threads; no other process can reach it. The thread is
    given that same connection (as Django's ``LiveServerThread`` is). On
    PostgreSQL it opens its own connection to the test database, whose rows are
    committed (transactional test), as a separate worker would.
    """

    def __init__(self, live_server) -> None:
        super().__init__(daemon=True)
        self.shared = live_server.thread.connections_override.get("default")
        self.error: BaseException | None = None

    def run(self) -> None:
        if self.shared is not None:
            connections["default"] = self.shared
        try:
            JobWorker(
                queue_names=["default"],
                interval=0.1,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id="browser-test",
                excluded_queue_names=[],
            ).run()
        except BaseException as error:
            self.error = error
        finally:
            if self.shared is None:
                connections.close_all()


def digits(text: str) -> str:
    # "74 000 lignes sur 200 000" (narrow no-break spaces) or "74,000 rows of 200,000".
    return re.sub(r"[^0-9]+", " ", re.sub(r"(?<=[0-9])[\s,.](?=[0-9]{3})", "", text))


def watch_progress(page, worker: Worker, width: int, request) -> set[int]:
    """Read the progress page as it reloads itself, until it is the link; return the rows seen."""
    from playwright.sync_api import Error

    seen: set[int] = set()
    deadline = time.monotonic() + WRITING_SECONDS
    while time.monotonic() < deadline:
        assert worker.error is None, worker.error
        try:
            state = page.evaluate(PROGRESS)
        except Error:
            # The page was reloading under the read: read it again.
            page.wait_for_timeout(50)
            continue
        assert state["width"] <= width, state
        if state["link"]:
            return seen
        if state["total"] is not None:
            assert state["total"] == ROWS
            if 0 < state["done"] < ROWS:
                # The words say what the bar shows.
                assert f" {state['done']} " in f" {digits(state['text'])} ", state
                assert f" {ROWS} " in f" {digits(state['text'])} ", state
                seen.add(state["done"])
                if len(seen) == 1:
                    with contextlib.suppress(Error):
                        screenshot(page, request, "progress")
        page.wait_for_timeout(200)
    raise AssertionError(f"no link after {WRITING_SECONDS} s; rows seen: {sorted(seen)}")


@pytest.fixture
def coordinator_with_rows(role_groups):  # noqa: F811
    """A coordinator with ROWS open follow-ups, made before the browser starts."""
    user = factories.UserFactory(username="awa", first_name="Awa", last_name="Mensah")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    open_follow_ups_of(user, ROWS)
    return user


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_a_200000_row_xlsx_export_shows_its_progress_then_its_file(
    coordinator_with_rows,
    live_server,
    browser_page,  # noqa: F811
    request,
    settings,
    monkeypatch,
    tmp_path,
    width,
):
    # The polled pages then read the database and never write it: on SQLite
    # the worker's statements and the live server's share one connection, and
    # two threads' transactions on it would run into each other.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    # The page's and the worker's cadence, quickened (2 s and 1 s in use): the
    # file takes 10 to 15 s here on a loaded machine, but may take 4 on a fast
    # one, where two reloads 2 s apart could miss the writing.
    monkeypatch.setattr(job_pages, "REFRESH_SECONDS", 1)
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0.25)
    user = coordinator_with_rows
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)

    page.click("#dashboard-export a[data-export=xlsx]")
    page.wait_for_url(f"{live_server.url}/exports/*/")
    job = ExportJob.objects.get()
    assert (job.kind, job.total, job.requested_by) == ("xlsx", ROWS, user)
    worker = Worker(live_server)
    worker.start()
    try:
        seen = watch_progress(page, worker, width, request)
    finally:
        worker.join(WRITING_SECONDS)
    assert worker.error is None, worker.error
    assert len(seen) >= 2, f"progress seen: {sorted(seen)}"

    screenshot(page, request, "ready")
    link = page.locator(".export-job a[href$='/download/']")
    box = link.bounding_box()
    assert box["height"] >= 24
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    with page.expect_download() as download:
        link.click()
    name = download.value.suggested_filename
    assert name == f"suivis-{TODAY:%Y-%m-%d}.xlsx"
    # openpyxl goes by the file's extension, which Playwright's copy lacks.
    path = tmp_path / name
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    assert next(rows)[:2] == ("Groupe", "Titre")
    titles = [row[1] for row in rows]
    assert len(titles) == ROWS
    # Every follow-up once: none lost or written twice between two progress reports.
    assert set(titles) == {f"Suivi {n}" for n in range(1, ROWS + 1)}
