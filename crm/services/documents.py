"""Documents: uploaded files kept with their checked type, size and digest, one version each."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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
    checked = check_upload(file)
    document = Document(
        title=title,
        original_name=(file.name or "document")[-255:],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        **attachments,
    )
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
    return document
