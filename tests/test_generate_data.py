"""generate_data: synthetic rows in proportion, valid, reproducible."""

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from crm.management.commands.generate_data import RARE_WORDS
from crm.models import (
    FollowUp,
    Interaction,
    InteractionOrganization,
    Mission,
    Organization,
    Partnership,
    Person,
    StageChange,
)

pytestmark = pytest.mark.django_db


def generate(follow_ups: int = 400, **options) -> None:
    call_command("generate_data", follow_ups=follow_ups, no_progress=True, **options)


def test_generate_data_fills_every_table_in_proportion():
    generate(400, users=5)

    assert FollowUp.objects.count() == 400
    assert Organization.objects.filter(slug__startswith="synthetic-organisation-").count() == 200
    assert Person.objects.count() == 400
    assert Interaction.objects.count() == 100
    assert InteractionOrganization.objects.count() >= 100
    assert Partnership.objects.exists()
    # Every partnership has its stage history, ending at its current stage.
    partnership = Partnership.objects.order_by("pk").last()
    last_move = StageChange.objects.filter(partnership=partnership).order_by("pk").last()
    assert last_move.to_stage == partnership.stage
    # Most work is done; some is open, some waiting (with its date).
    statuses = set(FollowUp.objects.values_list("status", flat=True))
    assert {"done", "open", "waiting"} <= statuses
    assert not FollowUp.objects.filter(status="waiting", waiting_since__isnull=True).exists()


def test_generated_names_are_plainly_synthetic():
    generate(100, users=3)

    assert not Organization.objects.exclude(name__startswith="Synthetic").exists()
    assert not FollowUp.objects.exclude(title__startswith="Synthetic").exists()
    assert not Person.objects.exclude(email__endswith="@example.invalid").exists()


def test_the_same_seed_gives_the_same_rows():
    def rows():
        return list(
            FollowUp.objects.order_by("pk").values_list(
                "title", "status", "due_on", "organization__slug", "assignee__username"
            )
        )

    with transaction.atomic():
        generate(200, users=3)
        first = rows()
        transaction.set_rollback(True)
    assert not FollowUp.objects.exists()

    generate(200, users=3)

    assert rows() == first


def test_generate_data_refuses_to_run_twice():
    generate(10, users=2)

    with pytest.raises(CommandError, match="already"):
        generate(10, users=2)


def test_generated_data_looks_like_years_of_use():
    """Issue 22: missions with many meetings, a partner of long standing, words in the notes."""
    generate(4000, users=5)

    meetings = Interaction.objects.count()
    missions = list(Mission.objects.order_by("slug").annotate(meetings=Count("interactions")))
    assert [mission.meetings for mission in missions] == [20, 10, 4]  # 2%, 1%, 0.4% of 1,000
    for mission in missions:
        assert not mission.interactions.exclude(
            occurred_on__range=(mission.start_on, mission.end_on)
        ).exists()
        assert mission.delegation.count() == 2

    long_lived = Organization.objects.get(name__endswith="(long-lived partner)")
    assert long_lived.interactions.count() == 400  # a tenth of the follow-ups
    assert 300 < FollowUp.objects.filter(organization=long_lived).count() < 500
    assert long_lived.partnerships.count() == 8  # every project
    assert StageChange.objects.filter(partnership__organization=long_lived).count() > 100
    assert meetings == 1000

    described = FollowUp.objects.exclude(description="")
    assert 0.6 < described.count() / 4000 < 0.8
    # The commonest word is in most notes; a rare one in almost none.
    assert described.filter(description__icontains="réunion").count() > described.count() / 3
    rare = sum(FollowUp.objects.filter(description__icontains=word).count() for word in RARE_WORDS)
    assert rare < 20
    assert described.filter(description__contains="réf. ").count() > 200
    assert Interaction.objects.exclude(summary="").count() > 700
