"""Import organisations or people (with affiliations) from a CSV or XLSX file.

The whole file is one transaction: with any bad row nothing is saved, and every
bad row is named. Rows match existing records by slug, so running the same file
again creates nothing new. A progress bar is written to stderr.
"""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.importing import ImportFileError, count_rows, import_contacts

MAX_ERRORS_SHOWN = 50


class Progress:
    """A plain progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int | None, stream, *, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.drawn_at = 0.0
        self.done = 0

    def __call__(self, row_number: int) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and now - self.drawn_at >= 0.1:
            self.drawn_at = now
            self.draw()

    def draw(self) -> None:
        if self.total:
            share = min(self.done / self.total, 1)
            bar = "#" * int(share * 30)
            self.stream.write(f"\r[{bar:<30}] {self.done}/{self.total} rows ({share:.0%})")
        else:
            self.stream.write(f"\r{self.done} rows")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.draw()
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Import organisations or people (with their affiliations) from a CSV or XLSX "
        "file, matching existing records by slug; one bad row rejects the whole file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A .csv (UTF-8) or .xlsx file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report what would change, saving nothing.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args, file: Path, dry_run: bool, no_progress: bool, **options) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        show = not no_progress and options["verbosity"] > 0
        try:
            # Counting opens the file too: a corrupt XLSX fails here already.
            progress = Progress(count_rows(file), sys.stderr, enabled=show)
            with file.open("rb") as stream:
                result = import_contacts(
                    stream, filename=file.name, dry_run=dry_run, progress=progress
                )
        except ImportFileError as error:
            # A clean message, no traceback: the file, not the program, is wrong.
            raise CommandError(f"{file.name}: {error}") from error
        progress.finish()
        if result.error_count:
            shown = "\n".join(f"  {error}" for error in result.errors[:MAX_ERRORS_SHOWN])
            more = result.error_count - min(len(result.errors), MAX_ERRORS_SHOWN)
            if more > 0:
                shown += f"\n  … and {more} more."
            raise CommandError(
                f"{file.name}: {result.error_count} error(s); nothing was imported.\n{shown}"
            )
        summary = (
            f"{result.rows} rows of {result.kind}: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged"
        )
        if result.kind == "people":
            summary += (
                f"; affiliations: {result.affiliations_created} created, "
                f"{result.affiliations_updated} updated"
            )
        if dry_run:
            self.stdout.write(f"Dry run, nothing saved. {summary}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported. {summary}."))
