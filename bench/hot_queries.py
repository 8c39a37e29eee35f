"""Benchmark the hot reads of the follow-up pages on PostgreSQL at scale.

Loads N follow-ups with PostgreSQL's COPY (the fastest way in, and the baseline
the brief measures against), then times the queries the dashboard and the API
run, and prints each query plan's top node so a lost index shows at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        DJANGO_SECRET_KEY=bench python bench/hot_queries.py --rows 1000000

It migrates and empties the database it is given (bench/seed.py, shared with
bench/export_vs_copy.py), so never point it at a database that holds real data:
it refuses one whose name does not contain "bench" unless given --force.
"""

import argparse
import statistics
import time

# Django is set up by bench/seed.py: import it first.
from seed import TODAY, require_postgresql, reset_database, seed_follow_ups

# isort: split

from crm.models import FollowUp, Partnership


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
    parser.add_argument(
        "--force", action="store_true", help="Run on a database whose name lacks 'bench'."
    )
    options = parser.parse_args()
    require_postgresql(force=options.force)

    reset_database()
    seeded = seed_follow_ups(options.rows, options.users)
    print(
        f"generate_data of {options.rows:,} follow-ups: {seeded.seconds:.2f} s "
        f"({seeded.rows_per_second:,.0f} rows/s)\n"
    )

    user = FollowUp.objects.values_list("assignee", flat=True).first()
    follow_ups = FollowUp.objects
    print("| query | median | plan |")
    print("|---|---|---|")
    timed("one user's open follow-ups", follow_ups.open().for_assignee(user).order_by("due_on"))
    timed("overdue, first 50", follow_ups.overdue(today=TODAY).order_by("due_on")[:50])
    timed("due today or this week", follow_ups.due_soon(today=TODAY))
    timed("overdue, count", follow_ups.overdue(today=TODAY), count=True)
    timed("stale partnerships", Partnership.objects.stale(today=TODAY))


if __name__ == "__main__":
    main()
