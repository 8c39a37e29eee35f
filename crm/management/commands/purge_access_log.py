"""Delete the reads of personal data logged longer ago than CRM_ACCESS_LOG_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.models import PersonRead


class Command(BaseCommand):
    help = (
        "Delete the log of who read a person's data (pages opened, lists of people "
        "exported) older than CRM_ACCESS_LOG_RETENTION_DAYS (365). Run daily."
    )

    def handle(self, *args, **options) -> None:
        cutoff = timezone.now() - timedelta(days=settings.CRM_ACCESS_LOG_RETENTION_DAYS)
        # Served by crm_personread_read_at_idx.
        deleted, _by_model = PersonRead.objects.filter(read_at__lt=cutoff).delete()
        self.stdout.write(f"{deleted} access log entries older than {cutoff:%Y-%m-%d} deleted.")
