"""Erase again the people the erasure ledger lists, after restoring an older backup.

A backup taken before an erasure still holds the person; the ledger
(``CRM_ERASURE_LEDGER``, kept apart from the database) lists every erased id.
People already erased, or no longer in the database, are left as they are.
"""

from django.core.management.base import BaseCommand

from crm import services
from crm.models import Person
from crm.services.erasure import erased_in_ledger


class Command(BaseCommand):
    help = "Erase again every person the erasure ledger lists who is back after a restore."

    def handle(self, *args, **options) -> None:
        entries = erased_in_ledger()
        ids = {entry["person"]: entry["erased_at"] for entry in entries}
        again = Person.objects.filter(pk__in=ids, erased_at__isnull=True)
        count = 0
        for person in again:
            services.person_erase(
                person=person,
                by=None,
                reason=f"Replayed after a restore (erased on {ids[person.pk][:10]}).",
            )
            count += 1
        self.stdout.write(f"{len(ids)} erasure(s) in the ledger; {count} replayed.")
