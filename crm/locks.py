"""One run at a time, across every host: the lock of a scheduled command.

``fetch_mail`` and ``apply_retention`` are run by cron or a timer on each
host; a run that finds another one going does nothing and says so.
"""

import contextlib
import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections


@contextlib.contextmanager
def exclusive_run(name: str, key: int) -> Iterator[bool]:
    """Hold the lock called ``name`` in this database; yield whether it was taken.

    PostgreSQL: a session advisory lock numbered ``key`` (any 64-bit value no
    other run uses), on a connection of its own, so that neither the run's
    transactions nor a closed connection release it early; every host shares
    it. SQLite (one host only, by nature): an exclusive lock on a file beside
    the database. Other engines: no lock; the runs being idempotent, two at once
    do the same work once.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        own = connection.copy()
        try:
            with own.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                taken = bool(cursor.fetchone()[0])
            try:
                yield taken
            finally:
                if taken:
                    with contextlib.suppress(Exception), own.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        finally:
            own.close()
    elif connection.vendor == "sqlite":
        with open(lock_path(connection.settings_dict["NAME"], name), "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = True
            except BlockingIOError:
                taken = False
            try:
                yield taken
            finally:
                if taken:
                    fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield True


def lock_path(database: str | Path, name: str) -> Path:
    """Return the SQLite lock file of the run ``name``: beside the database, or in /tmp."""
    database = str(database)
    if database.startswith("file:") or database == ":memory:" or "mode=memory" in database:
        digest = hashlib.sha256(database.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"crm-{name.replace('_', '-')}-{digest}.lock"
    return Path(f"{database}.{name}.lock")
