"""Applying a planned chunk: its records and their history rows, in a few statements.

COPY on PostgreSQL, bulk INSERTs and UPDATEs elsewhere, each record with the
history row django-simple-history would have written for it. The database's
constraints remain the last guard: if a write still fails (a rule only it
checks, a concurrent change), the chunk is split in halves until the failing
row is found and named; the other rows are written all the same, so that every
mistake of the file is reported at once.
"""

import functools

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.importing.base import ORGANIZATION_COLUMNS, ORGANIZATIONS, PEOPLE, PERSON_COLUMNS
from crm.importing.checking import RowError
from crm.importing.planning import PlannedRow
from crm.models import Affiliation, Organization, Person


@functools.cache
def _history_columns(history_model) -> list[str]:
    return [f.attname for f in history_model._meta.concrete_fields if f.attname != "history_id"]


def _history_row(history_model, instance, *, history_type: str, by, now) -> dict:
    """The history row simple_history would write for ``instance`` (its state now)."""
    row = {name: getattr(instance, name, None) for name in _history_columns(history_model)}
    row.update(
        history_date=now,
        history_change_reason=None,
        history_type=history_type,
        history_user_id=by.pk if by is not None else None,
    )
    return row


def _insert(model, rows: list[dict]) -> None:
    """Insert rows (dicts of column attributes): COPY on PostgreSQL, bulk INSERT elsewhere."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create([model(**row) for row in rows], batch_size=500)
        return
    names = list(rows[0])
    column_of = {f.attname: f.column for f in model._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in names)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    # Django turns psycopg's errors into its own (IntegrityError…) for its own
    # statements; COPY goes to psycopg's cursor directly.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row([row[name] for name in names])


def _new_ids(model, count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence (PostgreSQL), for rows COPY will insert."""
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _create(model, instances: list, *, by, now) -> None:
    """Create ``instances`` and their "+" history rows."""
    if not instances:
        return
    connection = connections[router.db_for_write(model)]
    for instance in instances:
        for model_field in model._meta.concrete_fields:
            if getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                setattr(instance, model_field.attname, now)
    if connection.vendor == "postgresql":
        for instance, pk in zip(instances, _new_ids(model, len(instances)), strict=True):
            instance.pk = pk
        _insert(
            model,
            [
                {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields}
                for instance in instances
            ],
        )
    else:
        model._base_manager.bulk_create(instances, batch_size=500)
    history = model.history.model
    _insert(
        history,
        [
            _history_row(history, instance, history_type="+", by=by, now=now)
            for instance in instances
        ],
    )


def _update(model, instances: list, fields: list[str], *, by, now) -> None:
    """Save ``fields`` of ``instances`` and their "~" history rows."""
    if not instances:
        return
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        for instance in instances:
            instance.updated_at = now
        fields = [*fields, "updated_at"]
    model._base_manager.bulk_update(instances, fields, batch_size=500)
    history = model.history.model
    _insert(
        history,
        [
            _history_row(history, instance, history_type="~", by=by, now=now)
            for instance in instances
        ],
    )


def _write(kind: str, rows: list[PlannedRow], *, by) -> None:
    now = timezone.now()
    model, columns = (
        (Organization, ORGANIZATION_COLUMNS) if kind == ORGANIZATIONS else (Person, PERSON_COLUMNS)
    )
    records = [row for row in rows if row.instance is not None]
    _create(model, [r.instance for r in records if r.action == "created"], by=by, now=now)
    _update(
        model, [r.instance for r in records if r.action == "updated"], columns[1:], by=by, now=now
    )
    if kind == PEOPLE:
        new = [r.affiliation for r in rows if r.affiliation_action == "created"]
        for affiliation in new:
            affiliation.person_id = affiliation.person.pk
        _create(Affiliation, new, by=by, now=now)
        changed = [r.affiliation for r in rows if r.affiliation_action == "updated"]
        _update(Affiliation, changed, ["start_on", "end_on", "is_primary"], by=by, now=now)


def _database_message(error: DatabaseError) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return _("The database refused this row: %(reason)s") % {"reason": first_line[:300]}


def write_rows(
    kind: str, rows: list[PlannedRow], *, by
) -> tuple[list[PlannedRow], list[RowError]]:
    """Write ``rows``; if the database refuses, halve until the refused rows are named.

    Return the rows written, in file order, and one RowError per refused row.
    """
    if not rows:
        return [], []
    try:
        with transaction.atomic():  # A savepoint: a refused write undoes only itself.
            _write(kind, rows, by=by)
    except DatabaseError as error:
        if len(rows) == 1:
            return [], [RowError(rows[0].number, "", _database_message(error))]
        middle = len(rows) // 2
        written, errors = write_rows(kind, rows[:middle], by=by)
        more_written, more_errors = write_rows(kind, rows[middle:], by=by)
        return written + more_written, errors + more_errors
    return rows, []
