"""Recording what leaves the CRM: exports and calendar fetches (``ExportLog``), and who
read a person's data (``PersonRead``)."""

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import ApiToken, ExportLog, PersonRead
from crm.security import client_ip

# Longest query parameter value kept in the log: enough to read any honest filter.
MAX_FILTER_VALUE = 200
# The lists whose rows name people (the API's and the staff pages' exports): an
# export of one of them is also a read of personal data.
PEOPLE_RESOURCES = {
    "people",
    "affiliations",
    "follow-ups",
    "interactions",
    "page: people",
    "page: follow-ups",
    "page: dashboard",
}


def filters_of(query_params) -> dict[str, list[str]]:
    """Return the query parameters as a dict of lists, long values cut short."""
    return {
        name: [value[:MAX_FILTER_VALUE] for value in values]
        for name, values in query_params.lists()
    }


def record_export(
    request, *, user, kind: str, resource: str, filters: dict, row_count: int | None = None
) -> ExportLog:
    """Write one entry of the export log; the token is taken from the API request.

    An export of people is also a read of personal data (``PersonRead``): both
    traces are written together or not at all, and in one commit, which a
    request otherwise waits for twice (an API page of 100 rows spent more on
    its two commits than on reading its rows).
    """
    token = getattr(request, "auth", None)
    token = token if isinstance(token, ApiToken) else None
    # No savepoint: inside a caller's transaction this adds no statement.
    with transaction.atomic(savepoint=False):
        if resource in PEOPLE_RESOURCES:
            PersonRead.objects.create(what=PersonRead.What.EXPORT, filters=filters, reader=user)
        return ExportLog.objects.create(
            user=user,
            username=user.get_username(),
            token=token,
            token_prefix=token.prefix if token else "",
            kind=kind,
            resource=resource,
            filters=filters,
            row_count=row_count,
            address=_address(request),
        )


def count_rows_when_sent(response, entry: ExportLog):
    """Record ``response.row_count`` on ``entry``: now, or once a streamed body is sent.

    No second query counts the rows: the export counts what it writes. An entry
    whose download was cut short keeps no row count.
    """
    if not response.streaming or response.row_count is not None:
        ExportLog.objects.filter(pk=entry.pk).update(row_count=response.row_count)
        return response

    body = response.streaming_content

    def content():
        yield from body
        ExportLog.objects.filter(pk=entry.pk).update(row_count=response.row_count)

    response.streaming_content = content()
    return response


def _address(request) -> str | None:
    # A proxy's header may carry anything; the column takes addresses only.
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def purge(
    *, older_than_days: int | None = None, now: datetime | None = None, dry_run: bool = False
) -> int:
    """Delete entries older than the retention (``CRM_EXPORT_LOG_RETENTION_DAYS``)."""
    days = settings.CRM_EXPORT_LOG_RETENTION_DAYS if older_than_days is None else older_than_days
    now = now or timezone.now()
    old: QuerySet = ExportLog.objects.filter(created_at__lt=now - timedelta(days=days))
    if dry_run:
        return old.count()
    deleted, _per_model = old.delete()
    return deleted


def record_person_read(person, *, reader) -> PersonRead:
    """Note that ``reader`` opened ``person``'s page (the data-protection officer reads it)."""
    return PersonRead.objects.create(
        what=PersonRead.What.PAGE, person_id_number=person.pk, reader=reader
    )
