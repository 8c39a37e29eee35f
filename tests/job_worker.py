"""A real ``manage.py run_jobs`` process on the test's database (PostgreSQL, transactional)."""

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection


def worker_process(documents) -> subprocess.Popen:
    """Start ``manage.py run_jobs`` on the test's database, its files under ``documents``.

    Only the work under test is in the queue: no scheduled command runs beside it.
    """
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    environment = {
        **os.environ,
        "CRM_SCHEDULE": "0",
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "CRM_DOCUMENTS_ROOT": str(documents),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_jobs", "--no-reload", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
