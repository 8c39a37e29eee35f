"""Where kept documents live: a storage of their own, never served by a public URL.

``STORAGES["documents"]`` is a folder outside the static and media URLs by
default (``CRM_DOCUMENTS_ROOT``), or an S3-compatible bucket through
django-storages (docs/documents.md). Files are read back only by the download
views, which check the user's permission first.
"""

from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

DOCUMENTS_STORAGE = "documents"


class PrivateFileSystemStorage(FileSystemStorage):
    """A folder whose files have no URL: they are served only by the download views."""

    def url(self, name):
        raise ValueError("Kept documents have no public URL; use the download view.")


class DocumentStorage(LazyObject):
    """The documents storage, looked up when first used (and again when tests change it)."""

    def _setup(self) -> None:
        self._wrapped = storages[DOCUMENTS_STORAGE]


document_storage = DocumentStorage()


def get_document_storage():
    """Return the documents storage (the FileField's callable, kept in migrations)."""
    return document_storage


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        document_storage._wrapped = empty
