"""Send each member of staff their daily digest; safe to run again and from several servers.

Run it once a day from cron or a systemd timer (docs/reminders.md). What was
sent is kept in DigestLog: a second run the same day sends nothing again, and
a digest that failed is sent by the next run. With ``--weekly`` it sends the
weekly summary instead (crm.weekly), once per person per ISO week.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import clock, digests, weekly


class Command(BaseCommand):
    help = (
        "E-mail each active member of staff their overdue and coming follow-ups, those "
        "waiting on the partner too long and their partnerships gone quiet: once a day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", metavar="YYYY-MM-DD", help="The day of the digests (default: today)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be sent; send and record nothing.",
        )
        parser.add_argument("--user", metavar="USERNAME", help="Only this member of staff.")
        parser.add_argument(
            "--weekly",
            action="store_true",
            help=(
                "Send the weekly summary (the overview's figures and the week's moves) to "
                "those whose profile asks for it, Coordination by default: once per week."
            ),
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        on = self._date(options["date"])
        username = options["user"]
        if username is not None and not digests.recipients(username=username).exists():
            raise CommandError(
                f"No active member of staff named {username!r} (Coordination, Staff or superuser)."
            )
        self.weekly = options["weekly"]
        if self.weekly and username and not weekly.recipients(username=username).exists():
            raise CommandError(
                f"{username} does not receive the weekly summary: their profile says no, or "
                "says nothing and their role is not Coordination."
            )
        sender = weekly.run if self.weekly else digests.run
        run = sender(on=on, username=username, dry_run=options["dry_run"])
        for outcome in run.outcomes:
            self._report(outcome, dry_run=run.dry_run)
        self.stdout.write(self._summary(run))
        if run.failed:
            # After everyone was tried: the exit status tells cron something failed.
            what = "weekly summary(ies)" if self.weekly else "digest(s)"
            raise CommandError(
                f"{run.failed} {what} failed; the next run will try them again.",
                returncode=1,
            )

    def _date(self, raw: str | None) -> date:
        if raw is None:
            return clock.today()
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CommandError(f"--date {raw!r} is not a date: use YYYY-MM-DD.") from None

    def _report(self, outcome: digests.Outcome, *, dry_run: bool) -> None:
        if self.weekly:
            self._report_weekly(outcome)
            return
        user = outcome.user.get_username()
        digest = outcome.digest
        if outcome.result == digests.SENT:
            self.stdout.write(f"{user}: sent to {outcome.user.email} — {_counts(digest)}")
        elif outcome.result == digests.FAILED:
            self.stderr.write(f"{user}: FAILED — {outcome.error}")
        elif outcome.result == digests.ALREADY_SENT:
            self.stdout.write(f"{user}: skipped, already sent")
        elif outcome.result == digests.TAKEN:
            self.stdout.write(f"{user}: skipped, being sent by another run")
        elif outcome.result == digests.NOTHING:
            if self.verbosity > 1 or dry_run:
                self.stdout.write(f"{user}: skipped, nothing to report")
        elif outcome.result == digests.NO_EMAIL:
            self.stdout.write(f"{user}: skipped, no e-mail address — {_counts(digest)}")
            if dry_run:
                self._list(digest)
        elif outcome.result == digests.WOULD_SEND:
            message = digests.message(digest)
            self.stdout.write(f"{user}: would send to {outcome.user.email}: {message.subject}")
            self._list(digest)

    def _report_weekly(self, outcome: digests.Outcome) -> None:
        user = outcome.user.get_username()
        result = outcome.result
        if result in (digests.SENT, digests.WOULD_SEND):
            verb = "sent to" if result == digests.SENT else "would send to"
            subject = weekly.message(outcome.digest).subject
            self.stdout.write(f"{user}: {verb} {outcome.user.email}: {subject}")
        elif result == digests.FAILED:
            self.stderr.write(f"{user}: FAILED — {outcome.error}")
        else:
            reason = {
                digests.ALREADY_SENT: "already sent this week",
                digests.TAKEN: "being sent by another run",
                digests.NOTHING: "no project to summarise",
                digests.NO_EMAIL: "no e-mail address",
            }[result]
            self.stdout.write(f"{user}: skipped, {reason}")

    def _list(self, digest: digests.Digest) -> None:
        sections = [
            ("overdue", digest.overdue),
            ("due within 7 days", digest.due_soon),
            ("waiting on the partner", digest.waiting),
        ]
        for label, follow_ups in sections:
            for follow_up in follow_ups:
                self.stdout.write(f"    {label}: {follow_up.title} (due {follow_up.due_on})")
        for partnership in digest.stale:
            self.stdout.write(f"    gone quiet ({partnership.staleness}): {partnership}")
        if digest.projects:
            self.stdout.write(f"    + summary of {len(digest.projects)} projects")

    def _summary(self, run: digests.Run) -> str:
        reasons = [
            (digests.ALREADY_SENT, "already sent"),
            (digests.TAKEN, "being sent by another run"),
            (digests.NOTHING, "nothing to report"),
            (digests.NO_EMAIL, "no e-mail address"),
        ]
        detail = ", ".join(f"{run.count(key)} {label}" for key, label in reasons if run.count(key))
        verb = "would send" if run.dry_run else "sent"
        if self.weekly:
            verb = f"weekly summary, week of {run.on}: {verb}"
            line = f"{verb} {run.sent}, skipped {run.skipped}, failed {run.failed}"
            line += f" ({detail})" if detail else ""
            return line + (" — dry run, nothing sent" if run.dry_run else "")
        line = f"{run.on}: {verb} {run.sent}, skipped {run.skipped}, failed {run.failed}"
        line += f" ({detail})" if detail else ""
        return line + (" — dry run, nothing sent" if run.dry_run else "")


def _counts(digest: digests.Digest) -> str:
    counts = digest.counts
    return (
        f"{counts['overdue']} overdue, {counts['due_soon']} due within 7 days, "
        f"{counts['waiting']} waiting, {counts['stale']} gone quiet"
    )
