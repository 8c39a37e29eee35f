"""Removing every demonstration record, and nothing else.

What ``load_demo`` made is marked ``is_demo`` (a follow-up, a commitment, an
agreement, a document, an exchange rate, a follow-up plan, a staff profile).
Everything hangs on PROTECT keys, so the records go in the order that frees
them: follow-ups, the logs of moves, documents (newest revision first),
commitments, agreements, the plan, the rates, then the accounts. Their
history goes with them: a removed example leaves no trace to mistake for a
fact. A real record that still points at an example stops the whole removal,
named, with nothing removed.

A demonstration account that has acted on real records (a move it logged, a
follow-up it holds) is kept, deactivated, so that who did what stays known.
"""

from collections import Counter
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from crm.models import (
    Agreement,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    ExchangeRate,
    FollowUp,
    FollowUpPlan,
)


class RealRecordsDependOnDemo(Exception):
    """Real records point at demonstration ones: nothing was removed."""


def remove_all(*, write: Callable[[str], None]) -> Counter:
    """Remove every demonstration record in one transaction; return how many, by kind."""
    removed: Counter = Counter()
    with transaction.atomic():
        try:
            _remove_records(removed)
        except (ProtectedError, RestrictedError) as error:
            blockers = sorted({_describe(record) for record in error.protected_objects})
            raise RealRecordsDependOnDemo(
                "Real records depend on demonstration data; nothing was removed: "
                + "; ".join(blockers[:20])
                + (f" (and {len(blockers) - 20} more)" if len(blockers) > 20 else "")
            ) from error
        _remove_accounts(removed, write=write)
    for kind, count in removed.items():
        write(f"{kind}: {count} removed.")
    if not removed:
        write("No demonstration data.")
    return removed


def _remove_records(removed: Counter) -> None:
    _delete(FollowUp.objects.filter(is_demo=True), "Follow-ups", removed)
    _delete(
        CommitmentStatusChange.objects.filter(commitment__is_demo=True),
        "Commitment moves",
        removed,
    )
    _delete(
        AgreementStatusChange.objects.filter(agreement__is_demo=True), "Agreement moves", removed
    )
    _remove_documents(removed)
    _delete(Commitment.objects.filter(is_demo=True), "Commitments", removed)
    _delete(Agreement.objects.filter(is_demo=True), "Agreements", removed)
    _delete(FollowUpPlan.objects.filter(is_demo=True), "Follow-up plans", removed)
    _delete(ExchangeRate.objects.filter(is_demo=True), "Exchange rates", removed)


def _remove_documents(removed: Counter) -> None:
    documents = Document.objects.filter(is_demo=True)
    files = [(document.file.storage, document.file.name) for document in documents.only("file")]
    # A revision protects the one it replaces: the newest go first.
    for revision in sorted(set(documents.values_list("revision", flat=True)), reverse=True):
        _delete(documents.filter(revision=revision), "Documents", removed)

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    # The files go only once the rows are gone for good.
    transaction.on_commit(delete_files)


def _delete(queryset: models.QuerySet, kind: str, removed: Counter) -> None:
    model = queryset.model
    ids = list(queryset.values_list("pk", flat=True))
    if not ids:
        return
    model.objects.filter(pk__in=ids).delete()
    history = getattr(model, "history", None)
    if history is not None:
        history.filter(**{f"{model._meta.pk.attname}__in": ids}).delete()
    removed[kind] += len(ids)


def _remove_accounts(removed: Counter, *, write: Callable[[str], None]) -> None:
    for user in get_user_model().objects.filter(crm_profile__is_demo=True):
        try:
            with transaction.atomic():
                user.delete()
        except (ProtectedError, RestrictedError):
            if user.is_active:
                user.is_active = False
                user.save(update_fields=["is_active"])
            write(
                f"Account {user.username}: kept, deactivated (it acted on real records, "
                "whose history names it)."
            )
        else:
            removed["Accounts"] += 1


def _describe(record: models.Model) -> str:
    return f"{record._meta.verbose_name} #{record.pk} ({record})"
