"""Erase one person, as the data-protection officer's page does (crm.services.erasure)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import services
from crm.models import Person


class Command(BaseCommand):
    help = (
        "Erase one person irreversibly: their name, e-mail, phone and notes leave the record, "
        "its history and every text that names them; the facts about meetings stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The person's slug (the end of their page's address).")
        parser.add_argument("--reason", required=True, help="Why (the request and its date).")

    def handle(self, *args, **options) -> None:
        person = Person.objects.filter(slug=options["slug"]).first()
        if person is None:
            raise CommandError(f"No person with the slug {options['slug']!r}.")
        try:
            erasure = services.person_erase(person=person, by=None, reason=options["reason"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Erased: the record is now {erasure.label!r}.")
