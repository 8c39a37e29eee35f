"""Shared set-up of the benchmarks: Django, a scratch PostgreSQL database, the data.

Importing this module configures Django (``crm.settings``) for a benchmark run:
a throw-away secret key, ``testserver`` allowed (for Django's test Client) and
DEBUG off unless the environment says otherwise. The scripts then call
``require_postgresql()``, ``reset_database()`` and ``seed_follow_ups()``, which
runs ``manage.py generate_data``: one generator for benchmarks and load tests
(COPY on PostgreSQL, a fixed seed, everything in proportion).
"""

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DJANGO_DEBUG", "0")
# The benchmarks time the exports' writers, answered at once: no export becomes
# a job (crm/jobs.py), whatever its size.
os.environ.setdefault("CRM_EXPORT_JOB_THRESHOLD", str(10**12))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# Production serves hashed static names from collectstatic's manifest; the
# benchmarks do not run collectstatic (pages link to plain names instead).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from crm.management.commands.generate_data import TODAY  # noqa: E402, F401
from crm.models import FollowUp, Organization, Project  # noqa: E402

COPY_BLOCK = 1 << 20  # bytes handed to COPY at a time


@dataclass
class Seeded:
    rows: int
    seconds: float  # generate_data's whole run
    user_ids: list[int]
    organization_ids: list[int]
    project_ids: list[int]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def require_postgresql(*, force: bool = False) -> None:
    """Exit unless the database is PostgreSQL, a scratch one, and DEBUG is off."""
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL=postgres://…), not SQLite.")
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name and not force:
        sys.exit(
            f"Database {name!r}: this script empties the database it is given; "
            "use one whose name contains 'bench' (or pass --force)."
        )
    if settings.DEBUG:
        sys.exit("Run with DJANGO_DEBUG off: debug mode keeps every query in memory.")


def reset_database() -> None:
    """Bring the scratch database to the current schema, then empty it."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def postgresql_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0]


def copy_file(cursor, sql: str, path: Path) -> int:
    """Stream the file at ``path`` into ``COPY … FROM STDIN``; return the bytes sent."""
    sent = 0
    with path.open("rb") as file, cursor.copy(sql) as copy:
        while block := file.read(COPY_BLOCK):
            copy.write(block)
            sent += len(block)
    return sent


def seed_follow_ups(rows: int, users: int = 40) -> Seeded:
    """Generate ``rows`` follow-ups and all that goes with them (timed), then ANALYZE."""
    started = time.perf_counter()
    call_command("generate_data", follow_ups=rows, users=users, no_progress=True, verbosity=0)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Fresh statistics (and a visibility map) before anything is timed.
        cursor.execute("VACUUM ANALYZE")
    users_ = get_user_model().objects.filter(username__startswith="synthetic-")
    return Seeded(
        FollowUp.objects.count(),
        seconds,
        list(users_.values_list("id", flat=True)),
        list(Organization.objects.values_list("id", flat=True)),
        list(Project.objects.values_list("id", flat=True)),
    )
