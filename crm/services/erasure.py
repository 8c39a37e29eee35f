"""Erasing a person (Togo, law n° 2019-014): what identifies them goes, the facts stay.

The person's record keeps its place, so that meetings, follow-ups, commitments
and stage changes that involved them stay true ("a meeting with Visa took
place"); what identifies them is replaced by a neutral label ("Personne
effacée n° 17"), and e-mail, phone, notes and where their data came from are
blanked. The same values are then taken out of every text the database holds,
history tables included: every version of the person the history kept, a
meeting's summary or a follow-up's title that names them, a stored e-mail's
body and headers, the export log's filters, the admin's log. The stored
copies of e-mails that named them (``MailMessage.raw``), the export files
already written and the import jobs not running, with their uploads and reports
(which may list them), are deleted once the transaction commits. The trigram
search indexes are expressions over those columns: they follow.

What counts as identifying: the full name in both orders, the family name
(when at least four letters: a shorter one would match inside other words),
every e-mail address, phone and name-made slug the person ever had (from the
history).
A given name alone is left where other people's texts use it.

The request is logged without the erased values (``PrivacyRequest``): the
person's id, who, when and why, what the neutral label is.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Replace, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Document, ExportJob, ImportJob, MailMessage, Person, PrivacyRequest
from crm.services.base import clean_reason
from crm.storage import document_storage

# The neutral label: in French, the unit's language, whatever the reader's.
LABEL = "Personne effacée n° {pk}"
ERASED_GIVEN_NAME = "Personne effacée"
# A family name shorter than this is not looked for in other texts.
MIN_FAMILY_NAME = 4
TEXT_FIELDS = (models.CharField, models.TextField)


# The confirmation page offers at most this many of the person's documents.
OWN_DOCUMENTS_LISTED = 100


def own_documents(person: Person):
    """Return the documents that may be the person's own data, newest first.

    The attachments of the e-mails filed to them (a CV, a business card, a
    signed form). One the sources cite is a fact of the programme, not theirs.
    """
    return (
        Document.objects.filter(mail_messages__person=person, next_version__isnull=True)
        .exclude(sources__isnull=False)
        .distinct()
        .order_by("-uploaded_at", "-pk")
    )


@transaction.atomic
def person_erase(
    *,
    person: Person,
    by: AbstractBaseUser | None,
    reason: str,
    documents: Iterable[Document] = (),
) -> PrivacyRequest:
    """Erase ``person`` irreversibly and delete ``documents``; return the logged request.

    ``documents`` are chosen among ``own_documents(person)``; each goes with
    every earlier version of it, its history and its file.
    """
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": _("Say why the person is erased.")})
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.erased_at is not None:
        raise ValidationError(_("This person has already been erased."))
    chosen = {document.pk for document in documents}
    if chosen - set(own_documents(person).filter(pk__in=chosen).values_list("pk", flat=True)):
        raise ValidationError(
            {"documents": _("Only documents attached to the person's own e-mails can be deleted.")}
        )
    label = LABEL.format(pk=person.pk)
    values = identifying_values(person)
    raws = _raw_messages(person, values)
    now = timezone.now()
    neutral = {
        "given_name": ERASED_GIVEN_NAME,
        "family_name": f"n° {person.pk}",
        "slug": f"personne-effacee-{person.pk}",
        "email": "",
        "phone": "",
        "notes": "",
        "data_origin": "",
    }
    # Every version the history kept becomes the neutral one; no new version
    # is written (it would be one more row to clean).
    Person.history.filter(id=person.pk).update(**neutral)
    Person.objects.filter(pk=person.pk).update(**neutral, erased_at=now, updated_at=now)
    request = PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.ERASURE,
        person_id_number=person.pk,
        label=label,
        reason=reason,
        made_by=by,
        made_at=now,
    )
    # The reason too: whoever typed it may have named the person.
    _scrub_everywhere(values, label)
    MailMessage.objects.filter(pk__in=[pk for pk, _name in raws]).update(raw="")
    files = _delete_documents(chosen)
    exports = _delete_finished_exports() + _delete_waiting_imports()
    transaction.on_commit(lambda: _delete_files(raws))
    transaction.on_commit(lambda: _delete_export_files(exports))
    transaction.on_commit(lambda: _delete_document_files(files))
    transaction.on_commit(lambda: _append_to_ledger(person.pk, now))
    request.refresh_from_db()
    return request


def _append_to_ledger(person_id: int, at) -> None:
    """Note the erased id outside the database, to replay after a restore (docs/backup.md)."""
    ledger = Path(settings.CRM_ERASURE_LEDGER)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with ledger.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"person": person_id, "erased_at": at.isoformat()}) + "\n")


def erased_in_ledger() -> list[dict]:
    """Return the ledger's entries, oldest first (none when there is no ledger yet)."""
    ledger = Path(settings.CRM_ERASURE_LEDGER)
    if not ledger.exists():
        return []
    with ledger.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def identifying_values(person: Person) -> list[str]:
    """Return what identifies ``person``, now and in every version kept, longest first."""
    values: set[str] = set()
    names = ("given_name", "family_name", "email", "phone", "slug")
    current = {name: getattr(person, name) for name in names}
    for version in [current, *person.history.values(*names)]:
        if version["given_name"] == ERASED_GIVEN_NAME:
            continue  # An earlier erasure's neutral version (a replay after a restore).
        given, family = version["given_name"].strip(), version["family_name"].strip()
        if given and family:
            values.update({f"{given} {family}", f"{family} {given}"})
        if len(family) >= MIN_FAMILY_NAME:
            values.add(family)
        # A slug made from the name ("stephane-kpowbie") names them in
        # addresses: the export log's filters, a merge's record.
        if "-" in version["slug"] and len(version["slug"]) >= 2 * MIN_FAMILY_NAME:
            values.add(version["slug"])
        for contact in (version["email"], version["phone"]):
            if contact.strip():
                values.update({contact.strip(), contact.strip().lower()})
    # Longest first: the full name goes before the family name inside it.
    return sorted(values, key=lambda value: (-len(value), value))


def _text_fields():
    """Yield each table with its text columns and its JSON columns."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        texts = [field for field in fields if isinstance(field, TEXT_FIELDS)]
        jsons = [field for field in fields if isinstance(field, models.JSONField)]
        if texts or jsons:
            yield model, texts, jsons


def _scrub_everywhere(values: list[str], label: str) -> None:
    """Replace each value by ``label`` in every text column of every table.

    One UPDATE per table, whatever the number of values and columns: the
    tables without an index on these columns (history above all) are read
    once each, not once per value and column.
    """
    for model, texts, jsons in _text_fields():
        if texts:
            _scrub_text(model, texts, values, label)
        for field in jsons:
            _scrub_json(model, field, values, label)


def _scrub_text(model, fields, values: list[str], label: str) -> None:
    holding = Q()
    changes = {}
    for field in fields:
        name = field.attname
        replaced: Any = F(name)
        # Longest first (``values``' order): the full name before the family name in it.
        for value in values:
            holding |= Q(**{f"{name}__contains": value})
            replaced = Replace(replaced, Value(value), Value(label))
        if field.max_length:
            # A label longer than the value must not overflow the column.
            replaced = Substr(replaced, 1, field.max_length)
        changes[name] = replaced
    model._base_manager.filter(holding).update(**changes)


def _scrub_json(model, field, values: list[str], label: str) -> None:
    name = field.attname
    # As the database holds it: PostgreSQL's jsonb as text keeps "é", SQLite
    # keeps what json.dumps wrote ("\\u00e9").
    holding = Q()
    for value in values:
        for ascii in (True, False):
            holding |= Q(_as_text__contains=json.dumps(value, ensure_ascii=ascii)[1:-1])
    matching = model._base_manager.annotate(_as_text=Cast(name, models.TextField()))
    for pk, data in matching.filter(holding).values_list("pk", name):
        for value in values:
            data = _replaced(data, value, label)
        model._base_manager.filter(pk=pk).update(**{name: data})


def _replaced(data: Any, value: str, label: str) -> Any:
    """Return ``data`` (decoded JSON) with ``value`` replaced in every string, keys included."""
    if isinstance(data, str):
        return data.replace(value, label)
    if isinstance(data, list):
        return [_replaced(item, value, label) for item in data]
    if isinstance(data, dict):
        return {
            _replaced(key, value, label): _replaced(item, value, label)
            for key, item in data.items()
        }
    return data


def _raw_messages(person: Person, values: list[str]) -> list[tuple[int, str]]:
    """The stored e-mails filed to the person or naming them: (id, file name)."""
    naming = Q(person=person)
    for value in values:
        naming |= (
            Q(from_address__contains=value)
            | Q(from_name__contains=value)
            | Q(subject__contains=value)
            | Q(body__contains=value)
        )
    return list(MailMessage.objects.filter(naming).exclude(raw="").values_list("pk", "raw"))


def _delete_documents(chosen: set[int]) -> list[str]:
    """Delete the documents ``chosen``, each with its earlier versions; return their files."""
    versions: list[int] = []
    pending = list(chosen)
    while pending:  # Back to the first version: a chain is a few long.
        versions.extend(pending)
        # An earlier version a source cites stays, as a fact of the programme.
        pending = list(
            Document.objects.filter(next_version__pk__in=pending)
            .exclude(sources__isnull=False)
            .values_list("pk", flat=True)
        )
    files = list(Document.objects.filter(pk__in=versions).values_list("file", flat=True))
    # Newest first: an earlier version is protected while a later one points at it.
    for pk in versions:
        Document.objects.filter(pk=pk).delete()
    Document.history.filter(id__in=versions).delete()
    return files


def _delete_finished_exports() -> list[str]:
    """Delete the export jobs already written; return their files.

    A file written before the erasure may list the person, and nothing cheaper
    than reading it tells; exports are kept a few days only and can be asked
    again (crm/jobs.py). A job still being written is left to finish.
    """
    finished = ExportJob.objects.filter(
        status__in=[ExportJob.Status.DONE, ExportJob.Status.FAILED]
    )
    files = [name for name in finished.values_list("file", flat=True) if name]
    finished.delete()
    return files


def _delete_waiting_imports() -> list[str]:
    """Delete the import jobs not running; return their files (uploads and reports).

    An upload may hold the person (and, confirmed, would bring them back), a
    report or a preview may name them. An import being checked or imported is
    left to finish.
    """
    idle = ImportJob.objects.exclude(status=ImportJob.Status.RUNNING)
    files = [name for pair in idle.values_list("upload", "report") for name in pair if name]
    idle.delete()
    return files


def _delete_export_files(names: list[str]) -> None:
    for name in names:
        document_storage.delete(name)


def _delete_document_files(names: list[str]) -> None:
    storage = Document._meta.get_field("file").storage
    for name in names:
        if name:
            storage.delete(name)


def _delete_files(raws: list[tuple[int, str]]) -> None:
    storage = MailMessage._meta.get_field("raw").storage
    for _pk, name in raws:
        storage.delete(name)
