"""Apply the retention periods (crm/retention.py); run daily, from any number of hosts.

People with no contact for CRM_PERSON_RETENTION_YEARS are erased, e-mail bodies
past their period blanked, the export and access logs cut. ``--dry-run`` says
what a run would do, naming the people, and changes nothing. Two hosts starting
it at once: one runs, the other says so and does nothing.
"""

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone, translation

from crm import locks, retention

# The PostgreSQL advisory lock of this command (crm.locks): "crm_rete".
LOCK_KEY = 0x6372_6D5F_7265_7465


class Command(BaseCommand):
    help = (
        "Erase people with no contact for CRM_PERSON_RETENTION_YEARS, blank e-mail bodies "
        "and delete export and access log entries past their periods. Run daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be erased or deleted; change nothing.",
        )

    def handle(self, *args, **options) -> None:
        # In English, as the other commands write their reports.
        with translation.override("en"):
            self._handle(dry_run=options["dry_run"])

    def _handle(self, *, dry_run: bool) -> None:
        with locks.exclusive_run("apply_retention", LOCK_KEY) as taken:
            if not taken:
                self.stdout.write("Another apply_retention is running; nothing done.")
                return
            report = retention.run(now=timezone.now(), dry_run=dry_run)
        verb = "would" if dry_run else "done"
        for category in report.categories:
            self.stdout.write(f"{category.label} ({category.period}): {verb} {category.count}")
            for person, kept_from in category.listed:
                # A dry run names them for the officer; a real run has erased the names.
                who = str(person) if dry_run else f"#{person.pk}"
                self.stdout.write(f"    {who}: no contact since {kept_from:%Y-%m-%d}")
            if category.count > len(category.listed) and category.listed:
                self.stdout.write(f"    … and {category.count - len(category.listed)} more")
            for error in category.errors:
                self.stdout.write(f"    skipped {error}")
        if dry_run:
            self.stdout.write("Dry run: nothing changed.")
