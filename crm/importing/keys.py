"""The keys (slugs) of a file's rows read so far, and the first row holding each.

A key twice in one file is refused, naming both rows, so every key read must be
remembered until the end of the file. Held in a dict, a million keys cost about
150 MB; here they wait in a private SQLite database on disk (deleted when it is
closed), whose page cache alone is in memory.
"""

import sqlite3
from collections.abc import Iterable

# SQLite's page cache for the keys, in KiB (its default is 2 MiB too).
CACHE_KIB = 2048


class FileKeys:
    """The first row of each key of a file, asked a chunk of rows at a time."""

    def __init__(self) -> None:
        # "" is a temporary database on disk, private to this connection.
        self._database = sqlite3.connect("")
        self._database.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._database.execute(
            "CREATE TABLE first_row (key TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID"
        )

    def first_rows(self, rows: Iterable[tuple[int, str]]) -> dict[str, int]:
        """Remember ``(row number, key)`` pairs, in file order; return each key's first row.

        The answer covers the keys given, whether their first row is among
        ``rows`` or was given before.
        """
        rows = [(key, number) for number, key in rows if key]
        self._database.executemany(
            "INSERT INTO first_row (key, row) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", rows
        )
        keys = list({key for key, _number in rows})
        found: dict[str, int] = {}
        # SQLite takes at most 32,766 parameters in one statement.
        for start in range(0, len(keys), 10_000):
            part = keys[start : start + 10_000]
            marks = ",".join("?" * len(part))  # Placeholders only: the keys are parameters.
            found.update(
                self._database.execute(
                    f"SELECT key, row FROM first_row WHERE key IN ({marks})",
                    part,
                )
            )
        return found

    def close(self) -> None:
        self._database.close()

    def __enter__(self) -> "FileKeys":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
