"""Time the pages a coordinator opens every morning, at two sizes, side by side.

For each size the database is emptied, seeded with COPY (bench/seed.py) and the
pages are fetched through Django's test Client, each figure the median of
``--repeat`` runs after one warm-up, with the number of queries it ran:

- the dashboard, a Staff member's own and Coordination's whole team;
- the admin's follow-up changelist, first page;
- the admin's search on one follow-up's title.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        python bench/pages.py --sizes 10000 1000000

It migrates and empties the database it is given, so it refuses one whose name
does not contain "bench" unless given --force.
"""

import argparse
import statistics
import time

# Django is set up by bench/seed.py: import it first.
from seed import TODAY, require_postgresql, reset_database, seed_follow_ups

# isort: split

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from crm import roles
from crm.models import FollowUp

PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
PAGES = ["dashboard (mine)", "dashboard (team)", "admin changelist", "admin search"]


def measure(client: Client, url: str, repeat: int) -> tuple[float, int, float, int]:
    """Return the median ms to fetch ``url``, its queries, their median ms, the rows shown.

    The rows shown are the follow-ups listed on a staff page (the changelist's
    are its page of 100): the work a page does beyond its SQL is rendering them.
    """
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, sql_times = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        sql_times.append(sum(float(query["time"]) for query in queries))
    shown = response.content.count(b'<li class="follow-up')
    return (
        statistics.median(times) * 1000,
        len(queries),
        statistics.median(sql_times) * 1000,
        shown,
    )


def run_size(rows: int, repeat: int) -> dict[str, tuple[float, int]]:
    reset_database()
    roles.sync_role_permissions()
    seeded = seed_follow_ups(rows, 40, 2_000)
    User = get_user_model()
    staff = User.objects.get(pk=seeded.user_ids[0])
    staff.groups.add(Group.objects.get_or_create(name=roles.STAFF)[0])
    coordinator = User.objects.create_superuser("bench-coordinator", password=None)
    roles.sync_role_permissions()
    title = FollowUp.objects.order_by("-id").values_list("title", flat=True).first()
    urls = {
        "dashboard (mine)": (staff, "/"),
        "dashboard (team)": (coordinator, "/?scope=team"),
        "admin changelist": (coordinator, "/admin/crm/followup/"),
        "admin search": (coordinator, f"/admin/crm/followup/?q={title.replace(' ', '+')}"),
    }
    figures = {}
    with time_machine.travel(TODAY, tick=True):
        for page, (user, url) in urls.items():
            client = Client()
            client.force_login(user)
            figures[page] = measure(client, url, repeat)
            ms, queries, sql_ms, shown = figures[page]
            print(
                f"{rows:>9,} rows  {page:<18} {ms:9.1f} ms  {queries} q  "
                f"SQL {sql_ms:7.1f} ms  {shown} follow-ups listed"
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--force", action="store_true", help="Run on a database whose name lacks 'bench'."
    )
    options = parser.parse_args()
    require_postgresql(force=options.force)
    # No collectstatic here: serve the static files' plain names.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}}
    override_settings(STORAGES=storages).enable()
    results = {rows: run_size(rows, options.repeat) for rows in options.sizes}
    small, large = min(results), max(results)
    print(
        f"\n| page | {small:,} | {large:,} | ratio | SQL at {small:,} | SQL at {large:,} | "
        "SQL ratio | listed |\n|---|---|---|---|---|---|---|---|"
    )
    for page in PAGES:
        (a, qa, sa, la), (b, qb, sb, lb) = results[small][page], results[large][page]
        print(
            f"| {page} | {a:.0f} ms, {qa} q | {b:.0f} ms, {qb} q | {b / a:.2f} "
            f"| {sa:.0f} ms | {sb:.0f} ms | {sb / sa:.2f} | {la} → {lb} |"
        )
    search, changelist = results[large]["admin search"][0], results[large]["admin changelist"][0]
    print(f"| admin search ÷ changelist at {large:,} | | | {search / changelist:.2f} |")


if __name__ == "__main__":
    main()
