"""Print everything held on one person as JSON (their right of access), and log the answer."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import Person, PrivacyRequest
from crm.personal_data import access_package


class Command(BaseCommand):
    help = "Print everything the CRM holds on one person, as JSON; the answer is logged."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The person's slug (the end of their page's address).")

    def handle(self, *args, **options) -> None:
        person = Person.objects.filter(slug=options["slug"]).first()
        if person is None:
            raise CommandError(f"No person with the slug {options['slug']!r}.")
        package = access_package(person)
        PrivacyRequest.objects.create(kind=PrivacyRequest.Kind.ACCESS, person_id_number=person.pk)
        self.stdout.write(json.dumps(package, ensure_ascii=False, indent=2))
