"""The project's WSGI application, plus one bare view for the HTTP benchmark.

``/bench/plain/`` is bench/plain_view.py's plain Django view, behind the
project's middleware and login. ``/bench/bare/`` returns the first 50
follow-ups in the API's order as JSON
through ``values()``: no authentication, no serializer, no middleware. It is
the baseline the follow-up list's page is compared with (bench/run.py); it
exists only in this file, which gunicorn loads for the benchmark, never in the
project's URLs.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings

from crm.wsgi import application as django_application

# The project's pages plus the plain Django view the API is compared with
# (bench/plain_view.py), behind the same middleware and login.
settings.ROOT_URLCONF = "plain_view"

# Production serves hashed static names from collectstatic's manifest; the
# benchmarks do not run collectstatic (pages link to plain names instead).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

BARE_PATH = "/bench/bare/"
FIELDS = ("id", "title", "due_on", "status", "priority", "assignee_id", "project_id")


def application(environ, start_response):
    if environ.get("PATH_INFO") != BARE_PATH:
        return django_application(environ, start_response)
    from django.db import close_old_connections

    from crm.models import FollowUp

    close_old_connections()
    rows = list(FollowUp.objects.order_by("due_on", "id").values(*FIELDS)[:50])
    body = json.dumps(rows, default=str).encode()
    close_old_connections()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
