"""Prepare a local database after ``migrate``: facts, demo data, an admin account.

``make run`` calls this on every start, so every step is safe to repeat and none
overwrites what users have edited since the first run.
"""

import os
import secrets
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

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
        parser.add_argument(
            "--email",
            default=None,
            help="E-mail of the admin account made on the first run (default: "
            "DJANGO_SUPERUSER_EMAIL, else asked for on a terminal).",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Ask nothing; an admin without e-mail gets no daily digest.",
        )

    def handle(self, *args, **options) -> None:
        self._load_facts(verbosity=options["verbosity"])
        # The admin comes before the demo so that the demo gives it follow-ups of
        # its own to look at.
        self._create_admin(email=options["email"], interactive=options["interactive"])
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

    def _admin_email(self, *, email: str | None, interactive: bool) -> str:
        """Return the admin's e-mail: the option, the environment, else ask on a terminal."""
        email = email if email is not None else os.environ.get("DJANGO_SUPERUSER_EMAIL")
        if email is None and interactive and sys.stdin.isatty():
            email = input("E-mail of the admin, for the daily digest (empty to skip): ")
        email = (email or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(f"Not an e-mail address: {email!r}") from error
        else:
            self.stdout.write(
                self.style.WARNING(
                    "Admin account: no e-mail, so no daily digest. Set one in the admin, "
                    "or run with DJANGO_SUPERUSER_EMAIL=… on a new database."
                )
            )
        return email

    def _create_admin(self, *, email: str | None = None, interactive: bool = True) -> None:
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
        email = self._admin_email(email=email, interactive=interactive)
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
