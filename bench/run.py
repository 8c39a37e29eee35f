"""`make bench`: issue 10's ratios on PostgreSQL, at two sizes, in one run.

For each size (10,000 and 1,000,000 follow-ups by default) the scratch database
is emptied and filled by ``manage.py generate_data``; then every figure is the
median of ``--runs`` timed runs (after one untimed warm-up), and every
comparison is measured side by side, its two sides alternating run by run so
that the machine's load weighs on both alike:

- the dashboard (a Staff member's own; Coordination's whole team), the admin's
  follow-up changelist and its search on a title, through Django's test Client,
  with their SQL statement counts;
- the API's page of 100 follow-ups against the same 100 rows through
  ``values()`` + ``json.dumps`` (no count), and the API's page of partnerships;
- the CSV export of every follow-up against PostgreSQL's ``COPY (SELECT …) TO
  STDOUT`` of the same rows and joins, and the peak of Python allocations of the
  export at this size against 100,000 rows;
- the XLSX export of ``--xlsx-rows`` rows against COPY of the same rows, and the
  two constant-memory writers (openpyxl write-only, XlsxWriter constant_memory)
  on the same rows;
- importing ``--import-rows`` organisations from CSV against ``COPY FROM`` of the
  same file (first size only: it does not depend on the follow-ups);
- over HTTP (``--http-seconds`` > 0): gunicorn, 2 sync workers on 127.0.0.1, 8
  client threads for that long on the API's follow-up list (page of 50, token
  authentication) and then on a bare view returning the same 50 rows through
  ``values()`` (bench/wsgi_bare.py): requests per second, p50/p95, errors;
- the mail filing rate (bench/mail_filing.py): ``--mail-messages`` typical
  messages filed through ``services.mail_receive`` against the standard
  library's parse of the same bytes and the SHA-256 of their attachments.
  ``--only mail`` (``make bench-mail``) runs it alone, on an emptied database,
  and rewrites only the "Mail filing" section of docs/benchmarks.md;
- the overview and a mission's scorecard (issue 21), also run alone by ``--only
  overview`` (``make bench-overview``): both sizes, those two pages only, and
  only the "Overview and scorecard" section of docs/benchmarks.md rewritten;
- the full XLSX export of every follow-up as a job (issue 23,
  bench/job_export.py): gunicorn with ``GUNICORN_TIMEOUT=20`` and a
  ``run_jobs`` worker, the export asked over HTTP, its 202, the job polled, the
  file downloaded and read back row by row; any failed check stops the bench.
  ``--only job-export`` runs it alone, one database per size as ``--only
  overview`` (``--reuse`` keeps them), and rewrites only its section.

Then it prints the ratios of the issue's table and, with ``--write``, writes
docs/benchmarks.md. ``make bench-smoke`` runs the same code at a tiny size (CI:
it must keep working; nothing is timed there).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python bench/run.py

It empties the database it is given: the name must contain "bench".
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Django is set up by bench/seed.py: import it first.
from seed import postgresql_version, require_postgresql, reset_database, seed_follow_ups

# isort: split

import django
import openpyxl
import psycopg
import xlsxwriter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from export_vs_copy import COPY_COLUMNS, copy_select, subset_bound, write_organizations
from job_export import SECTION as JOB_EXPORT_SECTION
from job_export import JobExportFailed
from job_export import measure_here as measure_job_export
from job_export import section_text as job_export_text
from mail_filing import measure as measure_mail_filing
from mail_filing import override_documents
from mail_filing import report as report_mail_filing
from mail_filing import write_section as write_mail_section
from openpyxl.cell import WriteOnlyCell
from plain_view import PLAIN_PATH
from sweep import sweep, table, words_table

from crm import importing, roles, xlsx
from crm.api import export, exporters
from crm.models import ApiToken, FollowUp

ROOT = Path(__file__).resolve().parent.parent
VALUES_FIELDS = ("id", "title", "due_on", "status", "priority", "assignee_id", "project_id")


@dataclass
class Figure:
    """The median of timed runs, with its SQL statement count."""

    seconds: list[float] = field(default_factory=list)
    queries: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def ms(self) -> str:
        return f"{self.median * 1000:,.0f} ms"


def timed(run: Callable[[], object], runs: int) -> Figure:
    run()  # Warm-up: imports, caches, the database's buffers.
    figure = Figure()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run()
            figure.seconds.append(time.perf_counter() - started)
        figure.queries = len(captured)
    return figure


def side_by_side(runs: int, **sides: Callable[[], object]) -> dict[str, Figure]:
    """Time each side ``runs`` times, alternating, after one warm-up of each."""
    for run in sides.values():
        run()
    figures = {name: Figure() for name in sides}
    for _ in range(runs):
        for name, run in sides.items():
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run()
                figures[name].seconds.append(time.perf_counter() - started)
            figures[name].queries = len(captured)
    return figures


def get(client: Client, url: str, **extra) -> int:
    response = client.get(url, secure=True, **extra)
    assert response.status_code == 200, (url, response.status_code)
    size = 0
    if response.streaming:
        for block in response.streaming_content:
            size += len(block)
    else:
        size = len(response.content)
    response.close()
    return size


def copy_rows(where: str = "") -> int:
    size = 0
    sql = f"COPY ({copy_select(where)}) TO STDOUT WITH CSV HEADER"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            size += len(block)
    return size


def python_peak(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()


# The constant-memory XLSX writers, on the same typed rows: the two libraries
# compared first, and crm.xlsx, which the exports use.


def write_openpyxl(rows: list[list], headers: list[str]) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Export")
    sheet.freeze_panes = "A2"
    sheet.append(headers)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if hasattr(value, "year"):
                cell.number_format = "dd/mm/yyyy"
            cells.append(cell)
        sheet.append(cells)
    with tempfile.TemporaryFile() as file:
        workbook.save(file)


def write_xlsxwriter(rows: list[list], headers: list[str]) -> None:
    with tempfile.TemporaryFile() as file:
        workbook = xlsxwriter.Workbook(file, {"constant_memory": True})
        sheet = workbook.add_worksheet("Export")
        day = workbook.add_format({"num_format": "dd/mm/yyyy"})
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, headers)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if value is None:
                    continue
                if hasattr(value, "year"):
                    sheet.write_datetime(number, column, value, day)
                else:
                    sheet.write(number, column, value)
        workbook.close()


def write_crm_xlsx(rows: list[list], bound_export: export.Export) -> None:
    with tempfile.TemporaryFile() as file:
        xlsx.write_workbook(
            file, title="Export", rows=rows, **export.workbook_layout(bound_export)
        )


# The import against COPY FROM.


def import_side_by_side(rows: int, runs: int) -> dict[str, Figure]:
    columns = ", ".join(COPY_COLUMNS)
    figures = {"import": Figure(), "COPY FROM": Figure()}
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as name:
        import_path, copy_path = write_organizations(Path(name), rows)
        for n in range(runs + 1):  # The first pair is the warm-up.
            started = time.perf_counter()
            with import_path.open("rb") as file:
                result = importing.import_contacts(file, filename="o.csv", dry_run=False)
            imported = time.perf_counter() - started
            assert result.created == rows and not result.errors, result.errors[:3]
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM crm_organization WHERE slug LIKE 'imported-%%'")
                started = time.perf_counter()
                with (
                    copy_path.open("rb") as file,
                    cursor.copy(
                        f"COPY crm_organization ({columns}) FROM STDIN WITH (FORMAT csv)"
                    ) as copy,
                ):
                    while block := file.read(1 << 20):
                        copy.write(block)
                copied = time.perf_counter() - started
                cursor.execute("DELETE FROM crm_organization WHERE slug LIKE 'imported-%%'")
                cursor.execute("VACUUM ANALYZE crm_organization")
            if n:
                figures["import"].seconds.append(imported)
                figures["COPY FROM"].seconds.append(copied)
    return figures


# HTTP.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hammer(port: int, path: str, headers: dict, seconds: float, clients: int = 8) -> dict:
    """``clients`` threads GET ``path`` in a loop for ``seconds``; rates and latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        mine, failed = [], 0
        connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection_.request("GET", path, headers=headers)
                response = connection_.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection_.close()
                connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - started)
        connection_.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] if latencies else 0.0,
        "p95": latencies[int(len(latencies) * 0.95)] if latencies else 0.0,
        "errors": errors[0],
    }


def session_cookie(user) -> str:
    """Return a ``Cookie`` header logging ``user`` in, as a browser's would."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def http_side_by_side(user, seconds: float) -> dict[str, dict] | None:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        print("gunicorn is not installed: HTTP figures skipped.")
        return None
    _token, key = ApiToken.create_for(user, name="bench")
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_DEBUG": "0",
        # One token hammering for 30 s passes the production rate (2,000 an
        # hour): its 429s would count as errors. The throttle's work stays.
        "CRM_API_RATE_TOKEN": "1000000/hour",
    }
    server = subprocess.Popen(
        [
            str(gunicorn),
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "bench"),
            "--log-level=warning",
            "wsgi_bare:application",
        ],
        env=environment,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        headers = {"Authorization": f"Token {key}", "X-Forwarded-Proto": "https"}
        api_path = "/api/v1/follow-ups/?page_size=50"
        hammer(port, api_path, headers, 1)  # Warm-up of both workers.
        hammer(port, "/bench/bare/", {}, 1)
        # Issue 22's comparison: the same login (a session) for both, the same
        # middleware, the API's page against a plain Django view of the same rows.
        logged_in = {"Cookie": session_cookie(user), "X-Forwarded-Proto": "https"}
        plain_path = f"{PLAIN_PATH}?page_size=50"
        hammer(port, plain_path, logged_in, 1)
        return {
            "api": hammer(port, api_path, headers, seconds),
            "bare": hammer(port, "/bench/bare/", {}, seconds),
            "api session": hammer(port, api_path, logged_in, seconds),
            "plain view": hammer(port, plain_path, logged_in, seconds),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


# One size.


def users() -> tuple:
    User = get_user_model()
    staff = User.objects.filter(username="synthetic-user-000").get()
    coordinator = User.objects.create_superuser("bench-coordinator", "bench@example.invalid")
    group, created = Group.objects.get_or_create(name=roles.COORDINATION)
    if created:
        group.permissions.set(roles.role_permissions(roles.COORDINATION))
    coordinator.groups.add(group)
    return staff, coordinator


def measure_size(size: int, options) -> dict:
    print(f"\n## {size:,} follow-ups\n", flush=True)
    reset_database()
    seeded = seed_follow_ups(size)
    print(f"generate_data: {seeded.seconds:.1f} s", flush=True)
    staff, coordinator = users()
    mine, team = Client(), Client()
    mine.force_login(staff)
    team.force_login(coordinator)
    runs = options.runs
    figures: dict = {"size": size, "generate_seconds": seeded.seconds}

    figures["dashboard mine"] = timed(lambda: get(mine, "/"), runs)
    figures["dashboard team"] = timed(lambda: get(team, "/?scope=team"), runs)
    figures["changelist"] = timed(lambda: get(team, "/admin/crm/followup/"), runs)
    title = FollowUp.objects.order_by("-id").values_list("title", flat=True).first()
    figures["admin search"] = timed(
        lambda: get(team, "/admin/crm/followup/", data={"q": title}), runs
    )
    page = side_by_side(
        runs,
        api=lambda: get(team, "/api/v1/follow-ups/?page_size=100"),
        values=lambda: json.dumps(
            list(FollowUp.objects.order_by("due_on", "id").values(*VALUES_FIELDS)[:100]),
            default=str,
        ),
    )
    figures["api page"], figures["values page"] = page["api"], page["values"]
    # Issue 22's baseline: a plain Django view of the same 100 rows, behind the
    # same middleware and login (bench/plain_view.py), the two alternating.
    with override_settings(ROOT_URLCONF="plain_view"):
        plain = side_by_side(
            runs,
            api=lambda: get(team, "/api/v1/follow-ups/?page_size=100"),
            view=lambda: get(team, f"{PLAIN_PATH}?page_size=100"),
        )
    figures["api page vs view"], figures["plain view"] = plain["api"], plain["view"]
    # The least an authenticated API request costs here: one project, no filter.
    figures["api floor"] = timed(lambda: get(team, "/api/v1/projects/?page_size=1"), runs)
    figures["api partnerships"] = timed(
        lambda: get(team, "/api/v1/partnerships/?page_size=100"), runs
    )
    figures.update(overview_figures(team, runs))
    print("pages measured", flush=True)

    csv_runs = max(1, runs if size <= 200_000 else min(runs, 5))
    csv = side_by_side(
        csv_runs,
        export=lambda: get(team, "/api/v1/follow-ups/?format=csv"),
        copy=copy_rows,
    )
    figures["csv"], figures["copy"] = csv["export"], csv["copy"]
    subset = min(size, 100_000)
    bound = subset_bound(subset)
    figures["csv peak"] = python_peak(lambda: get(team, "/api/v1/follow-ups/?format=csv"))
    figures["csv peak subset"] = python_peak(
        lambda: get(team, f"/api/v1/follow-ups/?format=csv&due_before={bound}")
    )
    figures["csv subset rows"] = FollowUp.objects.filter(due_on__lte=bound).count()
    print("CSV measured", flush=True)

    xlsx_rows = min(size, options.xlsx_rows)
    xlsx_bound = subset_bound(xlsx_rows)
    xlsx = side_by_side(
        runs,
        export=lambda: get(team, f"/api/v1/follow-ups/?format=xlsx&due_before={xlsx_bound}"),
        copy=lambda: copy_rows(f"WHERE f.due_on <= '{xlsx_bound}'"),
    )
    figures["xlsx"], figures["xlsx copy"] = xlsx["export"], xlsx["copy"]
    figures["xlsx rows"] = FollowUp.objects.filter(due_on__lte=xlsx_bound).count()
    queryset = FollowUp.objects.filter(due_on__lte=xlsx_bound).order_by("due_on", "id")
    bound_export = export.Export.of(queryset, exporters.columns_for(FollowUp))
    rows = list(export.typed_rows(bound_export))
    writers = side_by_side(
        max(1, min(runs, 3)),
        openpyxl=lambda: write_openpyxl(rows, bound_export.headers),
        xlsxwriter=lambda: write_xlsxwriter(rows, bound_export.headers),
        crm_xlsx=lambda: write_crm_xlsx(rows, bound_export),
    )
    for name in ("openpyxl", "xlsxwriter", "crm_xlsx"):
        figures[name] = writers[name]
    print("XLSX measured", flush=True)

    if options.import_rows and options.first:
        imported = import_side_by_side(options.import_rows, runs)
        figures["import"], figures["copy from"] = imported["import"], imported["COPY FROM"]
        print("import measured", flush=True)
    if options.http_seconds and size == max(options.sizes):
        figures["http"] = http_side_by_side(staff, options.http_seconds)
    # Every page, changelist and API list, with the words staff search for (issue 22).
    figures["sweep"] = sweep(team, options.sweep_runs, progress=lambda line: None)
    print(f"swept {len(figures['sweep'])} addresses", flush=True)
    # Last: gunicorn and the worker have the machine to themselves.
    figures["job export"] = measure_job_export(coordinator)
    return figures


# Reporting.


def bench_mission():
    """Return a mission whose meeting met twenty of the generated organisations."""
    from crm.models import Interaction, Mission, Organization

    mission, created = Mission.objects.get_or_create(
        slug="bench-mission",
        defaults={
            "title": "Bench mission",
            "start_on": datetime.date(2025, 9, 1),
            "end_on": datetime.date(2025, 9, 30),
            "date_precision": "late_month",
        },
    )
    if created:
        meeting = Interaction.objects.create(
            slug="bench-mission-meeting",
            title="Bench meeting",
            kind="meeting",
            occurred_on=datetime.date(2025, 9, 20),
            mission=mission,
        )
        meeting.organizations.set(Organization.objects.order_by("id")[:20])
    return mission


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def report(results: list[dict], options) -> str:
    small, large = results[0], results[-1]
    s, l_ = f"{small['size']:,}", f"{large['size']:,}"
    lines = [
        f"| what | at {s} | at {l_} | {l_} ÷ {s} | statements ({s} → {l_}) |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("dashboard mine", "dashboard, a Staff member's own"),
        ("dashboard team", "dashboard, Coordination's whole team"),
        ("changelist", "admin follow-up changelist, first page"),
        ("admin search", "admin search on a title"),
        ("api page", "API follow-ups, page of 100"),
        ("values page", "the same 100 rows by values() + json.dumps"),
        ("api floor", "the smallest API request: one project"),
        ("api partnerships", "API partnerships, page of 100"),
        *OVERVIEW_PAGES,
        ("csv", "CSV export, every follow-up"),
        ("copy", "COPY (SELECT …) TO STDOUT, the same rows"),
    ):
        a, b = small[key], large[key]
        lines.append(
            f"| {label} | {a.ms()} | {b.ms()} | {ratio(b.median, a.median)} | "
            f"{a.queries} → {b.queries} |"
        )
    lines += ["", "| ratio | goal | measured |", "|---|---|---|"]

    def row(name: str, goal: str, value: str) -> None:
        lines.append(f"| {name} | {goal} | {value} |")

    for key, name in (
        ("dashboard mine", "dashboard (mine)"),
        ("dashboard team", "dashboard (team)"),
        ("overview", "overview"),
        ("scorecard", "mission scorecard"),
        ("weekly summary", "weekly summary's figures"),
    ):
        value = ratio(large[key].median, small[key].median)
        same = large[key].queries == small[key].queries
        row(
            f"{name} at {l_} ÷ at {s}",
            "≤ 1.5, same number of queries",
            f"{value}; {small[key].queries} → {large[key].queries} statements"
            + ("" if same else " (not the same)"),
        )
    row(
        f"admin follow-up changelist at {l_} ÷ at {s}",
        "≤ 1.5",
        ratio(large["changelist"].median, small["changelist"].median),
    )
    row(
        f"admin search ÷ changelist first page, at {l_}",
        "≤ 3",
        ratio(large["admin search"].median, large["changelist"].median),
    )
    row(
        f"API page of 100 ÷ values() + json.dumps, at {l_}",
        "≤ 2",
        ratio(large["api page"].median, large["values page"].median),
    )
    row(
        f"API page of 100 ÷ a plain Django view of the same rows (middleware, login), at {l_}",
        "≤ 1.5 (issue 22)",
        ratio(large["api page vs view"].median, large["plain view"].median),
    )
    row(
        f"the smallest API request (one project) ÷ values() + json.dumps, at {l_}",
        "(the floor of any API page)",
        ratio(large["api floor"].median, large["values page"].median),
    )
    row(
        f"CSV export of {l_} rows ÷ COPY",
        "≤ 2",
        ratio(large["csv"].median, large["copy"].median),
    )
    row(
        f"CSV export's peak Python memory, {l_} rows ÷ {large['csv subset rows']:,} rows",
        "≤ 1.2",
        f"{ratio(large['csv peak'], large['csv peak subset'])} "
        f"({large['csv peak']:.1f} MB ÷ {large['csv peak subset']:.1f} MB)",
    )
    row(
        f"XLSX export ({large['xlsx rows']:,} rows) ÷ COPY",
        "≤ 15",
        ratio(large["xlsx"].median, large["xlsx copy"].median),
    )
    row(
        "XLSX writers on those rows: XlsxWriter constant_memory ÷ openpyxl write-only",
        "the faster is kept",
        f"{ratio(large['xlsxwriter'].median, large['openpyxl'].median)} "
        f"({large['xlsxwriter'].ms()} ÷ {large['openpyxl'].ms()})",
    )
    row(
        "XLSX writers on those rows: crm.xlsx, the exports' writer, ÷ XlsxWriter",
        "below 1, or XlsxWriter is used",
        f"{ratio(large['crm_xlsx'].median, large['xlsxwriter'].median)} "
        f"({large['crm_xlsx'].ms()} ÷ {large['xlsxwriter'].ms()})",
    )
    if "import" in small:
        row(
            f"import {options.import_rows:,} organisations ÷ COPY FROM",
            "≤ 4",
            f"{ratio(small['import'].median, small['copy from'].median)} "
            f"({small['import'].ms()} ÷ {small['copy from'].ms()})",
        )
    http = large.get("http")
    if http:
        api, bare = http["api"], http["bare"]
        row(
            "HTTP: API follow-up list (50, token) ÷ bare values() view, requests/s",
            "≥ 0.6, 0 errors",
            f"{api['rate'] / bare['rate']:.2f} ({api['rate']:.1f} ÷ {bare['rate']:.1f} req/s); "
            f"errors {api['errors']} / {bare['errors']}; "
            f"p50 {api['p50'] * 1000:.0f} / {bare['p50'] * 1000:.0f} ms, "
            f"p95 {api['p95'] * 1000:.0f} / {bare['p95'] * 1000:.0f} ms",
        )
        api, view = http["api session"], http["plain view"]
        row(
            "HTTP: API follow-up list (50) ÷ a plain Django view of the same rows, both "
            "logged in by session, requests/s",
            "≥ 0.75 (issue 22)",
            f"{api['rate'] / view['rate']:.2f} ({api['rate']:.1f} ÷ {view['rate']:.1f} req/s); "
            f"errors {api['errors']} / {view['errors']}",
        )
    return "\n".join(lines)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
        )
        memory = f", {int(total.split()[1]) / 1024 / 1024:.1f} GB of memory"
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, {platform.platform()}"


def versions() -> str:
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"psycopg {psycopg.__version__}, XlsxWriter {xlsxwriter.__version__}, "
        f"openpyxl {openpyxl.__version__}; {postgresql_version().split(',')[0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="follow-ups, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (≥ 5)")
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--http-seconds", type=float, default=30)
    parser.add_argument("--write", type=Path, help="write the report there (docs/benchmarks.md)")
    parser.add_argument("--mail-messages", type=int, default=1_000, help="0: no mail figure")
    parser.add_argument("--mail-runs", type=int, default=3, help="timed runs of the mail filing")
    parser.add_argument(
        "--only",
        choices=["mail", "overview", "job-export", "sweep"],
        help="run this section alone",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--only overview or job-export: keep a size's database that already holds "
        "that many follow-ups",
    )
    parser.add_argument("--sweep-runs", type=int, default=3, help="timed runs per swept page")
    parser.add_argument("--force", action="store_true")
    options = parser.parse_args()
    options.sizes = [int(size) for size in options.sizes.split(",")]
    require_postgresql(force=options.force)
    load_before = os.getloadavg()
    print(f"{machine()}\n{versions()}\nload average {load_before[0]:.2f}", flush=True)
    if options.only == "mail":
        reset_database()
        mail_text = mail_section(options)
        if options.write:
            command = (
                f"make bench-mail  # python bench/run.py --only mail --mail-messages "
                f"{options.mail_messages} --mail-runs {options.mail_runs}"
            )
            write_mail_section(options.write, mail_text, command)
            print(f"\nWritten: {options.write}")
        return
    if options.only == "overview":
        overview_only(options)
        return
    if options.only == "job-export":
        job_export_only(options)
        return
    if options.only == "sweep":
        sweep_only(options)
        return
    results = []
    for n, size in enumerate(options.sizes):
        options.first = n == 0
        results.append(measure_size(size, options))
        # Each size's medians as soon as they are known, should a later size fail.
        for name, figure in results[-1].items():
            if isinstance(figure, Figure):
                print(f"    {name}: {figure.ms()} ({figure.queries} statements)", flush=True)
    mail_text = mail_section(options) if options.mail_messages else ""
    load_after = os.getloadavg()
    text = report(results, options) + "\n\n" + sweep_section(results)
    print("\n" + job_export_text([result["job export"] for result in results]))
    print("\n" + text)
    if options.write:
        write_doc(options, results, text, load_before, load_after)
        if mail_text:
            write_mail_section(options.write, mail_text, "make bench")
        write_mail_section(
            options.write,
            job_export_text([result["job export"] for result in results]),
            "make bench",
            heading=JOB_EXPORT_SECTION,
            how="Each size's database as generated above, after its other figures.",
        )


SWEEP_SECTION = "## The sweep: every page, changelist and API list (bench/sweep.py)"


def sweep_section(results: list[dict]) -> str:
    """The sweep's two tables: every page at both sizes, and common words against rare ones."""
    small, large = results[0], results[-1]
    sizes = (small["size"], large["size"])
    return (
        f"{SWEEP_SECTION}\n\n"
        "Medians of `--sweep-runs` runs; ✓ where the larger size costs at most 1.5× the "
        "smaller with the same statements.\n\n"
        f"{table(small['sweep'], large['sweep'], sizes)}\n\n"
        f"{words_table(large['sweep'], sizes[1])}"
    )


def mail_section(options) -> str:
    """Measure the mail filing rate; return its section's text (printed too)."""
    print(f"\n## Mail filing: {options.mail_messages:,} messages\n", flush=True)
    with tempfile.TemporaryDirectory() as documents, override_documents(documents):
        result = measure_mail_filing(options.mail_messages, max(1, options.mail_runs))
    text = report_mail_filing(result)
    print(text, flush=True)
    return text


# The overview and the scorecard alone (issue 21, point 5).

OVERVIEW_SECTION = "## Overview and scorecard"
OVERVIEW_PAGES = (
    ("overview", "the overview (/overview/), every project"),
    ("scorecard", "a mission's scorecard (scorecard.build)"),
    ("mission page", "a mission's page: its scorecard and up to 300 follow-ups listed"),
    ("weekly summary", "the weekly summary's figures (weekly.build, once per run)"),
)


def overview_calls(team: Client) -> dict[str, Callable[[], object]]:
    """Return the calls timed for the overview and the scorecard, by figure.

    The scorecard is timed alone as well as in its page: the page also lists
    the follow-ups on the organisations met, as many as there are up to 300,
    so that its cost follows the rows it shows, not the aggregates.
    """
    from crm import clock, scorecard, weekly

    mission = bench_mission()
    today = clock.today()
    return {
        "overview": lambda: get(team, "/overview/"),
        "scorecard": lambda: scorecard.build(mission, today=today),
        "mission page": lambda: get(team, f"/missions/{mission.slug}/"),
        "weekly summary": lambda: weekly.build(on=today),
    }


def overview_figures(team: Client, runs: int) -> dict[str, "Figure"]:
    return {key: timed(call, runs) for key, call in overview_calls(team).items()}


def use_database(name: str) -> None:
    """Point the default connection at database ``name`` (made if missing)."""
    connection.close()
    with psycopg.connect(
        conninfo_of(connection.settings_dict, dbname="postgres"), autocommit=True
    ) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    connection.settings_dict["NAME"] = name


def conninfo_of(settings_dict: dict, *, dbname: str) -> str:
    parts = {
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "dbname": dbname,
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)


def prepare_overview_size(size: int, name: str, options) -> dict:
    """Fill database ``name`` with ``size`` follow-ups (or keep it, with ``--reuse``)."""
    use_database(name)
    call_command("migrate", verbosity=0)
    seconds = None
    if options.reuse and FollowUp.objects.count() == size:
        print(f"{name}: kept, {size:,} follow-ups", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        reset_database()
        seconds = seed_follow_ups(size).seconds
        print(f"{name}: {size:,} follow-ups generated in {seconds:.1f} s", flush=True)
    User = get_user_model()
    coordinator = User.objects.filter(username="bench-coordinator").first() or users()[1]
    team = Client()
    team.force_login(coordinator)
    return {"size": size, "database": name, "generate_seconds": seconds, "team": team}


def report_overview(results: list[dict]) -> str:
    small, large = results[0], results[-1]
    s, l_ = f"{small['size']:,}", f"{large['size']:,}"
    lines = [
        f"| what | at {s}: time | statements | at {l_}: time | statements | {l_} ÷ {s} | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in OVERVIEW_PAGES:
        a, b = small[key], large[key]
        same = "" if a.queries == b.queries else " (not the same statements)"
        # The mission page lists follow-ups, up to 300: it follows the rows it shows.
        goal = "—" if key == "mission page" else "≤ 1.5, same statements"
        lines.append(
            f"| {label} | {a.ms()} | {a.queries} | {b.ms()} | {b.queries} | "
            f"{ratio(b.median, a.median)}{same} | {goal} |"
        )
    return "\n".join(lines)


def overview_only(options) -> None:
    """Time the overview and the scorecard at each size, the sizes alternating.

    Each size has a database of its own (``<DATABASE>_<size>``), so that the
    sizes are measured round by round, one after the other, rather than minutes
    apart: on a shared machine, the load then weighs on both alike.
    """
    base = connection.settings_dict["NAME"]
    prepared = [prepare_overview_size(size, f"{base}_{size}", options) for size in options.sizes]
    results = [{"size": p["size"], "generate_seconds": p["generate_seconds"]} for p in prepared]
    per_round = 3
    for round_ in range(options.runs):
        for state, result in zip(prepared, results, strict=True):
            use_database(state["database"])
            for key, call in overview_calls(state["team"]).items():
                call()  # Warm-up after the switch: the connection, the buffers.
                figure = result.setdefault(key, Figure())
                for _ in range(per_round):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        call()
                        figure.seconds.append(time.perf_counter() - started)
                    figure.queries = len(captured)
        print(f"round {round_ + 1} of {options.runs}", flush=True)
    use_database(base)
    text = report_overview(results)
    print("\n" + text, flush=True)
    if options.write:
        generated = "; ".join(
            f"{r['size']:,} follow-ups generated in {r['generate_seconds']:.0f} s"
            if r["generate_seconds"] is not None
            else f"{r['size']:,} follow-ups kept from a previous run (--reuse)"
            for r in results
        )
        command = (
            "make bench-overview  # python bench/run.py --only overview "
            f"--sizes {','.join(map(str, options.sizes))} --runs {options.runs}"
            + (" --reuse" if options.reuse else "")
        )
        how = (
            f"One database per size ({generated}); {options.runs} rounds, each timing every "
            f"figure {per_round} times per size after a warm-up, the sizes alternating; "
            "the median of all those runs, as a logged-in coordinator through Django's "
            f"test Client (pages) or a direct call; load average {os.getloadavg()[0]:.2f} "
            "at the end (the machine is shared: the ratios matter, not the times)."
        )
        write_mail_section(options.write, text, command, heading=OVERVIEW_SECTION, how=how)
        print(f"\nWritten: {options.write}")


def each_size_alone(options, measure: Callable[[dict], object]) -> tuple[list, str]:
    """Run ``measure`` on each size's own database (``--reuse`` keeps it); return its results
    and the sentence saying how the databases were made, for the section."""
    base = connection.settings_dict["NAME"]
    results, generated = [], []
    for size in options.sizes:
        state = prepare_overview_size(size, f"{base}_{size}", options)
        seconds = state["generate_seconds"]
        generated.append(
            f"{size:,} follow-ups generated in {seconds:.0f} s"
            if seconds is not None
            else f"{size:,} follow-ups kept from a previous run (--reuse)"
        )
        results.append(measure(state))
    use_database(base)
    how = (
        f"Run alone, one database per size ({'; '.join(generated)}); "
        f"{machine()}; load average {os.getloadavg()[0]:.2f} at the end."
    )
    return results, how


def write_alone(options, target: str, arguments: str, text: str, heading: str, how: str):
    """Write a section run alone (``--only``) into ``--write``, naming the command."""
    command = (
        f"make {target}  # python bench/run.py {arguments} "
        f"--sizes {','.join(map(str, options.sizes))}" + (" --reuse" if options.reuse else "")
    )
    write_mail_section(options.write, text, command, heading=heading, how=how)
    print(f"\nWritten: {options.write}")


def job_export_only(options) -> None:
    """The full XLSX export as a job at each size, on a database per size (``--reuse``)."""

    def measure(state):
        return measure_job_export(get_user_model().objects.get(username="bench-coordinator"))

    results, how = each_size_alone(options, measure)
    text = job_export_text(results)
    print("\n" + text, flush=True)
    if options.write:
        write_alone(
            options, "bench-job-export", "--only job-export", text, JOB_EXPORT_SECTION, how
        )


def sweep_only(options) -> None:
    """The sweep alone at each size, on a database per size (``--reuse``, as job-export)."""

    def measure(state):
        print(f"sweeping {state['size']:,} follow-ups", flush=True)
        return {"size": state["size"], "sweep": sweep(state["team"], options.sweep_runs)}

    results, how = each_size_alone(options, measure)
    text = sweep_section(results)
    print("\n" + text, flush=True)
    if options.write:
        body = text.removeprefix(SWEEP_SECTION).lstrip("\n")
        arguments = f"--only sweep --sweep-runs {options.sweep_runs}"
        write_alone(options, "bench-sweep", arguments, body, SWEEP_SECTION, how)


def write_doc(options, results, text: str, load_before, load_after) -> None:
    sizes = " and ".join(f"{size:,}" for size in options.sizes)
    generated = "; ".join(
        f"{result['size']:,} follow-ups in {result['generate_seconds']:.0f} s"
        for result in results
    )
    command = (
        "make bench  # DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench by default\n"
        f"# which runs: python bench/run.py --sizes {','.join(map(str, options.sizes))} "
        f"--runs {options.runs} --xlsx-rows {options.xlsx_rows} "
        f"--import-rows {options.import_rows} --http-seconds {options.http_seconds:g} "
        "--write docs/benchmarks.md"
    )
    body = BENCHMARKS_MD.format(
        sizes=sizes,
        runs=options.runs,
        machine=machine(),
        versions=versions(),
        load=f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end",
        generated=generated,
        figures=text,
        command=command,
        today=time.strftime("%Y-%m-%d"),
    )
    options.write.write_text(body, encoding="utf-8")
    print(f"\nWritten: {options.write}")


BENCHMARKS_MD = """# Benchmarks

Written by `make bench` (bench/run.py) on {today}. Sizes run: {sizes} follow-ups.

## Method

For each size the scratch PostgreSQL database is emptied and filled by
`python manage.py generate_data --follow-ups N` ({generated}): organisations,
people, affiliations, interactions with their links, partnerships with their
stage history and follow-ups, in proportion, with a fixed seed. Each figure is
the median of {runs} timed runs after an untimed warm-up; each comparison (API
page against `values()`, CSV export against `COPY`, XLSX against `COPY`, the two
XLSX writers, import against `COPY FROM`) is measured side by side, its two
sides alternating run by run, so that the machine's load weighs on both alike.
Pages and exports go through Django's test Client as a logged-in user, which
includes the middleware, authentication and permissions; the statement counts
are those of one run. The HTTP figure runs gunicorn (2 sync workers) on
127.0.0.1 and 8 client threads for the given time, against the API's list and
against a bare view (bench/wsgi_bare.py) returning the same rows through
`values()`.

## Machine

- {machine}
- {versions}
- Load average: {load}. The machine is shared: the absolute times move with
  the load, the side-by-side ratios much less.

## Figures

{figures}

## To reproduce

```sh
{command}
```

`make bench-smoke` runs the same code at a tiny size, as CI does, to keep it
working; it times nothing worth reading.

## Reading these figures

Where each figure's time goes, and why a goal still missed cannot be had
(profiles): [performance.md](performance.md), section 6.
"""


if __name__ == "__main__":
    try:
        main()
    except JobExportFailed as failed:
        sys.exit(f"The job export failed: {failed}")
