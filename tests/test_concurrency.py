"""Two people acting on the same record at the same moment (PostgreSQL only:
SQLite serialises writers, so the race cannot happen there)."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from crm import roles, services
from crm.models import Partnership, StageChange
from tests import factories


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_stage_changes_are_recorded_one_after_the_other(postgres_only):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    user = factories.UserFactory()
    barrier = threading.Barrier(2)
    errors = []

    def move(to_stage):
        try:
            barrier.wait()
            services.partnership_change_stage(partnership=partnership, to_stage=to_stage, by=user)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(stage,)) for stage in ("exploring", "on_hold")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    changes = list(StageChange.objects.order_by("id").values_list("from_stage", "to_stage"))
    # The second move starts from where the first one left the partnership.
    assert changes[0][0] == "contacted"
    assert changes[1][0] == changes[0][1]
    partnership.refresh_from_db()
    assert partnership.stage == changes[1][1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_each_digest_once(postgres_only, mailoutbox, monkeypatch):
    from datetime import date

    from crm import digests
    from crm.models import DigestLog
    from tests.conftest import TODAY

    people = [factories.UserFactory(username=f"member{n}") for n in range(3)]
    # A transactional test starts from an emptied database: no role groups.
    staff, _ = Group.objects.get_or_create(name=roles.STAFF)
    for person in people:
        person.groups.add(staff)
        factories.FollowUpFactory(assignee=person, due_on=date(2026, 1, 10))

    # Both runs compute each person's digest before either claims it, so that
    # every digest is raced for, not only the first.
    barrier = threading.Barrier(2, timeout=20)
    compute = digests.compute

    def compute_in_step(user, **kwargs):
        digest = compute(user, **kwargs)
        barrier.wait()
        return digest

    monkeypatch.setattr(digests, "compute", compute_in_step)
    runs, errors = [], []

    def send():
        try:
            runs.append(digests.run(on=TODAY))
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)
    assert DigestLog.objects.filter(status="sent").count() == 3
    assert sum(run.sent for run in runs) == 3
    assert sum(run.skipped for run in runs) == 3
