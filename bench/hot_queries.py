"""Benchmark the hot reads of the follow-up pages on PostgreSQL at scale.

Loads N follow-ups with PostgreSQL's COPY (the fastest way in, and the baseline
the brief measures against), then times the queries the dashboard and the API
run, and prints each query plan's top node so a lost index shows at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        DJANGO_SECRET_KEY=bench python bench/hot_queries.py --rows 1000000

It creates the database it is given from scratch (migrate), so never point it
at a database that holds real data.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm.models import FollowUp, Organization, Partnership, Programme, Project  # noqa: E402

TODAY = date(2026, 1, 15)
STATUSES = ["open"] * 5 + ["in_progress", "waiting"] + ["done"] * 12 + ["cancelled"]


def seed(rows: int, users: int, organizations: int) -> float:
    """Load ``rows`` follow-ups with COPY; return the seconds COPY took."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"bench{n}", is_staff=True) for n in range(users)], ignore_conflicts=True
    )
    user_ids = list(User.objects.values_list("id", flat=True))
    funder = Organization.objects.create(slug="bench-funder", name="Funder", kind="other")
    programme = Programme.objects.create(
        slug="bench", name="Bench", funder=funder, country="TG", status="formulation"
    )
    projects = [
        Project.objects.create(programme=programme, code=f"p{n}", name=f"P{n}", sector="ict")
        for n in range(3)
    ]
    Organization.objects.bulk_create(
        [Organization(slug=f"o{n}", name=f"O{n}", kind="company") for n in range(organizations)]
    )
    org_ids = list(Organization.objects.values_list("id", flat=True))
    Partnership.objects.bulk_create(
        [
            Partnership(organization_id=o, project=random.choice(projects), role="other")
            for o in org_ids
        ]
    )

    rng = random.Random(42)
    buffer = io.StringIO()
    for n in range(rows):
        status = rng.choice(STATUSES)
        due = TODAY + timedelta(days=rng.randint(-400, 400))
        done = status == "done"
        buffer.write(
            "\t".join(
                [
                    f"Follow-up {n}",
                    "",
                    str(rng.choice(projects).pk),
                    str(rng.choice(org_ids)),
                    str(rng.choice(user_ids)),
                    due.isoformat(),
                    status,
                    "normal",
                    "2026-01-01 10:00:00+00" if done else r"\N",
                    "Done." if done else "",
                    "2026-01-01" if status == "waiting" else r"\N",
                    "2026-01-01 09:00:00+00",
                    "2026-01-01 09:00:00+00",
                ]
            )
            + "\n"
        )
    columns = (
        "title, description, project_id, organization_id, assignee_id, due_on, status, "
        "priority, completed_at, completion_note, waiting_since, created_at, updated_at"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY crm_followup ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute("ANALYZE crm_followup")
    return time.perf_counter() - started


def timed(label: str, queryset, *, count: bool = False, repeat: int = 7) -> None:
    """Print the median time to evaluate (or count) ``queryset`` and its plan's scan."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        queryset.count() if count else list(queryset.all())
        times.append(time.perf_counter() - started)
    plan = queryset.explain().splitlines()
    # The index (or its absence) is what matters: show the line that names it.
    scan = next(
        (line.strip() for line in plan if "Index" in line),
        next((line.strip() for line in plan if "Scan" in line), plan[0].strip()),
    )
    print(f"| {label} | {statistics.median(times) * 1000:.1f} ms | `{scan[:90]}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--organizations", type=int, default=2_000)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL=postgres://…).")

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    seconds = seed(options.rows, options.users, options.organizations)
    print(
        f"COPY of {options.rows:,} follow-ups: {seconds:.2f} s "
        f"({options.rows / seconds:,.0f} rows/s)\n"
    )

    user = FollowUp.objects.values_list("assignee", flat=True).first()
    follow_ups = FollowUp.objects
    print("| query | median | plan |")
    print("|---|---|---|")
    timed("one user's open follow-ups", follow_ups.open().for_assignee(user).order_by("due_on"))
    timed("overdue, first 50", follow_ups.overdue(today=TODAY).order_by("due_on")[:50])
    timed("due within 7 days", follow_ups.due_within(7, today=TODAY))
    timed("overdue, count", follow_ups.overdue(today=TODAY), count=True)
    timed("stale partnerships", Partnership.objects.stale(today=TODAY))


if __name__ == "__main__":
    main()
