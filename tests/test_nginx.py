"""The nginx site of docs/deploy.md in front of the real gunicorn: slow bodies stall nothing.

gunicorn's sync workers read a request's body as the client sends it: workers + 1
clients that each declare a body and send ten bytes of it leave /healthz
unanswered (issue 17). Behind the shipped site (docs/nginx/crm.conf, run as it
is but for ports and log paths), /healthz still answers within a second.

The tests that run nginx are marked ``nginx`` and skip where it is missing; CI
installs Debian's package and sets CRM_REQUIRE_NGINX=1, which turns the skip
into a failure (tests/conftest.py). Every server is started on free local ports
and stopped in the fixture's teardown; every wait has a deadline.
"""

import http.client
import http.server
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from crm.uploads import LimitedUploadHandler
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "nginx" / "crm.conf"
HOST = "crm.example.org"
MiB = 1024 * 1024
# gunicorn's workers in these tests (gunicorn.conf.py reads GUNICORN_WORKERS).
WORKERS = 2
# With a CSRF cookie (any, of the right shape), as a browser that opened the
# login page sends: Django then reads the body for the form's token, and waits.
SLOW_BODY = (
    f"POST /accounts/login/ HTTP/1.1\r\nHost: {HOST}\r\nCookie: csrftoken={'a' * 32}\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
    "username=a"  # 10 bytes of the 100,000 declared; the rest never comes.
).encode()


# The site file itself: the application's limits.


def directive(name: str, text: str | None = None) -> list[str]:
    """Return every value of an nginx directive in the site file."""
    return re.findall(rf"^\s*{name}\s+([^;]+);", text or SITE.read_text(), flags=re.MULTILINE)


def size(value: str) -> int:
    units = {"k": 1024, "m": MiB, "g": 1024 * MiB}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def upload_locations() -> tuple[re.Pattern, re.Pattern]:
    """The two locations that take larger bodies: files and mail, then contact imports."""
    files, imports = re.findall(r"^\s*location ~ (\S+) \{", SITE.read_text(), flags=re.MULTILINE)
    return re.compile(files), re.compile(imports)


def test_the_site_buffers_requests_and_answers():
    assert directive("proxy_request_buffering") == ["on"]
    assert directive("proxy_buffering") == ["on"]


def test_the_body_limits_match_the_application_s():
    default, uploads, imports = (size(value) for value in directive("client_max_body_size"))
    largest_upload = max(settings.CRM_DOCUMENT_MAX_BYTES, settings.CRM_MAIL_MAX_BYTES)

    # Forms and JSON: Django's own limit, with room for the multipart framing.
    assert (
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        < default
        <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MiB
    )
    # Uploads: the largest file and the form around it, not a mebibyte more.
    assert largest_upload + LimitedUploadHandler.FORM_OVERHEAD < uploads <= largest_upload + MiB
    largest_import = settings.CRM_IMPORT_MAX_BYTES
    assert largest_import + LimitedUploadHandler.FORM_OVERHEAD < imports <= largest_import + MiB


def test_nginx_waits_for_an_answer_as_long_as_gunicorn_lets_a_request_run():
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert directive("proxy_read_timeout") == [f"{gunicorn['timeout']}s"]
    assert directive("proxy_send_timeout") == [f"{gunicorn['timeout']}s"]
    assert size(directive("client_body_timeout")[0].rstrip("s")) < gunicorn["timeout"]


def test_the_site_sets_the_forwarding_headers_gunicorn_is_told():
    headers = dict(value.split(None, 1) for value in directive("proxy_set_header"))

    assert headers["Host"] == "$host"
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$crm_forwarded_proto"
    # Headers a client could send to pass for https or another host: dropped.
    for name in ("X-Forwarded-Host", "X-Forwarded-Ssl", "X-Forwarded-Protocol", "Forwarded"):
        assert headers[name] == '""', name


@pytest.mark.django_db
def test_every_upload_form_and_the_api_s_upload_are_under_the_larger_limit(admin_client):
    from crm.api.documents import DocumentViewSet
    from crm.api.mail import MailMessageViewSet

    factories.OrganizationFactory(slug="visa")
    uploads, imports = upload_locations()
    pages = ["/documents/new/?organization=visa", "/admin/crm/document/add/", "/mail/upload/"]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert 'enctype="multipart/form-data"' in html, page
        assert uploads.match(page), page
    for page in ["/admin/crm/organization/import/", "/admin/crm/person/import/", "/imports/new/"]:
        html = admin_client.get(page).content.decode()
        assert 'enctype="multipart/form-data"' in html, page
        assert imports.match(page), page
    assert "multipart/form-data" in DocumentViewSet.parser_classes[0].media_type
    assert uploads.match("/api/v1/documents/")
    assert "multipart/form-data" in MailMessageViewSet.parser_classes[0].media_type
    assert uploads.match("/api/v1/mail/")
    # Everything else keeps the small limit.
    for other in ("/accounts/login/", "/api/v1/organizations/", "/admin/crm/organization/add/"):
        assert not uploads.match(other), other
        assert not imports.match(other), other


# nginx and gunicorn, running.


@pytest.fixture
def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("no nginx (apt-get install nginx)")
    return found


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str = "/healthz", *, timeout: float, headers=None):
    """GET a path; return (status, seconds), status None if no answer came in time."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": HOST, **(headers or {})})
        status = connection.getresponse().status
    except OSError:  # Timed out, refused or reset.
        status = None
    finally:
        connection.close()
    return status, time.monotonic() - started


def wait_for(port: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get(port, timeout=1)[0] is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port} within {seconds} s")


def stop(process: subprocess.Popen, first_signal: int) -> None:
    """Stop a server and everything it started, by its process group, within seconds."""
    if process.poll() is None:
        os.killpg(process.pid, first_signal)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def workdir():
    # nginx's workers drop root for "nobody", who must reach their temporary
    # files: a folder of its own, not pytest's (private to its owner).
    folder = Path(tempfile.mkdtemp(prefix="crm-nginx-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def gunicorn(workdir):
    """The repository's gunicorn.conf.py (sync workers) on a free port; return the port."""
    port = free_port()
    environment = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_ACCESSLOG": str(workdir / "gunicorn.log"),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": HOST,
        # /healthz asks the database for SELECT 1: a file of its own.
        "DATABASE_URL": f"sqlite:///{workdir / 'healthz.sqlite3'}",
    }
    with open(workdir / "gunicorn.err", "wb") as log:
        process = subprocess.Popen(
            # No control socket: its default path is shared by every gunicorn.
            [
                *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
                *("--no-control-socket", "crm.wsgi"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(port, seconds=60)
        yield port
    finally:
        # SIGINT: stop now, without waiting for the stalled requests.
        stop(process, signal.SIGINT)


def nginx_configuration(workdir: Path, *, listen: int, upstream: int) -> Path:
    """Write an nginx.conf around the shipped site, changing only ports and log paths."""
    site = SITE.read_text()
    for old, new, times in [
        ("listen 80;", f"listen 127.0.0.1:{listen};", 1),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};", 1),
        ("/var/log/nginx/", f"{workdir}/", 2),
    ]:
        assert site.count(old) == times, old
        site = site.replace(old, new)
    temporary = "\n".join(
        f"    {kind}_temp_path {workdir}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    configuration = workdir / "nginx.conf"
    configuration.write_text(
        f"worker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
        f"events {{ worker_connections 128; }}\n"
        f"http {{\n{temporary}\n    access_log off;\n{site}\n}}\n"
    )
    return configuration


@contextmanager
def running_nginx(nginx_binary: str, workdir: Path, *, upstream: int):
    port = free_port()
    configuration = nginx_configuration(workdir, listen=port, upstream=upstream)
    command = [nginx_binary, "-p", str(workdir), "-c", str(configuration)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(port, seconds=20)
        yield port
    finally:
        stop(process, signal.SIGTERM)


@contextmanager
def slow_bodies(port: int, count: int):
    """Open ``count`` connections that each send ten bytes of a 100,000-byte body."""
    clients = []
    try:
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            clients.append(client)
            client.sendall(SLOW_BODY)
        time.sleep(0.5)  # Let them reach a worker, where there is one to reach.
        yield
    finally:
        for client in clients:
            client.close()


@pytest.mark.nginx
def test_slow_bodies_behind_nginx_leave_healthz_answering_within_a_second(
    nginx_binary, workdir, gunicorn
):
    with (
        running_nginx(nginx_binary, workdir, upstream=gunicorn) as port,
        slow_bodies(port, WORKERS + 1),
    ):
        answers = [get(port, timeout=1) for _ in range(5)]

    assert [status for status, _seconds in answers] == [200] * 5
    assert max(seconds for _status, seconds in answers) < 1


@pytest.mark.nginx
def test_without_nginx_the_same_slow_bodies_leave_healthz_unanswered(nginx_binary, gunicorn):
    """The contrast the issue reports: gunicorn alone, every worker held by a slow body."""
    with slow_bodies(gunicorn, WORKERS + 1):
        status, seconds = get(gunicorn, timeout=3)

    assert status is None
    assert seconds >= 3


class Recorder(http.server.BaseHTTPRequestHandler):
    """An upstream that answers 200 and keeps the headers it was sent."""

    received: list[dict[str, str]] = []

    def do_GET(self):
        Recorder.received.append(dict(self.headers.items()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.nginx
def test_a_client_s_own_forwarding_headers_are_replaced(nginx_binary, workdir, recorder):
    with running_nginx(nginx_binary, workdir, upstream=recorder) as port:
        Recorder.received.clear()  # The readiness probes.
        status, _seconds = get(
            port,
            "/",
            timeout=5,
            headers={
                "X-Forwarded-For": "192.0.2.7",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Ssl": "on",
            },
        )

    assert status == 200
    (headers,) = Recorder.received
    # Not the balancer: this client's address and scheme, whatever it said.
    assert headers["Host"] == HOST
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert "X-Forwarded-Host" not in headers
    assert "X-Forwarded-Ssl" not in headers


@pytest.mark.nginx
def test_a_body_over_the_limit_is_refused_by_nginx_before_it_is_read(
    nginx_binary, workdir, recorder
):
    with running_nginx(nginx_binary, workdir, upstream=recorder) as port:
        Recorder.received.clear()
        with closing(socket.create_connection(("127.0.0.1", port), timeout=5)) as client:
            client.sendall(
                f"POST /api/v1/organizations/ HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {4 * MiB}\r\n\r\n".encode()
            )
            answer = client.recv(200)

    assert answer.startswith(b"HTTP/1.1 413")
    assert Recorder.received == []


def test_ci_installs_nginx_and_fails_if_its_tests_are_skipped():
    ci = (ROOT / ".ci" / "run").read_text()

    assert "missing+=(nginx)" in ci
    assert ci.count("CRM_REQUIRE_NGINX=1 make test") == 2  # SQLite and PostgreSQL passes.
