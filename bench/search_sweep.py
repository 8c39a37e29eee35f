"""Time the searches of issue 22 on a database already filled by ``generate_data``.

Each URL is fetched in-process through Django's test Client, logged in as a
superuser (created if missing), once to warm up then ``--runs`` times: the best
time and the number of SQL statements of the last run are printed as a
Markdown table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        python manage.py generate_data --follow-ups 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python bench/search_sweep.py

It only reads (and adds the superuser), so it does not empty the database.
"""

import argparse
import time

# Django is set up by bench/seed.py: import it first.
from seed import require_postgresql

# isort: split

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

URLS = [
    "/search/?q=synthetic",
    "/search/?q=0004567",
    "/search/?q=visa",
    "/admin/crm/followup/?q=0004567",
    "/admin/crm/followup/?q=synthetic",
    "/admin/crm/followup/",
    "/admin/crm/interaction/?q=synthetic",
]


def best_of(client: Client, url: str, runs: int) -> tuple[float, int]:
    """Return the best ms of ``runs`` fetches of ``url`` and the statements of the last."""
    assert client.get(url, secure=True).status_code == 200, url
    best, statements = float("inf"), 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            best = min(best, time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        statements = len(captured)
    return best * 1000, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("urls", nargs="*", default=URLS)
    options = parser.parse_args()
    require_postgresql(force=options.force)
    # No collectstatic here: serve the static files' plain names.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()
    User = get_user_model()
    user = User.objects.filter(username="bench-search").first()
    if user is None:
        user = User.objects.create_superuser("bench-search", password=None)
    client = Client()
    client.force_login(user)
    print("| request | time | statements |\n|---|---|---|")
    for url in options.urls:
        ms, statements = best_of(client, url, options.runs)
        print(f"| `{url}` | {ms:,.0f} ms | {statements} |", flush=True)


if __name__ == "__main__":
    main()
