"""Delete export-log entries older than the retention; run daily (docs/deploy.md)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import audit


class Command(BaseCommand):
    help = (
        "Delete export-log entries (exports and calendar fetches) older than "
        "CRM_EXPORT_LOG_RETENTION_DAYS days, or --days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            metavar="N",
            help="Keep the last N days (default: CRM_EXPORT_LOG_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, **options) -> None:
        days = options["days"]
        if days is None:
            days = settings.CRM_EXPORT_LOG_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        count = audit.purge(older_than_days=days, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(f"Export log: {verb} {count} entries older than {days} days.")
