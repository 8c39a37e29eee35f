"""Two people acting on the same record at the same moment (PostgreSQL only:
SQLite serialises writers, so the race cannot happen there)."""

import threading

import pytest
from django.db import connection

from crm import services
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
