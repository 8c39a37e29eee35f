"""Remove every demonstration record made by ``load_demo``, and nothing else.

What goes, and in what order, is in ``crm/management/demo/removal.py``.
"""

from django.core.management.base import BaseCommand, CommandError

from crm.management.demo.removal import RealRecordsDependOnDemo, remove_all


class Command(BaseCommand):
    help = (
        "Remove all demonstration data (follow-ups, commitments, agreements, documents, "
        "the illustrative rate, the example plan and the demo accounts), in one "
        "transaction. The source facts and everything staff entered stay."
    )

    def handle(self, *args, **options) -> None:
        try:
            remove_all(write=self.stdout.write)
        except RealRecordsDependOnDemo as error:
            raise CommandError(str(error)) from error
