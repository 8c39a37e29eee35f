"""Checking an uploaded file: its type from the content, its size, no zip bomb.

Nothing here trusts the file's name or the browser's Content-Type. Uploads are
streamed to a temporary file by Django and refused as soon as they pass the
limit (``limit_uploads``, crm/uploads.py), so disk and memory stay bounded
whatever is sent.
"""

import hashlib
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from rest_framework import exceptions, status

from crm import uploads
from crm.models import DocumentType
from crm.views.errors import ExplainedNotFound

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
# An office file is a zip: refuse those that would expand beyond this, or hold
# more entries than a real document does (zip bombs), without expanding them.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 5000
MAX_COMPRESSION_RATIO = 200

# The extensions each type may carry; a name saying otherwise is refused.
EXTENSIONS = {
    DocumentType.PDF: {".pdf"},
    DocumentType.DOCX: {".docx"},
    DocumentType.XLSX: {".xlsx"},
    DocumentType.ODT: {".odt"},
    DocumentType.PNG: {".png"},
    DocumentType.JPEG: {".jpg", ".jpeg"},
}


def max_bytes() -> int:
    return settings.CRM_DOCUMENT_MAX_BYTES


class FileTooLarge(exceptions.APIException):
    """An upload over CRM_DOCUMENT_MAX_BYTES: 413, for the API and the pages alike."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"

    def __init__(self):
        super().__init__(
            _("The file is larger than the limit of %(limit)s.")
            % {"limit": filesizeformat(max_bytes())}
        )


def limit_document_uploads(request) -> None:
    """Refuse ``request``'s file past CRM_DOCUMENT_MAX_BYTES while it arrives (crm.uploads)."""
    uploads.limit_uploads(request, limit=max_bytes(), too_large=FileTooLarge)


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    sha256: str


def _zip_type(upload) -> str | None:
    """Return the office type of a zip, reading only its directory and tiny entries."""
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ValidationError(_("The archive holds too many files to be a document."))
    unzipped = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries) or 1
    if unzipped > MAX_UNZIPPED_BYTES or unzipped / packed > MAX_COMPRESSION_RATIO:
        raise ValidationError(
            _("The file expands to far more than its size (a “zip bomb”); it is refused.")
        )
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DocumentType.DOCX
        if "xl/workbook.xml" in names:
            return DocumentType.XLSX
        return None
    mimetype = archive.NameToInfo.get("mimetype")
    if mimetype is not None and mimetype.file_size < 100:
        with archive.open(mimetype) as handle:
            if handle.read(100).strip() == DocumentType.ODT.value.encode():
                return DocumentType.ODT
    return None


def sniff(upload) -> str | None:
    """Return the document type that ``upload``'s content is, or None."""
    upload.seek(0)
    head = upload.read(16)
    if head.startswith(b"%PDF-"):
        return DocumentType.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentType.JPEG
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(upload)
    return None


def check_upload(upload) -> CheckedFile:
    """Check an uploaded file; return its type, size and SHA-256, or raise ValidationError."""
    if upload.size is None or upload.size > max_bytes():
        raise ValidationError(
            {
                "file": _("The file is larger than the limit of %(limit)s.")
                % {"limit": filesizeformat(max_bytes())}
            }
        )
    if upload.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    try:
        content_type = sniff(upload)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from None
    if content_type is None:
        raise ValidationError(
            {
                "file": _(
                    "This file is not a PDF, DOCX, XLSX, ODT, PNG or JPEG document "
                    "(its content was checked, not its name)."
                )
            }
        )
    suffix = PurePosixPath(upload.name or "").suffix.lower()
    if suffix not in EXTENSIONS[content_type]:
        raise ValidationError(
            {
                "file": _("The file's content is a %(type)s, but its name ends in “%(suffix)s”.")
                % {"type": DocumentType(content_type).label, "suffix": suffix or "—"}
            }
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(READ_CHUNK), b""):
        digest.update(chunk)
    upload.seek(0)
    return CheckedFile(content_type=content_type, size=upload.size, sha256=digest.hexdigest())


def open_stored_file(document):
    """Open ``document``'s file for reading, or raise a 404 that says the file is gone.

    A row without its file is what a restore of the database alone leaves
    (docs/backup.md): the reader is told, the operator finds it in the log.
    """
    try:
        return document.file.open("rb")
    except FileNotFoundError:
        logger.error(
            "Document %s: its file %s is missing from the store.", document.pk, document.file.name
        )
        raise ExplainedNotFound(
            _(
                "The file of this document is missing from the document store. "
                "Ask the administrator to restore it from the last backup."
            )
        ) from None
