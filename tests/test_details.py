"""The details of the staff workspace: calendar links, digest links, the admin's e-mail,
the mission report, one date format per context."""

import re
from datetime import date, datetime, time, timedelta
from io import StringIO

import icalendar
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from django.utils import timezone

from crm import services
from crm.calendar import calendar_url_for
from crm.models import DatePrecision, FollowUp
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_calendar_events_link_to_the_follow_up_s_page(client, staff_user):
    follow_up = factories.FollowUpFactory(
        assignee=staff_user, due_on=timezone.localdate() + timedelta(days=2)
    )
    meeting = factories.InteractionFactory(occurred_on=timezone.localdate() + timedelta(days=1))
    meeting.staff.set([staff_user])
    path = calendar_url_for(staff_user, RequestFactory().get("/")).removeprefix(
        "http://testserver"
    )

    calendar = icalendar.Calendar.from_ical(client.get(path).content)

    urls = {
        str(event["UID"]).split("@")[0]: str(event["URL"]) for event in calendar.walk("VEVENT")
    }
    assert urls == {
        f"followup-{follow_up.pk}": f"http://testserver/follow-ups/{follow_up.pk}/",
        f"interaction-{meeting.pk}": f"http://testserver{meeting.get_absolute_url()}",
    }


def test_make_run_gives_the_served_address_to_the_digest_links():
    makefile = (settings.BASE_DIR / "Makefile").read_text()
    assert "RUN_ADDRESS ?= 127.0.0.1:8000" in makefile
    assert "CRM_BASE_URL=$${CRM_BASE_URL:-http://$(RUN_ADDRESS)}" in makefile
    assert "runserver $(RUN_ADDRESS)" in makefile


def test_digest_links_use_crm_base_url(staff_user, settings, mailoutbox):
    from crm import digests

    settings.CRM_BASE_URL = "https://crm.example.tg"
    staff_user.email = "awa@example.org"
    staff_user.save()
    follow_up = factories.FollowUpFactory(assignee=staff_user, due_on=date(2026, 1, 10))

    digests.run(on=date(2026, 1, 15))

    assert f"https://crm.example.tg/follow-ups/{follow_up.pk}/" in mailoutbox[0].body
    assert ":8000" not in mailoutbox[0].body


def setup_local(**options) -> str:
    out = StringIO()
    call_command("setup_local", no_demo=True, stdout=out, **options)
    return out.getvalue()


def test_setup_local_takes_the_admin_s_email_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-local-test-password-1")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "coordination@example.tg")
    setup_local()
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="admin").email == "coordination@example.tg"


def test_setup_local_asks_for_the_admin_s_email_on_a_terminal(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-local-test-password-1")
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "awa@example.tg")
    setup_local()
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="admin").email == "awa@example.tg"


def test_setup_local_warns_when_the_admin_gets_no_email(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-local-test-password-1")
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    out = setup_local(interactive=False)
    assert "no daily digest" in out


def test_setup_local_refuses_a_bad_email(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-local-test-password-1")
    with pytest.raises(CommandError, match="Not an e-mail"):
        setup_local(email="not an address")


def test_the_mission_report_prints_a_shared_source_note_once_and_each_partner_s_stage(
    client, staff_user, english
):
    note = "Projects: the source does not say which project was discussed with whom."
    mission = factories.MissionFactory(slug="usa", date_precision=DatePrecision.LATE_MONTH)
    visa = factories.OrganizationFactory(name="Visa")
    project = factories.ProjectFactory(name="Digital payments")
    factories.PartnershipFactory(organization=visa, project=project, stage="contacted")
    for title in ("CCA session", "Stanford", "Port"):
        factories.InteractionFactory(
            mission=mission,
            title=title,
            summary=f"Met at {title}.\n\n{note}",
            organizations=[visa],
        )
    done = factories.FollowUpFactory(organization=visa, project=project, title="Thank Visa")
    services.follow_up_complete(follow_up=done, by=staff_user, note="Thanked.")
    client.force_login(staff_user)

    text = client.get("/missions/usa/").text

    assert text.count(note) == 1
    assert "Met at Stanford." in text
    assert "Digital payments: Contacted" in text
    assert "Thank Visa" in text and "Thanked." in text


def test_the_mission_report_lists_its_meetings_follow_ups_and_those_opened_since_it_began(
    client, staff_user, english
):
    mission = factories.MissionFactory(
        slug="usa", start_on=date(2025, 9, 1), end_on=date(2025, 9, 30)
    )
    visa, other = factories.OrganizationFactory(name="Visa"), factories.OrganizationFactory()
    meeting = factories.InteractionFactory(mission=mission, organizations=[visa])
    make = factories.FollowUpFactory
    promised = make(title="Promised in the meeting", interaction=meeting, organization=other)
    first_hour = make(title="Opened on the first morning", organization=visa)
    before = make(title="Opened the night before", organization=visa)
    elsewhere = make(title="Someone else's", organization=other)
    start = timezone.make_aware(datetime.combine(date(2025, 9, 1), time(0, 30)))
    FollowUp.objects.filter(pk__in=[first_hour.pk, elsewhere.pk]).update(created_at=start)
    FollowUp.objects.filter(pk=before.pk).update(created_at=start - timedelta(hours=1))
    FollowUp.objects.filter(pk=promised.pk).update(created_at=start - timedelta(days=400))
    client.force_login(staff_user)

    text = client.get("/missions/usa/").text

    assert promised.title in text and first_hour.title in text
    assert before.title not in text and elsewhere.title not in text


def test_the_timeline_speaks_one_date_format(client, staff_user, english):
    organization = factories.OrganizationFactory(slug="visa")
    factories.InteractionFactory(organizations=[organization], occurred_on=date(2025, 11, 29))
    partnership = factories.PartnershipFactory(organization=organization)
    services.partnership_change_stage(partnership=partnership, to_stage="exploring", by=staff_user)
    snoozed = factories.FollowUpFactory(organization=organization)
    services.follow_up_snooze(
        follow_up=snoozed,
        due_on=date(2026, 2, 2),
        reason="Away",
        by=staff_user,
        today=date(2026, 1, 15),
    )
    services.organization_merge(
        kept=organization, other=factories.OrganizationFactory(), by=staff_user
    )
    services.document_create(
        by=staff_user,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="mou.pdf"),
        title="Draft MoU",
        organization=organization,
    )
    client.force_login(staff_user)

    text = client.get("/organizations/visa/").text
    timeline = text[text.index('id="timeline"') :]
    dates = re.findall(r"<time[^>]*>([^<]+)</time>", timeline)

    assert len(dates) >= 5
    assert all(not re.fullmatch(r"\d+/\d+/\d+", d.strip()) for d in dates), dates
    assert "29 Nov 2025" in dates  # Day first in English too (issue 19).
    # Merges and uploads too: every date in the timeline is written one way,
    # in its entries' text as well (a follow-up's due date, a snooze's dates).
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", d.strip()) for d in dates), dates
    assert not re.search(r"\d+/\d+/\d+", timeline)
