"""Shared set-up of the benchmarks: Django, a scratch PostgreSQL database, COPY seeding.

Importing this module configures Django (``crm.settings``) for a benchmark run:
a throw-away secret key, ``testserver`` allowed (for Django's test Client) and
DEBUG off unless the environment says otherwise. The scripts then call
``require_postgresql()``, ``reset_database()`` and ``seed_follow_ups()``.

The follow-ups are loaded with PostgreSQL's COPY: the rows are first written to
a temporary file (not timed), then streamed into COPY (timed), so that memory
does not grow with the number of rows and the figure is the database's own
ingest speed, the baseline the benchmarks compare against.
"""

import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm.models import Organization, Partnership, Programme, Project  # noqa: E402

# The benchmarks' "today": due dates are spread around it.
TODAY = date(2026, 1, 15)
STATUSES = ["open"] * 5 + ["in_progress", "waiting"] + ["done"] * 12 + ["cancelled"]
FOLLOW_UP_COLUMNS = (
    "title, description, project_id, organization_id, assignee_id, due_on, status, "
    "priority, completed_at, completed_by_id, completion_note, waiting_since, "
    "created_by_id, created_at, updated_at"
)
COPY_BLOCK = 1 << 20  # bytes handed to COPY at a time


@dataclass
class Seeded:
    rows: int
    copy_seconds: float
    copy_bytes: int
    user_ids: list[int]
    organization_ids: list[int]
    project_ids: list[int]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.copy_seconds


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


def _write_follow_ups(path: Path, rows: int, rng, projects, org_ids, user_ids) -> None:
    with path.open("w", encoding="utf-8") as file:
        for n in range(rows):
            status = rng.choice(STATUSES)
            due = TODAY + timedelta(days=rng.randint(-400, 400))
            done = status == "done"
            assignee = rng.choice(user_ids)
            file.write(
                "\t".join(
                    [
                        f"Follow-up {n}",
                        "",
                        str(rng.choice(projects)),
                        str(rng.choice(org_ids)),
                        str(assignee),
                        due.isoformat(),
                        status,
                        "normal",
                        "2026-01-01 10:00:00+00" if done else r"\N",
                        str(assignee) if done else r"\N",
                        "Done." if done else "",
                        "2026-01-01" if status == "waiting" else r"\N",
                        str(rng.choice(user_ids)),
                        "2026-01-01 09:00:00+00",
                        "2026-01-01 09:00:00+00",
                    ]
                )
                + "\n"
            )


def seed_follow_ups(rows: int, users: int, organizations: int, *, seed: int = 42) -> Seeded:
    """Create users, organisations, projects and partnerships, then COPY ``rows`` follow-ups.

    Only the COPY itself is timed (not writing the file, nor the VACUUM ANALYZE after).
    """
    rng = random.Random(seed)
    User = get_user_model()
    User.objects.bulk_create(
        [
            User(username=f"bench{n}", first_name="Bench", last_name=f"User {n}", is_staff=True)
            for n in range(users)
        ],
        ignore_conflicts=True,
    )
    user_ids = list(User.objects.filter(username__startswith="bench").values_list("id", flat=True))
    funder = Organization.objects.create(slug="bench-funder", name="Funder", kind="other")
    programme = Programme.objects.create(
        slug="bench", name="Bench", funder=funder, country="TG", status="formulation"
    )
    projects = [
        Project.objects.create(programme=programme, code=f"p{n}", name=f"P{n}", sector="ict").pk
        for n in range(3)
    ]
    Organization.objects.bulk_create(
        [Organization(slug=f"o{n}", name=f"O{n}", kind="company") for n in range(organizations)]
    )
    org_ids = list(Organization.objects.filter(slug__startswith="o").values_list("id", flat=True))
    Partnership.objects.bulk_create(
        [
            Partnership(organization_id=o, project_id=rng.choice(projects), role="other")
            for o in org_ids
        ]
    )

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as directory:
        path = Path(directory) / "follow_ups.tsv"
        _write_follow_ups(path, rows, rng, projects, org_ids, user_ids)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            sent = copy_file(cursor, f"COPY crm_followup ({FOLLOW_UP_COLUMNS}) FROM STDIN", path)
            seconds = time.perf_counter() - started
            # Fresh statistics (and a visibility map) before anything is timed.
            cursor.execute("VACUUM ANALYZE crm_followup")
    return Seeded(rows, seconds, sent, user_ids, org_ids, projects)
