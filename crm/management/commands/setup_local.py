"""Prepare a local database after ``migrate``: facts, demo data, an admin account.

``make run`` calls this on every start, so every step is safe to repeat and none
overwrites what users have edited since the first run.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import roles
from crm.models import Source

SOURCE_FIXTURE = "compact_togo_2023.json"
SOURCE_SLUG = "communique-compact-togo-2023-10"


class Command(BaseCommand):
    help = (
        "Load the source facts (once), the demonstration data and a local admin "
        "account. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not create the demonstration data."
        )

    def handle(self, *args, **options) -> None:
        self._load_facts(verbosity=options["verbosity"])
        # The admin comes before the demo so that the demo gives it follow-ups of
        # its own to look at.
        self._create_admin()
        if options["no_demo"]:
            self.stdout.write("Demo data: skipped (--no-demo).")
        else:
            call_command("load_demo", stdout=self.stdout, stderr=self.stderr)

    def _load_facts(self, *, verbosity: int) -> None:
        # Loading a fixture again would overwrite every record it holds with the
        # file's values, undoing users' edits: load it only into a database that
        # has never had it.
        if Source.objects.filter(slug=SOURCE_SLUG).exists():
            self.stdout.write(f"Source facts: already loaded ({SOURCE_SLUG}), left as they are.")
            return
        call_command(
            "loaddata",
            str(settings.BASE_DIR / "fixtures" / SOURCE_FIXTURE),
            verbosity=verbosity,
            stdout=self.stdout,
            stderr=self.stderr,
        )
        self.stdout.write(f"Source facts: loaded from fixtures/{SOURCE_FIXTURE}.")

    def _create_admin(self) -> None:
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(
                f"Admin account: {existing.get_username()} already exists, left as it is."
            )
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"A user named {username!r} exists but is not a superuser. Set "
                "DJANGO_SUPERUSER_USERNAME to another name, or make that user a "
                "superuser in the admin."
            )
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        # The address the daily digest goes to; it can be set later in the admin.
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        user = User.objects.create_superuser(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=roles.COORDINATION))
        if generated:
            self.stdout.write(
                self.style.WARNING(f"Admin account: {username} / {password} — shown once")
            )
        else:
            self.stdout.write(
                f"Admin account: {username} created, password from DJANGO_SUPERUSER_PASSWORD."
            )
