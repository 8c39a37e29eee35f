"""Delete the reads of personal data logged longer ago than CRM_ACCESS_LOG_RETENTION_DAYS."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from crm import retention


class Command(BaseCommand):
    help = (
        "Delete the log of who read a person's data (pages opened, lists of people "
        "exported) older than CRM_ACCESS_LOG_RETENTION_DAYS (365). apply_retention "
        "does it with the other periods."
    )

    def handle(self, *args, **options) -> None:
        deleted = retention.purge_access_log(now=timezone.now())
        self.stdout.write(f"{deleted} access log entries deleted.")
