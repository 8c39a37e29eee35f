"""The daily digest: what it says, to whom, once a day, and never silently lost."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import digests, services
from crm.models import DigestLog, FollowUp, MailMessage, Partnership, StaffProfile
from tests import factories
from tests.conftest import TODAY

BASE_URL = "https://crm.example.org"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.CRM_BASE_URL = BASE_URL


def send(*args: str, **options) -> str:
    out = StringIO()
    call_command("send_digests", "--date", TODAY.isoformat(), *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def amavi(staff_user):
    staff_user.first_name, staff_user.last_name = "Ama", "Vi"
    staff_user.email = "ama.vi@example.org"
    staff_user.save()
    return staff_user


@pytest.fixture
def agenda(amavi):
    """Amavi's follow-ups and partnerships as of TODAY (2026-01-15)."""
    project = factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    mastercard = factories.OrganizationFactory(slug="mastercard", name="Mastercard")
    make = factories.FollowUpFactory
    items = {
        "overdue": make(
            title="Relancer Visa", project=project, organization=visa, assignee=amavi,
            due_on=date(2026, 1, 10),
        ),
        "due_soon": make(
            title="Envoyer la note <conceptuelle> & annexes", project=project,
            organization=visa, assignee=amavi, due_on=date(2026, 1, 20),
        ),
        "later": make(title="Préparer 2027", project=project, assignee=amavi,
                      due_on=date(2026, 3, 1)),
        "waiting_long": make(
            title="Réponse de Visa sur le pilote", project=project, organization=visa,
            assignee=amavi, status=FollowUp.Status.WAITING, waiting_since=date(2025, 12, 20),
            due_on=date(2026, 1, 5),
        ),
        "waiting_short": make(
            title="Réponse récente", project=project, assignee=amavi,
            status=FollowUp.Status.WAITING, waiting_since=date(2026, 1, 5),
            due_on=date(2026, 1, 5),
        ),
        "someone_elses": make(title="Pas à moi", project=project, due_on=date(2026, 1, 10),
                              assignee=factories.UserFactory()),
        "cancelled": make(title="Annulé", project=project, assignee=amavi,
                          status=FollowUp.Status.CANCELLED, due_on=date(2026, 1, 10)),
    }  # fmt: skip
    # Last contact 1 November, cadence of "contacted" 21 days: red by the 15th.
    items["quiet"] = factories.PartnershipFactory(
        organization=mastercard, project=project, owner=amavi, stage="contacted"
    )
    factories.InteractionFactory(occurred_on=date(2025, 11, 1), organizations=[mastercard])
    return items


def link(follow_up: FollowUp) -> str:
    return BASE_URL + follow_up.get_absolute_url()


# Content.


def test_the_digest_lists_what_is_late_soon_waiting_and_quiet_in_french(agenda, amavi, mailoutbox):
    send()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    assert message.to == ["ama.vi@example.org"]
    assert message.subject == (
        "[CRM Compact] 1 en retard, 1 à faire sous 7 jours, "
        "1 en attente du partenaire, 1 partenariat sans nouvelles"
    )
    assert message.alternatives[0][1] == "text/html"
    for part in (message.body, html):
        assert "Bonjour Ama Vi," in part
        assert "Relancer Visa" in part
        assert "Réponse de Visa sur le pilote" in part
        assert "Mastercard" in part
        assert "très en retard" in part
        assert link(agenda["overdue"]) in part
        assert f"{BASE_URL}/organizations/mastercard/" in part
        assert f"{BASE_URL}/" in part
        for absent in ("Préparer 2027", "Réponse récente", "Pas à moi", "Annulé"):
            assert absent not in part
    assert "Envoyer la note <conceptuelle> & annexes" in message.body
    assert "Envoyer la note &lt;conceptuelle&gt; &amp; annexes" in html
    assert "<conceptuelle>" not in html
    assert "En retard (1)" in message.body
    assert "En attente du partenaire depuis plus de 14 jours (1)" in message.body


def test_the_digest_speaks_english_to_who_chose_english(agenda, amavi, mailoutbox):
    StaffProfile.objects.create(user=amavi, language="en")

    send()

    message = mailoutbox[0]
    html = message.alternatives[0][0]
    assert message.subject == (
        "[Compact CRM] 1 overdue, 1 due within 7 days, "
        "1 waiting on the partner, 1 partnership gone quiet"
    )
    for part in (message.body, html):
        assert "Hello Ama Vi," in part
        assert "Waiting on the partner for more than 14 days" in part
        assert "very late" in part
        assert link(agenda["due_soon"]) in part
    assert "Overdue (1)" in message.body


def test_the_stale_list_follows_a_partnership_s_own_cadence(agenda, amavi, today):
    quiet = agenda["quiet"]
    assert digests.compute(amavi, on=today).stale == [quiet]

    Partnership.objects.filter(pk=quiet.pk).update(contact_cadence_days=90)

    assert digests.compute(amavi, on=today).stale == []


def test_the_stale_list_follows_the_stage_default(agenda, amavi, today, settings):
    settings.CRM_CONTACT_CADENCE_DAYS = {**settings.CRM_CONTACT_CADENCE_DAYS, "contacted": 120}

    assert digests.compute(amavi, on=today).stale == []


def test_coordination_also_gets_the_programme_project_by_project(agenda, coordinator, mailoutbox):
    coordinator.email = "coordination@example.org"
    coordinator.save()
    factories.FollowUpFactory(
        title="Valider le budget", assignee=coordinator, project=agenda["overdue"].project,
        due_on=date(2026, 1, 16),
    )  # fmt: skip

    send()

    to_coordinator = next(m for m in mailoutbox if m.to == ["coordination@example.org"])
    to_staff = next(m for m in mailoutbox if m.to == ["ama.vi@example.org"])
    assert "Le programme, projet par projet" in to_coordinator.body
    assert (
        # The two follow-ups waiting on the partner are open, not late on our side.
        "- Paiements digitaux\n  7 ouverts, 2 en retard, 2 à faire sous 7 jours, "
        "1 partenariat sans nouvelles\n"
    ) in to_coordinator.body
    assert f"{BASE_URL}/projects/paiements-digitaux/" in to_coordinator.alternatives[0][0]
    assert "Le programme" not in to_staff.body


def test_nobody_gets_an_email_when_nothing_is_due(amavi, mailoutbox):
    factories.FollowUpFactory(assignee=amavi, due_on=TODAY + timedelta(days=30))

    out = send()

    assert mailoutbox == []
    assert not DigestLog.objects.exists()
    assert "sent 0, skipped 1, failed 0 (1 nothing to report)" in out


def test_a_member_of_staff_without_an_address_is_skipped_and_said_so(agenda, amavi, mailoutbox):
    amavi.email = ""
    amavi.save()

    out = send()

    assert mailoutbox == []
    assert "staffer: skipped, no e-mail address" in out
    assert "(1 no e-mail address)" in out


def test_read_only_and_inactive_users_get_no_digest(agenda, amavi, reader, mailoutbox):
    reader.email = "reader@example.org"
    reader.save()
    FollowUp.objects.filter(title="Relancer Visa").update(assignee=reader)
    amavi.is_active = False
    amavi.save()

    send()

    assert mailoutbox == []


# Once a day.


def test_a_second_run_the_same_day_sends_nothing(agenda, amavi, mailoutbox):
    first = send()
    second = send()

    assert len(mailoutbox) == 1
    assert "sent 1, skipped 0, failed 0" in first
    assert "sent 0, skipped 1, failed 0 (1 already sent)" in second
    log = DigestLog.objects.get()
    assert (log.user, log.digest_on, log.status, log.attempts) == (amavi, TODAY, "sent", 1)
    assert (log.overdue, log.due_soon, log.waiting, log.stale) == (1, 1, 1, 1)
    assert log.sent_at is not None


def test_the_next_day_sends_again(agenda, amavi, mailoutbox):
    send()
    call_command("send_digests", "--date", "2026-01-16", stdout=StringIO())

    assert len(mailoutbox) == 2
    assert DigestLog.objects.count() == 2


def test_a_digest_being_sent_by_another_run_is_left_alone(agenda, amavi, mailoutbox):
    DigestLog.objects.create(
        user=amavi, digest_on=TODAY, status="sending", claimed_at=timezone.now()
    )

    out = send()

    assert mailoutbox == []
    assert "staffer: skipped, being sent by another run" in out


def test_a_killed_runs_claim_is_retried_after_the_lease_and_not_before(
    agenda, amavi, mailoutbox, monkeypatch, settings
):
    settings.CRM_DIGEST_CLAIM_LEASE_MINUTES = 10
    started = timezone.now()
    clock = {"now": started}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    build = digests.message

    class KilledWhileSending:
        def send(self):
            raise SystemExit("killed")  # not an error the run can catch: the process dies

    monkeypatch.setattr(digests, "message", lambda digest: KilledWhileSending())
    with pytest.raises(SystemExit):
        send()
    monkeypatch.setattr(digests, "message", build)
    assert DigestLog.objects.get().status == "sending"

    clock["now"] = started + timedelta(minutes=9)
    out = send()
    assert mailoutbox == []
    assert "staffer: skipped, being sent by another run" in out

    clock["now"] = started + timedelta(minutes=11)
    send()
    assert len(mailoutbox) == 1
    log = DigestLog.objects.get()
    assert (log.status, log.attempts) == ("sent", 2)


# Failures.


@pytest.fixture
def two_recipients(agenda, amavi, coordinator):
    coordinator.email = "coordination@example.org"
    coordinator.save()
    factories.FollowUpFactory(assignee=coordinator, due_on=TODAY - timedelta(days=1))
    return amavi, coordinator


def test_a_failure_for_one_person_does_not_stop_the_others_and_is_retried(
    two_recipients, mailoutbox, monkeypatch
):
    amavi, _ = two_recipients
    build = digests.message

    def failing_for_amavi(digest):
        message = build(digest)
        if digest.user == amavi:

            def refuse(*args, **kwargs):
                raise ConnectionRefusedError("SMTP server down")

            message.send = refuse
        return message

    monkeypatch.setattr(digests, "message", failing_for_amavi)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("send_digests", "--date", "2026-01-15", stdout=out, stderr=err)

    assert raised.value.returncode == 1
    assert [m.to for m in mailoutbox] == [["coordination@example.org"]]
    assert "sent 1, skipped 0, failed 1" in out.getvalue()
    assert "staffer: FAILED — ConnectionRefusedError: SMTP server down" in err.getvalue()
    failed = DigestLog.objects.get(user=amavi)
    assert (failed.status, failed.attempts, failed.sent_at) == ("failed", 1, None)
    assert failed.error == "ConnectionRefusedError: SMTP server down"

    monkeypatch.setattr(digests, "message", build)
    retry = send()

    assert [m.to for m in mailoutbox][1:] == [["ama.vi@example.org"]]
    assert "sent 1, skipped 1, failed 0 (1 already sent)" in retry
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("sent", 2, "")


# The command.


def test_dry_run_prints_each_digest_and_sends_and_records_nothing(agenda, amavi, mailoutbox):
    out = send("--dry-run")

    assert mailoutbox == []
    assert not DigestLog.objects.exists()
    assert "staffer: would send to ama.vi@example.org: [CRM Compact] 1 en retard" in out
    assert "    overdue: Relancer Visa (due 2026-01-10)" in out
    assert "    gone quiet (red): Mastercard — Paiements digitaux" in out
    assert "would send 1, skipped 0, failed 0" in out
    assert out.rstrip().endswith("dry run, nothing sent")


def test_user_limits_the_run_to_one_person(two_recipients, mailoutbox):
    send("--user", "coordinator")

    assert [m.to for m in mailoutbox] == [["coordination@example.org"]]


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="No active member of staff named 'nobody'"):
        send("--user", "nobody")


def test_a_malformed_date_is_refused_with_the_expected_format(db):
    with pytest.raises(CommandError, match=r"--date '2026-13-01' is not a date: use YYYY-MM-DD"):
        call_command("send_digests", "--date", "2026-13-01", stdout=StringIO())


def test_the_date_defaults_to_today(agenda, amavi, mailoutbox, pages_today):

    call_command("send_digests", stdout=StringIO())

    assert DigestLog.objects.get().digest_on == TODAY


def test_computing_a_digest_takes_the_same_queries_whatever_the_volume(amavi, coordinator, today):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            digests.run(on=today, dry_run=True)
        return len(captured)

    factories.FollowUpFactory(assignee=amavi, due_on=today)
    few = queries()
    for n in range(30):
        factories.FollowUpFactory(
            assignee=amavi if n % 2 else coordinator,
            due_on=today + timedelta(days=n % 9 - 3),
            organization=factories.OrganizationFactory(),
            project=factories.ProjectFactory(),
        )
        factories.PartnershipFactory(owner=amavi)
    many = queries()

    assert many == few


# When "waiting on the partner" started.


def test_waiting_since_is_set_when_waiting_starts_and_cleared_when_it_ends(
    amavi, pages_today, today
):
    follow_up = factories.FollowUpFactory(assignee=amavi)

    services.follow_up_mark_waiting(follow_up=follow_up, by=amavi)
    follow_up.refresh_from_db()
    assert follow_up.waiting_since == today

    services.follow_up_complete(follow_up=follow_up, by=amavi, note="Answered")
    follow_up.refresh_from_db()
    assert follow_up.waiting_since is None


def test_waiting_since_is_kept_while_the_follow_up_stays_waiting(amavi, today):
    follow_up = factories.FollowUpFactory(
        assignee=amavi, status=FollowUp.Status.WAITING, waiting_since=date(2025, 12, 1)
    )

    services.follow_up_snooze(
        follow_up=follow_up, due_on=today, reason="Asked again", by=amavi, today=today
    )

    follow_up.refresh_from_db()
    assert follow_up.waiting_since == date(2025, 12, 1)


# Mail waiting to be filed.


def waiting_mail(*, by, subject: str, status: str = "to_file", **fields):
    return MailMessage.objects.create(
        fingerprint=f"sha:{MailMessage.objects.count()}-{subject}",
        door="upload",
        status=status,
        subject=subject,
        from_address="new.test@visa.com",
        received_by=by,
        **fields,
    )


@pytest.fixture
def in_english(amavi):
    """Amavi reads English: the French of these lines comes with the next catalogue."""
    StaffProfile.objects.create(user=amavi, language="en")


def test_the_digest_names_the_mail_each_person_sent_that_waits_to_be_filed(
    amavi, coordinator, in_english, mailoutbox
):
    mine = waiting_mail(by=amavi, subject="Liste des marchands")
    waiting_mail(by=None, subject="Transféré par Ama", filed_by=amavi)
    waiting_mail(by=amavi, subject="Échec", status="failed", error="ValueError: x")
    interaction = factories.InteractionFactory()
    waiting_mail(by=amavi, subject="Déjà classé", status="filed", interaction=interaction)
    waiting_mail(by=coordinator, subject="Celui du coordinateur")
    # Uploaded by the coordinator, forwarded by Ama: Ama's.
    waiting_mail(by=coordinator, subject="Envoyé par Ama", filed_by=amavi)

    send("--user", amavi.username)

    (email,) = mailoutbox
    assert email.subject == "[Compact CRM] 4 e-mails to file"
    assert "Your e-mails waiting to be filed (4)" in email.body
    for subject in ("Liste des marchands", "Transféré par Ama", "Échec", "Envoyé par Ama"):
        assert subject in email.body
    assert "Déjà classé" not in email.body and "Celui du coordinateur" not in email.body
    assert f"{BASE_URL}/mail/{mine.pk}/" in email.body
    assert f"{BASE_URL}/mail/{mine.pk}/" in email.alternatives[0][0]


def test_the_digest_names_the_first_waiting_messages_and_counts_the_rest(
    amavi, in_english, mailoutbox
):
    for n in range(digests.MAIL_LIMIT + 3):
        waiting_mail(by=amavi, subject=f"Message {n:02d}")

    send()

    (email,) = mailoutbox
    assert f"Your e-mails waiting to be filed ({digests.MAIL_LIMIT + 3})" in email.body
    assert "Message 12" in email.body and "Message 02" not in email.body  # newest first
    assert f"3 more… {BASE_URL}/mail/" in email.body


def test_mail_alone_makes_a_digest_and_filed_mail_none(amavi, mailoutbox):
    interaction = factories.InteractionFactory()
    waiting_mail(by=amavi, subject="Classé", status="filed", interaction=interaction)
    waiting_mail(by=amavi, subject="Écarté", status="discarded", discard_reason="Spam")

    send()

    assert mailoutbox == []


def test_mail_to_file_is_read_for_everyone_in_one_query(amavi, coordinator, today):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            digests.run(on=today, dry_run=True)
        return len(captured)

    waiting_mail(by=amavi, subject="Un")
    few = queries()
    for n in range(30):
        waiting_mail(by=amavi if n % 2 else coordinator, subject=f"Message {n}")
    many = queries()

    assert many == few
    run = digests.run(on=today, dry_run=True)
    totals = {outcome.user: outcome.digest.mail_total for outcome in run.outcomes}
    assert totals == {amavi: 16, coordinator: 15}
