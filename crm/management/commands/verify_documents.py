"""Check the document store against the database: after a restore (docs/backup.md), or any time."""

import hashlib

from django.core.management.base import BaseCommand, CommandError

from crm.documents import READ_CHUNK
from crm.models import Document


def stored_sha256(document: Document) -> str | None:
    """Return the SHA-256 of ``document``'s file as stored, or None when it is missing."""
    digest = hashlib.sha256()
    try:
        with document.file.open("rb") as stream:
            for chunk in iter(lambda: stream.read(READ_CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


class Command(BaseCommand):
    help = (
        "Check that the file of every document is in the document store and has the "
        "SHA-256 kept on its row when it was uploaded; list those that do not."
    )

    def handle(self, *args, **options) -> None:
        checked, wrong = 0, 0
        documents = Document.objects.only("pk", "file", "sha256").order_by("pk")
        for document in documents.iterator(chunk_size=2000):
            checked += 1
            found = stored_sha256(document)
            if found == document.sha256:
                continue
            wrong += 1
            what = "is missing" if found is None else f"has SHA-256 {found}, not {document.sha256}"
            self.stderr.write(f"Document {document.pk}: its file {document.file.name} {what}.")
        if wrong:
            raise CommandError(f"{wrong} of {checked} documents have no intact file in the store.")
        self.stdout.write(f"{checked} documents: every file is in the store, intact.")
