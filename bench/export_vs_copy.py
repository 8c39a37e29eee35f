"""Benchmark the API's CSV/XLSX exports and the contacts import against PostgreSQL's COPY.

Loads N follow-ups with COPY (bench/seed.py), then measures, on the same data:

(a) ``COPY (SELECT … the export's columns …) TO STDOUT WITH CSV HEADER`` into a sink;
(b) ``GET /api/v1/follow-ups/?format=csv`` through Django's test Client, as a
    superuser, the streamed body consumed and thrown away: wall time, rows/s and
    the growth of the peak resident memory, for all N rows and for the subset
    due up to a date (about --subset-rows rows, ``?due_before=``); then, in
    untimed passes, the peak of Python allocations (tracemalloc) for the subset
    and for a quarter of it, so that peaks at different sizes can be compared
    (both should exceed the export's chunk of 2,000 rows, which bounds the peak);
(c) ``?format=xlsx`` on that subset (the XLSX export is much heavier);
(d) the SQL statements each export issues (CaptureQueriesContext, timed pass);
(e) importing --import-rows organisations from CSV with ``import_contacts``
    against a COPY of the same rows into crm_organization.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        python bench/export_vs_copy.py --rows 1000000

It migrates and empties the database it is given, so never point it at a
database that holds real data: it refuses one whose name does not contain
"bench" unless given --force.
"""

import argparse
import csv
import io
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Django is set up by bench/seed.py: import it first.
from import_memory import organization
from seed import (
    TODAY,
    copy_file,
    postgresql_version,
    require_postgresql,
    reset_database,
    seed_follow_ups,
)

# isort: split

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm import importing
from crm.models import FollowUp, Organization

EXPORT_URL = "/api/v1/follow-ups/"
TIME_ZONE = "Africa/Lome"


def _labels(choices) -> str:
    """A CASE giving each choice's label in French, as the API's default language does."""
    with translation.override("fr"):
        whens = " ".join(
            f"WHEN '{value}' THEN '{str(label).replace(chr(39), chr(39) * 2)}'"
            for value, label in choices
        )
    return f"CASE {{column}} {whens} END"


def _user_label(alias: str) -> str:
    return (
        f"COALESCE(NULLIF(TRIM({alias}.first_name || ' ' || {alias}.last_name), ''), "
        f"{alias}.username)"
    )


def _local(column: str) -> str:
    return f"to_char({column} AT TIME ZONE '{TIME_ZONE}', 'YYYY-MM-DD HH24:MI:SS')"


def copy_select(where: str = "") -> str:
    """The export's 25 columns, in its order, computed by PostgreSQL.

    The same joins (select_related), labels (French, the API's default), the
    user labels (full name, else user name), local times and ``is_overdue``.
    """
    status_label = _labels(FollowUp.Status.choices).format(column="f.status")
    priority_label = _labels(FollowUp.Priority.choices).format(column="f.priority")
    open_statuses = ", ".join(f"'{status}'" for status in FollowUp.OPEN_STATUSES)
    return f"""
        SELECT f.id, f.title, f.description, f.project_id, p.name, f.organization_id, o.name,
               f.person_id, TRIM(pe.given_name || ' ' || pe.family_name), f.interaction_id,
               f.assignee_id, {_user_label("a")}, f.due_on, f.status, {status_label},
               f.priority, {priority_label},
               f.status IN ({open_statuses}) AND f.due_on < CURRENT_DATE,
               {_local("f.completed_at")}, f.completed_by_id, {_user_label("cb")},
               f.completion_note, f.created_by_id, {_local("f.created_at")},
               {_local("f.updated_at")}
        FROM crm_followup f
        JOIN crm_project p ON p.id = f.project_id
        LEFT JOIN crm_organization o ON o.id = f.organization_id
        LEFT JOIN crm_person pe ON pe.id = f.person_id
        LEFT JOIN auth_user a ON a.id = f.assignee_id
        LEFT JOIN auth_user cb ON cb.id = f.completed_by_id
        {where}
        ORDER BY f.due_on, f.id
    """


@dataclass
class Measure:
    label: str
    rows: int
    seconds: float
    bytes: int
    peak_rss_mb: float | None = None  # growth of the resident set's high-water mark
    queries: int | None = None
    statements: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's memory (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    except OSError:
        return False
    return True


def measured(label: str, run: Callable[[], tuple[int, int]]) -> Measure:
    """Time ``run`` (which returns rows, bytes): peak resident memory, SQL statements.

    The statements are captured during the timed pass (Django logs each
    statement once; the FETCHes of a server-side cursor are not statements).
    """
    can_reset = _reset_peak_rss()
    rss_before = _rss_kb("VmRSS")
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        rows, size = run()
        seconds = time.perf_counter() - started
    peak_rss = (_rss_kb("VmHWM") - rss_before) / 1024 if can_reset else None
    result = Measure(label, rows, seconds, size, peak_rss_mb=peak_rss, queries=len(captured))
    result.statements = [" ".join(query["sql"].split())[:70] for query in captured]
    return result


def python_peak(run: Callable[[], tuple[int, int]]) -> tuple[int, float]:
    """Run again under tracemalloc (which slows Python down: not timed); rows, peak MB."""
    tracemalloc.start()
    try:
        rows, _size = run()
        return rows, tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()


def copy_to(where: str = "") -> tuple[int, int]:
    """COPY the export's columns to STDOUT as CSV; count rows and bytes, keep nothing."""
    lines = size = 0
    sql = f"COPY ({copy_select(where)}) TO STDOUT WITH CSV HEADER"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    return lines - 1, size


def api_export(client: Client, query: str) -> tuple[int, int]:
    """GET the export and consume its body; count rows (lines but the header) and bytes."""
    response = client.get(EXPORT_URL + query, secure=True)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    lines = size = 0
    for block in response.streaming_content:
        size += len(block)
        lines += block.count(b"\n")
    response.close()
    return lines - 1, size


def xlsx_rows(data: bytes) -> int:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return sum(1 for _row in sheet.iter_rows(values_only=True)) - 1


def api_xlsx(client: Client, query: str) -> tuple[int, int]:
    """GET the XLSX export; return the rows it was asked for and the file's size.

    The rows are counted by the caller (reading the workbook back is not timed).
    """
    response = client.get(EXPORT_URL + query, secure=True)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    size = sum(len(block) for block in response.streaming_content)
    response.close()
    return -1, size


def queries_of(run: Callable[[], object]) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured), [" ".join(query["sql"].split())[:70] for query in captured]


def subset_bound(rows: int) -> str:
    """Return the due date up to which about ``rows`` follow-ups fall (the API's filter)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT due_on FROM crm_followup ORDER BY due_on, id OFFSET %s LIMIT 1",
            [max(rows - 1, 0)],
        )
        row = cursor.fetchone()
    return row[0].isoformat() if row else TODAY.isoformat()


# The import.


# The columns of write_organizations' COPY file: what the import reads, and what
# Django sets itself (no database default: timestamps, the mail domains).
COPY_COLUMNS = [
    *importing.ORGANIZATION_COLUMNS,
    "created_at",
    "updated_at",
    "email_domains",
    "country_inferred",
]


def write_organizations(directory: Path, rows: int) -> tuple[Path, Path]:
    """Write ``rows`` organisations as an import CSV, and the same rows for COPY.

    The COPY file holds the same values plus the two timestamps the application
    sets itself (created_at, updated_at have no database default). Every value is
    quoted, so that empty texts stay empty strings rather than NULLs.
    """
    kinds = [value for value, _label in Organization.Kind.choices]
    import_path = directory / "organizations.csv"
    copy_path = directory / "organizations.copy.csv"
    with (
        import_path.open("w", newline="", encoding="utf-8") as import_file,
        copy_path.open("w", newline="", encoding="utf-8") as copy_file_,
    ):
        to_import = csv.writer(import_file)
        to_copy = csv.writer(copy_file_, quoting=csv.QUOTE_ALL)
        to_import.writerow(importing.ORGANIZATION_COLUMNS)
        for n in range(rows):
            values = organization(n, kinds=kinds)
            to_import.writerow(values)
            # email_domains and country_inferred have no database default either:
            # empty and false, as the import leaves them.
            to_copy.writerow(
                [*values, "2026-01-01 09:00:00+00", "2026-01-01 09:00:00+00", "", "false"]
            )
    return import_path, copy_path


def measure_import(rows: int, superuser) -> list[Measure]:
    columns = ", ".join(COPY_COLUMNS)
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as name:
        import_path, copy_path = write_organizations(Path(name), rows)

        # Statements per row, on a dry run of the first 200 rows (rolled back).
        sample = io.BytesIO(b"".join(import_path.open("rb").readlines()[:201]))
        count, _sql = queries_of(
            lambda: importing.import_contacts(
                sample, filename="sample.csv", dry_run=True, by=superuser
            )
        )
        per_row = count / 200

        started = time.perf_counter()
        call_command("import_contacts", str(import_path), "--no-progress", stdout=io.StringIO())
        imported = time.perf_counter() - started
        created = Organization.objects.filter(slug__startswith="imported-").count()
        assert created == rows, (created, rows)

        # The same rows again, by COPY: remove the imported ones first (their
        # history rows stay, nothing refers to them).
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM crm_organization WHERE slug LIKE %s", ["imported-%"])
            cursor.execute("VACUUM ANALYZE crm_organization")
            started = time.perf_counter()
            size = copy_file(
                cursor,
                f"COPY crm_organization ({columns}) FROM STDIN WITH (FORMAT csv)",
                copy_path,
            )
            copied = time.perf_counter() - started
        created = Organization.objects.filter(slug__startswith="imported-").count()
        assert created == rows, (created, rows)
    command = Measure("import_contacts (CSV, all or nothing)", rows, imported, 0)
    command.queries = round(per_row, 1)  # statements per row, here
    command.statements = [str(count)]  # and of the whole 200-row sample
    return [command, Measure("COPY FROM into crm_organization", rows, copied, size)]


# Reporting.


def mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} MB"


def table(measures: list[Measure], baseline: Measure) -> None:
    print("| what | rows | wall time | rows/s | × COPY time | output | peak RSS Δ | SQL |")
    print("|---|---|---|---|---|---|---|---|")
    for m in measures:
        print(
            f"| {m.label} | {m.rows:,} | {m.seconds:.2f} s | {m.rows_per_second:,.0f} | "
            f"{m.seconds / baseline.seconds:.1f} | {mb(m.bytes / 1024 / 1024)} | "
            f"{mb(m.peak_rss_mb)} | {m.queries} |"
        )


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="follow-ups to load")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument(
        "--subset-rows",
        type=int,
        default=10_000,
        help="about how many rows the smaller CSV export and the XLSX export hold",
    )
    parser.add_argument(
        "--import-rows", type=int, default=10_000, help="organisations to import (0: skip)"
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the tracemalloc passes (CSV of the subset and of a quarter of it)",
    )
    parser.add_argument(
        "--force", action="store_true", help="Run on a database whose name lacks 'bench'."
    )
    options = parser.parse_args()
    require_postgresql(force=options.force)

    print(f"PostgreSQL: {postgresql_version()}")
    print(f"Start: {load()}\n")
    reset_database()
    seeded = seed_follow_ups(options.rows, options.users)
    print(
        f"generate_data of {seeded.rows:,} follow-ups: {seeded.seconds:.2f} s "
        f"({seeded.rows_per_second:,.0f} rows/s)\n"
    )

    superuser = get_user_model().objects.create_superuser("bench-admin", "bench@example.org")
    client = Client()
    client.force_login(superuser)
    subset = min(options.subset_rows, options.rows)
    bound = subset_bound(subset)
    csv_subset_query = f"?format=csv&due_before={bound}"
    xlsx_query = f"?format=xlsx&due_before={bound}"

    print(f"## Export of all {options.rows:,} follow-ups, and of those due up to {bound}\n")
    # Warm up (first request: imports, translations, URL resolvers), not measured.
    api_export(client, f"?format=csv&due_before={subset_bound(100)}")
    copy_all = measured("COPY TO, all", copy_to)
    copy_subset = measured("COPY TO, subset", lambda: copy_to(f"WHERE f.due_on <= '{bound}'"))
    csv_all = measured("API CSV, all", lambda: api_export(client, "?format=csv"))
    csv_subset = measured("API CSV, subset", lambda: api_export(client, csv_subset_query))
    xlsx_subset = measured("API XLSX, subset", lambda: api_xlsx(client, xlsx_query))
    xlsx_subset.rows = csv_subset.rows
    # The workbook really holds them (read back, not timed).
    response = client.get(EXPORT_URL + xlsx_query, secure=True)
    in_workbook = xlsx_rows(b"".join(response.streaming_content))
    response.close()
    assert in_workbook == csv_subset.rows, (in_workbook, csv_subset.rows)
    assert csv_all.rows == copy_all.rows == options.rows, (csv_all.rows, copy_all.rows)
    assert csv_subset.rows == copy_subset.rows, (csv_subset.rows, copy_subset.rows)

    for m in (csv_all, csv_subset, xlsx_subset):
        print(f"SQL statements of {m.label} ({m.rows:,} rows): {m.queries}")
        for sql in m.statements:
            print(f"    {sql}")
    print()
    table([copy_all, csv_all], copy_all)
    print()
    table([copy_subset, csv_subset, xlsx_subset], copy_subset)
    print()

    if not options.no_memory:
        print("Peak of Python allocations (tracemalloc) during the CSV export:\n")
        print("| rows | peak Python |")
        print("|---|---|")
        small_bound = subset_bound(max(subset // 4, 1))
        for query in (f"?format=csv&due_before={small_bound}", csv_subset_query):
            rows, peak = python_peak(lambda query=query: api_export(client, query))
            print(f"| {rows:,} | {mb(peak)} |")
        print()

    if options.import_rows:
        print(f"## Import of {options.import_rows:,} organisations\n")
        command, copied = measure_import(options.import_rows, superuser)
        print(
            f"SQL statements per imported row (dry run of 200 rows): {command.queries} "
            f"({command.statements[0]} in all)\n"
        )
        print("| what | rows | wall time | rows/s | × COPY time |")
        print("|---|---|---|---|---|")
        for m in (copied, command):
            print(
                f"| {m.label} | {m.rows:,} | {m.seconds:.2f} s | {m.rows_per_second:,.0f} | "
                f"{m.seconds / copied.seconds:.1f} |"
            )
        print()
    print(f"End: {load()}")


if __name__ == "__main__":
    main()
