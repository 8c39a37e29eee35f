"""`make bench-imports`: the peak memory of `import_contacts --dry-run` (issue 17).

Each file is written to a scratch directory, then imported by
``manage.py import_contacts FILE --dry-run --no-progress`` in a child process,
whose peak resident set size is read from the kernel (``os.wait4``'s
``ru_maxrss``): what the operating system had to give the import, Python,
Django and the database driver included. The files:

- ``--rows`` organisations as CSV (every column filled, as
  bench/export_vs_copy.py writes them);
- the same rows as XLSX, and the largest XLSX files the import takes: a sheet
  of ``MAX_SHEET_BYTES`` unpacked, and shared strings of ``MAX_OTHER_ENTRY_BYTES``;
- a CSV of ``--line-mb`` megabytes on one line after its header (the hostile
  file of the issue);
- ``--rows`` rows that are all wrong (every row an error).

It needs a migrated database (``DATABASE_URL``, or the SQLite file), and
writes nothing to it: every import is a dry run.

    python bench/import_memory.py --rows 1000000 --write docs/import_memory.md
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = ["slug", "name", "short_name", "kind", "country", "city", "website", "description"]
COLUMNS += ["is_identified", "needs_verification", "verification_note"]


# Kinds of organisation the rows cycle through (values of Organization.Kind).
KINDS = ("company", "university", "investor")


def organization(n: int, *, kinds=KINDS) -> list[str]:
    """Row ``n`` of a synthetic organisations file, every column filled (also export_vs_copy)."""
    flagged = n % 10 == 0
    return [
        f"imported-{n}",
        f"Imported organisation {n}",
        f"IO{n}",
        kinds[n % len(kinds)],
        "US" if n % 2 else "TG",
        "Washington" if n % 2 else "Lomé",
        f"https://org{n}.example.org",
        f"Organisation {n}, met during the mission.",
        "true",
        "true" if flagged else "false",
        "Name as printed in the source." if flagged else "",
    ]


def write_csv(path: Path, rows: int, *, wrong: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(rows):
            writer.writerow(organization(n, kinds=("not-a-kind",)) if wrong else organization(n))
    return path


def write_xlsx(path: Path, rows: int, *, shared: bool = False) -> Path:
    # Excel writes text once, in the shared strings, which openpyxl holds whole;
    # XlsxWriter's constant_memory writes it inline, in the sheet, streamed.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, COLUMNS)
    for n in range(rows):
        # write_string: text as typed (write_row would turn the URLs into links).
        for column, value in enumerate(organization(n)):
            sheet.write_string(n + 1, column, value)
    workbook.close()
    return path


def write_long_line(path: Path, megabytes: int) -> Path:
    with path.open("w", encoding="utf-8") as file:
        file.write(",".join(COLUMNS) + "\n")
        block = "x," * (1024 * 1024 // 2)
        for _ in range(megabytes):
            file.write(block)
        file.write("\n")
    return path


def largest_xlsx_rows() -> int:
    """How many rows of ``organization`` fill the largest sheet the import takes."""
    from crm.importing.reading import MAX_SHEET_BYTES

    # One row of inline strings in the sheet's XML, as constant_memory writes it.
    row = organization(500_000)
    cells = sum(
        len(f'<c r="AA1000000" t="inlineStr"><is><t>{value}</t></is></c>') for value in row
    )
    return int(MAX_SHEET_BYTES * 0.95) // (
        cells + len('<row r="1000000" spans="1:11">' + "</row>")
    )


def largest_shared_rows() -> int:
    """How many rows of ``organization`` fill the largest shared strings the import takes."""
    from crm.importing.reading import MAX_OTHER_ENTRY_BYTES

    # The values each row adds to the shared strings (the others repeat).
    row = organization(500_001)
    unique = [row[0], row[1], row[2], row[6], row[7]]
    per_row = sum(len(f"<si><t>{value}</t></si>") for value in unique)
    return int(MAX_OTHER_ENTRY_BYTES * 0.95) // per_row


def peak_of_import(path: Path) -> dict:
    """Run the dry run in a child process; return its peak RSS, time and outcome.

    A child's peak counts the pages it shared with its parent between fork and
    exec, and this process holds the files it wrote: the import is started by
    a small process of its own (``--measure``), which reports its peak.
    """
    measured = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(measured.stdout)


def measure(path: Path) -> None:
    """Run the import of ``path`` and print its peak RSS, time and outcome as JSON."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        command = [sys.executable, str(ROOT / "manage.py"), "import_contacts", str(path)]
        process = subprocess.Popen(
            [*command, "--dry-run", "--no-progress"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # wait4, not Popen.wait: it gives this child's own resource usage.
        _pid, status, usage = os.wait4(process.pid, 0)
        output.seek(0)
        # The command's own words: its error, else its last line (logging comes first).
        lines = [line for line in output.read().splitlines() if line.strip()]
        said = [line for line in lines if line.startswith("CommandError")][:1] or lines[-1:]
    figure = {
        "peak_mib": usage.ru_maxrss / 1024,  # Linux reports KiB.
        "seconds": time.perf_counter() - started,
        "exit": os.waitstatus_to_exitcode(status),
        "says": said[0][:200] if said else "",
    }
    print(json.dumps(figure))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--line-mb", type=int, default=100)
    parser.add_argument("--write", type=Path, help="write the table there (Markdown)")
    parser.add_argument(
        "--smoke", action="store_true", help="the largest XLSX files at --rows rows too (CI)"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        measure(options.measure)
        return

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()

    with tempfile.TemporaryDirectory(prefix="crm-import-memory-") as scratch:
        directory = Path(scratch)
        largest = options.rows if options.smoke else largest_xlsx_rows()
        shared = options.rows if options.smoke else largest_shared_rows()
        files = [
            (f"CSV, {options.rows:,} rows", write_csv(directory / "rows.csv", options.rows)),
            (
                f"CSV, {options.rows:,} rows, every row wrong",
                write_csv(directory / "wrong.csv", options.rows, wrong=True),
            ),
            (
                f"CSV, one line of {options.line_mb} MB",
                write_long_line(directory / "line.csv", options.line_mb),
            ),
            (
                f"XLSX, {largest:,} rows (the largest sheet taken)",
                write_xlsx(directory / "largest.xlsx", largest),
            ),
            (
                f"XLSX, {shared:,} rows in shared strings (the largest taken)",
                write_xlsx(directory / "shared.xlsx", shared, shared=True),
            ),
            (f"XLSX, {options.rows:,} rows", write_xlsx(directory / "rows.xlsx", options.rows)),
        ]
        lines = [
            "| file | size on disk | peak RSS | time | outcome |",
            "|---|---|---|---|---|",
        ]
        for label, path in files:
            figure = peak_of_import(path)
            size = path.stat().st_size / (1024 * 1024)
            outcome = "read" if figure["exit"] == 0 else "refused"
            line = (
                f"| {label} | {size:,.1f} MiB | {figure['peak_mib']:,.0f} MiB "
                f"| {figure['seconds']:,.1f} s | {outcome}: {figure['says']} |"
            )
            print(line, flush=True)
            lines.append(line)
    if options.write:
        heading = [
            "# Peak memory of import_contacts",
            "",
            f"Written by `python bench/import_memory.py --rows {options.rows} "
            f"--line-mb {options.line_mb}` (`make bench-imports`) on {time.strftime('%Y-%m-%d')}: "
            "each file imported by `manage.py import_contacts FILE --dry-run --no-progress` "
            "in a process of its own, whose peak resident set size the kernel reports "
            "(Python, Django and the database driver included). The limit is 200 MB.",
            "",
        ]
        options.write.write_text("\n".join(heading + lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
