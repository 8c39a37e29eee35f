"""The full XLSX export as a job, over HTTP (issue 23's measurement).

Gunicorn serves the project (gunicorn.conf.py, ``GUNICORN_TIMEOUT=20``) and
``manage.py run_jobs`` runs beside it, as in production, on the bench
database; a coordinator's token asks ``/api/v1/follow-ups/?format=xlsx`` for
every follow-up. The request must answer 202 at once, the job must write every
row although that takes longer than a request may last, and the file it
writes must read back (openpyxl, read-only) with as many rows as there are
follow-ups. Any check that fails raises ``JobExportFailed``: ``make bench`` and
``make bench-smoke`` stop with a non-zero status.

The threshold is given to both processes through their environment:
production's 10,000, or half the size when the size is not above it, so that
every size, the smoke test's tiny ones too, exports through a job.
"""

import datetime
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from django.db import connection

# Django is set up by bench/seed.py, which bench/run.py imports first.
from crm.models import ApiToken, FollowUp

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_TIMEOUT = 20
# The API's answer to an export that became a job; it only counts and queues.
ACCEPT_LIMIT_SECONDS = 2.0
# Production's CRM_EXPORT_JOB_THRESHOLD (crm/settings.py).
PRODUCTION_THRESHOLD = 10_000
POLL_SECONDS = 0.5
# A job that has not finished by then is stuck: the bench stops.
JOB_LIMIT_SECONDS = 3_600
SECTION = "## The full XLSX export as a job (issue 23)"


class JobExportFailed(Exception):
    """A check of the job export failed."""


@dataclass
class JobExport:
    """What one size's job export measured."""

    size: int
    threshold: int
    accept_seconds: float = 0.0
    accept_status: int = 0
    queued_seconds: float = 0.0  # from the 202 to the job seen running
    job_seconds: float = 0.0  # from the request to the job seen done
    server_seconds: float = 0.0  # the job's finished_at - created_at
    rows: int = 0
    progress: list[int] = field(default_factory=list)  # distinct "done" values, in order
    polls: list[float] = field(default_factory=list)  # each poll's round trip
    download_seconds: float = 0.0
    file_bytes: int = 0
    worker_rss_start_mb: float | None = None
    worker_rss_peak_mb: float | None = None
    readback_rows: int = 0
    readback_seconds: float = 0.0
    worker_timeouts: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.job_seconds if self.job_seconds else 0.0


def threshold_for(size: int) -> int:
    return PRODUCTION_THRESHOLD if size > PRODUCTION_THRESHOLD else max(1, size // 2)


def database_url() -> str:
    """The URL of the database this process uses (``--only`` may have switched it)."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    at = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{at}{db.get('HOST') or ''}{port}/{db['NAME']}"


def vm_hwm_mb(pid: int) -> float | None:
    """The peak resident memory of process ``pid`` so far (Linux), in MB; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise JobExportFailed(f"gunicorn exited at start (status {server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise JobExportFailed("gunicorn did not listen within 30 s")


class Api:
    """GET on the API with a token, over one kept-alive connection."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {key}", "X-Forwarded-Proto": "https"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> http.client.HTTPResponse:
        try:
            self.connection.request("GET", path, headers=self.headers)
            return self.connection.getresponse()
        except (OSError, http.client.HTTPException):
            # A worker recycled (max_requests) closes its connection: once more.
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request("GET", path, headers=self.headers)
            return self.connection.getresponse()

    def json(self, path: str) -> tuple[int, dict]:
        response = self.get(path)
        body = response.read()
        return response.status, (json.loads(body) if body else {})

    def close(self) -> None:
        self.connection.close()


def measure(coordinator, workdir: Path) -> JobExport:
    """Run the full XLSX export of the follow-ups as a job over HTTP; check it; return figures."""
    size = FollowUp.objects.count()
    result = JobExport(size=size, threshold=threshold_for(size))
    _token, key = ApiToken.create_for(coordinator, name="bench job export")
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "CRM_EXPORT_JOB_THRESHOLD": str(result.threshold),
        "CRM_DOCUMENTS_ROOT": str(workdir / "documents"),
        # The export alone: no scheduled command run by the worker meanwhile,
        # and the "your export is ready" mail goes nowhere.
        "CRM_SCHEDULE": "0",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        # The polls of a long job stay under production's rate (2,000 an hour),
        # but several sizes in a row with one user need not.
        "CRM_API_RATE_TOKEN": "1000000/hour",
        "GUNICORN_TIMEOUT": str(GUNICORN_TIMEOUT),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESSLOG": "/dev/null",
        "GUNICORN_LOGLEVEL": "warning",
    }
    server_log = (workdir / "gunicorn.log").open("w+")
    worker_log = (workdir / "run_jobs.log").open("w+")
    python = sys.executable
    server = subprocess.Popen(
        [str(Path(python).parent / "gunicorn"), "-c", "gunicorn.conf.py", "crm.wsgi"],
        cwd=ROOT,
        env=environment,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [python, "manage.py", "run_jobs", "--no-reload", "--no-startup-delay", "-v", "1"],
        cwd=ROOT,
        env=environment,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    api = None
    try:
        wait_for(port, server)
        api = Api(port, key)
        # Warm-up of both workers (imports, URL resolver, first connection).
        for _ in range(4):
            status, _body = api.json("/api/v1/projects/?page_size=1")
            if status != 200:
                raise JobExportFailed(f"warm-up request answered {status}")
        result.worker_rss_start_mb = vm_hwm_mb(worker.pid)
        run(api, result, worker, workdir)
    except JobExportFailed as failed:
        raise JobExportFailed(f"{failed}\n{logs(workdir)}") from None
    finally:
        if api is not None:
            api.close()
        for process in (worker, server):
            process.terminate()
        for process in (worker, server):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server_log.seek(0)
        result.worker_timeouts = server_log.read().count("WORKER TIMEOUT")
        server_log.close()
        worker_log.close()
    check(result, workdir)
    return result


def run(api: Api, result: JobExport, worker: subprocess.Popen, workdir: Path) -> None:
    started = time.perf_counter()
    response = api.get("/api/v1/follow-ups/?format=xlsx")
    body = response.read()
    result.accept_seconds = time.perf_counter() - started
    result.accept_status = response.status
    location = response.getheader("Location")
    if response.status != 202 or not location:
        raise JobExportFailed(
            f"the export answered {response.status} (Location {location!r}), not 202 with "
            f"the job's address: {body[:300]!r}"
        )
    accepted = time.perf_counter()
    job: dict = json.loads(body)
    while True:
        if worker.poll() is not None:
            raise JobExportFailed(f"run_jobs exited (status {worker.returncode})")
        polled = time.perf_counter()
        status, job = api.json(location)
        result.polls.append(time.perf_counter() - polled)
        if status != 200:
            raise JobExportFailed(f"the job's address answered {status}")
        if not result.progress or result.progress[-1] != job["done"]:
            result.progress.append(job["done"])
        if job["status"] != "queued" and not result.queued_seconds:
            result.queued_seconds = time.perf_counter() - accepted
        if job["status"] == "done":
            break
        if job["status"] == "failed":
            raise JobExportFailed(f"the job failed: {job['error']}")
        if time.perf_counter() - started > JOB_LIMIT_SECONDS:
            raise JobExportFailed(f"the job was not done after {JOB_LIMIT_SECONDS} s: {job}")
        time.sleep(POLL_SECONDS)
    result.job_seconds = time.perf_counter() - started
    result.rows = job["done"]
    created, finished = (
        datetime.datetime.fromisoformat(job[k]) for k in ("created_at", "finished_at")
    )
    result.server_seconds = (finished - created).total_seconds()
    result.worker_rss_peak_mb = vm_hwm_mb(worker.pid)
    if job["total"] != result.size or job["done"] != result.size:
        raise JobExportFailed(f"the job wrote {job['done']} of {job['total']}, not {result.size}")
    downloaded = workdir / "export.xlsx"
    started = time.perf_counter()
    response = api.get(job["download"])
    if response.status != 200:
        raise JobExportFailed(f"the download answered {response.status}")
    with downloaded.open("wb") as file:
        while block := response.read(1 << 20):
            file.write(block)
    result.download_seconds = time.perf_counter() - started
    result.file_bytes = downloaded.stat().st_size
    started = time.perf_counter()
    result.readback_rows = count_rows(downloaded)
    result.readback_seconds = time.perf_counter() - started


def count_rows(path: Path) -> int:
    """The data rows of the workbook's sheet, read as a user's script would (read-only)."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet = workbook.active
        return sum(1 for _ in sheet.iter_rows(values_only=True)) - 1  # the header
    finally:
        workbook.close()


def check(result: JobExport, workdir: Path) -> None:
    problems = []
    if result.accept_seconds > ACCEPT_LIMIT_SECONDS:
        problems.append(
            f"the 202 took {result.accept_seconds:.2f} s (limit {ACCEPT_LIMIT_SECONDS} s)"
        )
    if result.readback_rows != result.size:
        problems.append(f"the file reads back {result.readback_rows} rows, not {result.size}")
    if result.worker_timeouts:
        problems.append(f"gunicorn killed {result.worker_timeouts} worker(s) (WORKER TIMEOUT)")
    # A job long enough to be polled several times must be seen moving.
    if result.job_seconds > 5 * POLL_SECONDS + 2 and len(result.progress) < 3:
        problems.append(f"the job's progress was seen at {result.progress} only")
    if problems:
        raise JobExportFailed("; ".join(problems) + "\n" + logs(workdir))


def logs(workdir: Path) -> str:
    """The end of gunicorn's and the worker's logs, to say why a check failed."""
    return "\n".join(
        f"--- {name}\n{(workdir / name).read_text()[-3000:]}"
        for name in ("gunicorn.log", "run_jobs.log")
        if (workdir / name).exists()
    )


def measure_here(coordinator) -> JobExport:
    """``measure`` in a temporary folder (the documents, the processes' logs)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crm-bench-job-") as name:
        result = measure(coordinator, Path(name))
    print(f"{summary(result)} (section: {time.perf_counter() - started:.1f} s)", flush=True)
    return result


# Reporting.


def _mb(value: float | None) -> str:
    return f"{value:,.0f} MB" if value is not None else "–"


def summary(result: JobExport) -> str:
    return (
        f"job export of {result.size:,} rows: 202 in {result.accept_seconds * 1000:,.0f} ms; "
        f"done in {result.job_seconds:,.1f} s ({result.rows_per_second:,.0f} rows/s); "
        f"{len(result.progress)} progress values; file {result.file_bytes / 1e6:,.1f} MB; "
        f"worker peak RSS {_mb(result.worker_rss_peak_mb)}; "
        f"read back {result.readback_rows:,} rows in {result.readback_seconds:,.1f} s"
    )


def table(results: list[JobExport]) -> str:
    heads = " | ".join(f"{r.size:,} follow-ups" for r in results)
    lines = [f"| what | {heads} |", "|---" * (len(results) + 1) + "|"]

    def row(label: str, value) -> None:
        lines.append(f"| {label} | " + " | ".join(value(r) for r in results) + " |")

    row("threshold given (CRM_EXPORT_JOB_THRESHOLD)", lambda r: f"{r.threshold:,}")
    row("the request: 202 with the job's address", lambda r: f"{r.accept_seconds * 1000:,.0f} ms")
    row("from the 202 to the job seen running", lambda r: f"{r.queued_seconds:,.1f} s")
    row("from the request to the job seen done", lambda r: f"{r.job_seconds:,.1f} s")
    row("the job on the server (created → finished)", lambda r: f"{r.server_seconds:,.1f} s")
    row("rows per second (request to done)", lambda r: f"{r.rows_per_second:,.0f}")
    row(
        "polls: count, distinct progress values",
        lambda r: f"{len(r.polls)}, {len(r.progress)}",
    )
    row(
        "a poll's round trip: median, slowest",
        lambda r: f"{statistics.median(r.polls) * 1000:,.0f} ms, {max(r.polls) * 1000:,.0f} ms",
    )
    row("file size", lambda r: f"{r.file_bytes / 1e6:,.1f} MB")
    row("its download", lambda r: f"{r.download_seconds:,.1f} s")
    row(
        "run_jobs's peak RSS: before the job → after it",
        lambda r: f"{_mb(r.worker_rss_start_mb)} → {_mb(r.worker_rss_peak_mb)}",
    )
    row(
        "rows read back (openpyxl read-only)",
        lambda r: f"{r.readback_rows:,} in {r.readback_seconds:,.1f} s ✓",
    )
    row("gunicorn workers killed (WORKER TIMEOUT)", lambda r: f"{r.worker_timeouts}")
    return "\n".join(lines)


def explanation() -> str:
    timeout, limit, poll = GUNICORN_TIMEOUT, ACCEPT_LIMIT_SECONDS, POLL_SECONDS
    return f"""\
Gunicorn serves the project as in production (gunicorn.conf.py, 2 sync workers,
`GUNICORN_TIMEOUT={timeout}`: a request still running after {timeout} s is killed) and
`manage.py run_jobs` runs beside it on the same database. A coordinator's API
token asks `GET /api/v1/follow-ups/?format=xlsx`, every follow-up; the answer
must be 202 with `Location: /api/v1/jobs/<id>/` within {limit:g} s. The script then
polls the job every {poll:g} s until it is done, downloads the file, and reads it
back with openpyxl (`read_only=True`): the rows must be as many as the
follow-ups, and gunicorn must have killed no worker. A failed check stops the
bench with a non-zero status (bench/job_export.py). The threshold is
production's 10,000, or half the size where the size is not above it (so that
10,000 follow-ups export through a job too). The worker's schedule is off and
its mail goes nowhere: it does the export alone. Its peak RSS is its VmHWM
(/proc) when the export is asked, then once the job is done. The times are
wall-clock times on a shared machine: they move with its load."""


def section_text(results: list[JobExport]) -> str:
    return f"{explanation()}\n\n{table(results)}"
