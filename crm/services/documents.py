"""Documents: uploaded files kept with their checked type, size and digest, one version each."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from crm.documents import check_upload
from crm.models import Document
from crm.services.base import save_with_history


@transaction.atomic
def document_create(
    *,
    by: AbstractBaseUser | None,
    file,
    title: str,
    previous_version: Document | None = None,
    **attachments: Any,
) -> Document:
    """Keep an uploaded file, checked from its content; a new version never overwrites.

    A new version takes the attachments of the one it replaces, which must be
    the latest (locked, so two uploads cannot both replace it).
    """
    document = _checked_document(by=by, file=file, title=title, **attachments)
    if previous_version is not None:
        previous = Document.objects.select_for_update().get(pk=previous_version.pk)
        if Document.objects.filter(previous_version=previous).exists():
            raise ValidationError(
                {"previous_version": _("A newer version of this document exists already.")}
            )
        document.previous_version = previous
        document.revision = previous.revision + 1
        for name in ("organization", "interaction", "agreement", "commitment"):
            if getattr(document, f"{name}_id") is None:
                setattr(document, f"{name}_id", getattr(previous, f"{name}_id"))
    document.file = file
    document.full_clean(exclude=["file"])
    save_with_history(document, by=by)
    if document.previous_version is not None:
        # A new version of a mail's attachment is as private as the file it
        # replaces (Document.objects.visible_to): it joins the same messages.
        document.mail_messages.add(
            *document.previous_version.mail_messages.filter(
                interaction_id=document.previous_version.interaction_id
            )
        )
    return document


def _checked_document(*, by, file, title: str, **attachments: Any) -> Document:
    """Return the unsaved Document of ``file``, its type, size and digest read from its content."""
    checked = check_upload(file)
    return Document(
        title=title,
        original_name=(file.name or "document")[-255:],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        **attachments,
    )


@dataclass
class NewDocument:
    """A file to keep as a first version, with who keeps it and what it belongs to."""

    by: AbstractBaseUser | None
    file: Any
    title: str
    attachments: dict[str, Any] = field(default_factory=dict)


@transaction.atomic(savepoint=False)
def documents_create_many(items: list[NewDocument]) -> list[Document | ValidationError]:
    """Keep many files as first versions in a few statements (mail attachments).

    All or nothing; inside a caller's transaction, part of it (no savepoint).

    Checked as ``document_create`` checks them, except the database's own
    constraints, which the field checks already cover; each item's outcome
    is its Document, or the ValidationError that refused it (nothing kept).
    """
    outcomes: list[Document | ValidationError] = []
    kept = []
    for item in items:
        try:
            document = _checked_document(
                by=item.by, file=item.file, title=item.title, **item.attachments
            )
            # What it is attached to is the caller's, just read or made: asking
            # the database whether each exists would cost a query per document.
            document.full_clean(
                exclude=["file", *item.attachments],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            outcomes.append(error)
            continue
        document.file = item.file
        document._history_user = item.by
        outcomes.append(document)
        kept.append(document)
    for document in kept:
        # Stored before the rows are written, as Model.save() would.
        document.file.save(document.file.name, document.file.file, save=False)
    bulk_create_with_history(kept, Document)
    return outcomes
