"""Blank the bodies of mail older than the retention; run daily (docs/mail.md)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from crm import services


class Command(BaseCommand):
    help = (
        "Blank the bodies and stored copies of mail received more than "
        "CRM_MAIL_BODY_RETENTION_DAYS days ago, keeping the meeting, the headers "
        "and the attachments. Safe to run twice."
    )

    def handle(self, *args, **options) -> None:
        purged = services.mail_purge_bodies(now=timezone.now())
        self.stdout.write(f"{purged} mail bodies purged.")
