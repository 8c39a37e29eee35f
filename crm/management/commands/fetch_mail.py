"""File the messages of the shared mailbox; run every 5 minutes (docs/deploy.md).

Safe from several hosts at once: a run takes the fetch lock
(``crm.mail.mailbox.exclusive_run``) and one that finds it taken does nothing.
The pipeline being idempotent, a message handed over again is filed once anyway.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import translation

from crm.mail import mailbox


class Command(BaseCommand):
    help = (
        "Read the shared mailbox (CRM_MAIL_IMAP_*), file each message as a meeting or in "
        "the mail to file, and move it to the processed folder once stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=mailbox.DEFAULT_LIMIT,
            metavar="N",
            help=f"Messages handed over at most in this run (default {mailbox.DEFAULT_LIMIT}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be fetched; file, move and mark nothing.",
        )

    def handle(self, *args, **options) -> None:
        config = mailbox.MailboxConfig.from_settings()
        if config is None:
            self.stdout.write(
                "The shared mailbox is off (CRM_MAIL_IMAP_HOST is not set): nothing to fetch."
            )
            return
        if options["limit"] < 1:
            raise CommandError("--limit must be 1 or more.")
        dry_run = options["dry_run"]
        receive, record_failure = (_refuse, _refuse) if dry_run else _pipeline()
        with mailbox.exclusive_run() as taken:
            if not taken:
                self.stdout.write("Another fetch_mail run holds the lock: nothing done.")
                return
            try:
                # The reasons recorded for staff (a refused message) in the site's language.
                with translation.override(settings.LANGUAGE_CODE):
                    report = mailbox.fetch(
                        receive=receive,
                        record_failure=record_failure,
                        limit=options["limit"],
                        config=config,
                        dry_run=dry_run,
                    )
            except mailbox.MailboxError as exc:
                if exc.report is not None and not dry_run:
                    self.stdout.write(self._summary(config, exc.report))
                raise CommandError(str(exc)) from None
        if dry_run:
            self._list(config, report)
        else:
            self.stdout.write(self._summary(config, report))
        for problem in report.problems:
            self.stderr.write(problem)
        if report.problems:
            raise CommandError(
                f"{len(report.problems)} message(s) need attention (above).", returncode=1
            )

    def _list(self, config: mailbox.MailboxConfig, report: mailbox.FetchReport) -> None:
        for message in report.listed:
            over = (
                " — over the size limit: would be refused"
                if (message.size > config.max_bytes)
                else ""
            )
            self.stdout.write(
                f"UID {message.uid}: {message.size} bytes, from {message.sender or '?'}, "
                f"{message.date or 'no date'}: {message.subject or '(no subject)'}{over}"
            )
        line = f"{config.address} {config.folder}: would fetch {len(report.listed)}"
        if report.remaining:
            line += f", {report.remaining} more left for later runs"
        self.stdout.write(line + " — dry run, nothing filed or moved.")

    def _summary(self, config: mailbox.MailboxConfig, report: mailbox.FetchReport) -> str:
        line = (
            f"{config.address} {config.folder}: fetched {report.fetched}, "
            f"filed {report.filed} ({report.already} already on file), "
            f"failed {report.failed}, skipped for size {report.refused}"
        )
        if report.vanished:
            line += f", {report.vanished} gone before download"
        if report.remaining:
            line += f"; {report.remaining} left for the next run"
        return line + "."


def _pipeline() -> tuple[Callable[[list[bytes]], list[object]], Callable[[bytes, str], object]]:
    """Bind the mailbox door to the mail services, imported only now."""
    from crm import services

    if not hasattr(services, "mail_receive_many"):
        raise CommandError(
            "The mail pipeline (crm.services.mail) is not installed: nothing can be filed."
        )

    def receive(raws: list[bytes]) -> list[object]:
        _replace_dropped_connections()
        return services.mail_receive_many(raws, door="mailbox")

    def record_failure(raw: bytes, error: str) -> object:
        _replace_dropped_connections()
        return services.mail_record_failure(raw=raw, door="mailbox", error=error)

    return receive, record_failure


def _replace_dropped_connections() -> None:
    """Close a connection the database dropped (or too old) before the next message.

    A run is long-lived like a request: this is ``close_old_connections`` as
    between requests, except on a connection inside a transaction its caller
    holds (a job runner's, a test's). There Django reads the autocommit turned off
    as a broken connection and would close it, taking the caller's transaction
    with it: every later query fails with "the connection is closed".
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _refuse(*args: object) -> None:
    raise AssertionError("a dry run hands nothing over")
