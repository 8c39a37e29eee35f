"""Time an import of any size through the staff pages and its two jobs (issue 23, point 3).

    DATABASE_URL=postgres://… python bench/import_job.py [--rows 100000]

Writes a CSV of ``--rows`` people, uploads it on ``/imports/new/`` as a
superuser (Django's test client, in this process), runs the check and the
import as the worker would (``crm.importing.jobs.run``), and prints how long
each request and each job took. The people it creates (slugs
``bench-import-…``) and its jobs are deleted first, so it can run again on the
same database. Its figures are in docs/performance.md, section 11.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    from crm.importing import jobs as import_jobs
    from crm.models import ImportJob, Person

    setup_test_environment()
    user = get_user_model().objects.filter(username="bench-importer").first()
    user = user or get_user_model().objects.create_superuser("bench-importer", "b@example.invalid")
    Person.objects.filter(slug__startswith="bench-import-").delete()
    ImportJob.objects.filter(requested_by=user).delete()
    lines = ["slug,given_name,family_name,email"]
    lines += [
        f"bench-import-{n:07d},Given{n},Family{n},bench{n}@example.invalid"
        for n in range(options.rows)
    ]
    content = ("\n".join(lines) + "\n").encode()
    client = Client()
    client.force_login(user)

    def timed(label, call):
        started = time.perf_counter()
        result = call()
        print(f"{label:<12} {time.perf_counter() - started:8.2f} s", flush=True)
        return result

    with (
        tempfile.TemporaryDirectory() as documents,
        override_settings(
            STORAGES={
                **settings.STORAGES,
                "documents": {
                    "BACKEND": "crm.storage.PrivateFileSystemStorage",
                    "OPTIONS": {"location": documents, "base_url": None},
                },
                "staticfiles": {
                    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
                },
            }
        ),
    ):
        upload = SimpleUploadedFile("people.csv", content, "text/csv")
        response = timed(
            "upload", lambda: client.post("/imports/new/", {"kind": "people", "file": upload})
        )
        assert response.status_code == 302, response.status_code
        job = ImportJob.objects.get(requested_by=user)
        timed("check job", lambda: import_jobs.run(job.pk, task_id=job.task_id))
        page = f"/imports/{job.pk}/"
        assert timed("preview", lambda: client.get(page)).status_code == 200
        assert timed("confirm", lambda: client.post(f"{page}confirm/")).status_code == 302
        job.refresh_from_db()
        timed("import job", lambda: import_jobs.run(job.pk, task_id=job.task_id))
        assert timed("result", lambda: client.get(page)).status_code == 200
    job.refresh_from_db()
    created = Person.objects.filter(slug__startswith="bench-import-").count()
    size = len(content) / 1e6
    print(f"{size:.1f} MB, {options.rows:,} rows: {job.status}, {created:,} people created")
    if job.status != "done" or created != options.rows:
        sys.exit(1)


if __name__ == "__main__":
    main()
