"""Create demonstration users and follow-ups on top of the source facts.

Kept apart from ``fixtures/`` so that a real deployment loads the facts without
any of this. What is made, and how it is marked as demonstration data, is in
``crm/management/demo/``; this command reads its options and runs each part in
one transaction.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from crm import clock
from crm.management.demo import accounts, agreements, commitments, follow_ups
from crm.management.demo.accounts import COORDINATION, STAFF, YOU


class Command(BaseCommand):
    help = (
        "Create demonstration users and follow-ups (marked “[Démo]”) on top of the "
        "source facts. Safe to run again: nothing is created twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--assignee",
            metavar="USERNAME",
            help="Also give some follow-ups to this user (default: the first superuser).",
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="Date the due dates are relative to (default: today).",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        today = options["today"] or clock.today()
        write = self.stdout.write
        projects, organizations = follow_ups.source_facts()
        users = accounts.load_users(write=write)
        you = accounts.find_you(options["assignee"]) or users[COORDINATION]
        by = users[COORDINATION]
        follow_ups.load(
            today=today,
            by=by,
            assignees={COORDINATION: by, STAFF: users[STAFF], YOU: you},
            projects=projects,
            organizations=organizations,
            write=write,
        )
        follow_ups.load_plan(write=write)
        # Commitments, with the rate their pages convert by, a draft MoU and its
        # document: in the order, and with the output, the command has always had.
        commitments.load_rate(by=by, today=today, write=write)
        agreements.load(by=by, today=today, write=write)
        commitments.load(by=by, today=today, write=write)
