"""The three logs of state moves keep one set of rules (crm/models/state_changes.py).

A partnership's stages (``StageChange``) and the statuses of commitments and
agreements (``CommitmentStatusChange``, ``AgreementStatusChange``) are shown, ordered
and checked the same way, and sharing one base changed none of their tables: the
rows the migrations' tables hold are read back whole.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.utils import timezone, translation

from crm.models import (
    AgreementStatus,
    AgreementStatusChange,
    CommitmentStatus,
    CommitmentStatusChange,
    PartnershipStage,
    StageChange,
)
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Log:
    """One log of state moves, and what its rows need."""

    model: type
    subject: str  # the foreign key to the record that moves
    state: str  # "stage": from_stage → to_stage
    subject_factory: type
    first: str
    second: str

    def row(self, record, *, before: str = "", after: str | None = None, at=None, **fields):
        return self.model(
            **{
                self.subject: record,
                f"from_{self.state}": before,
                f"to_{self.state}": self.first if after is None else after,
                "changed_at": at or timezone.now(),
                **fields,
            }
        )


STAGES = Log(
    StageChange,
    "partnership",
    "stage",
    factories.PartnershipFactory,
    PartnershipStage.IDENTIFIED,
    PartnershipStage.CONTACTED,
)
COMMITMENTS = Log(
    CommitmentStatusChange,
    "commitment",
    "status",
    factories.CommitmentFactory,
    CommitmentStatus.ANNOUNCED,
    CommitmentStatus.CONFIRMED,
)
AGREEMENTS = Log(
    AgreementStatusChange,
    "agreement",
    "status",
    factories.AgreementFactory,
    AgreementStatus.DRAFT,
    AgreementStatus.UNDER_REVIEW,
)
LOGS = [STAGES, COMMITMENTS, AGREEMENTS]

each_log = pytest.mark.parametrize("log", LOGS, ids=lambda log: log.model.__name__)


@pytest.fixture(scope="module")
def migrations():
    """The migrations as written, read without the database."""
    return MigrationLoader(None, ignore_no_migrations=True)


@each_log
def test_a_move_reads_record_then_from_and_to_labels(log):
    record = log.subject_factory()
    first = log.row(record)
    first.save()
    second = log.row(record, before=log.first, after=log.second)
    second.save()

    first_label, second_label = log.first.label, log.second.label
    assert str(first) == f"{record}: — → {first_label}"
    assert str(second) == f"{record}: {first_label} → {second_label}"


@each_log
def test_moves_are_listed_newest_first_and_by_id_within_one_instant(log):
    record = log.subject_factory()
    now = timezone.now()
    older = log.row(record, at=now - timedelta(days=1))
    older.save()
    same_instant = [
        log.row(record, before=log.first, after=log.second, at=now),
        log.row(record, before=log.second, after=log.first, at=now),
    ]
    for row in same_instant:
        row.save()

    assert list(log.model.objects.all()) == [same_instant[1], same_instant[0], older]


@each_log
def test_a_move_to_the_state_it_left_is_refused(log):
    # A commitment's row may keep its status for a part delivered: here none is.
    no_part = {"amount": Decimal(0)} if log is COMMITMENTS else {}
    row = log.row(log.subject_factory(), before=log.first, after=log.first, **no_part)

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        row.save()
    assert f"{log.model._meta.db_table}_is_a_change" in str(refused.value)


@each_log
@pytest.mark.parametrize("end", ["from", "to"])
def test_a_state_outside_the_choices_is_refused(log, end):
    row = log.row(log.subject_factory())
    setattr(row, f"{end}_{log.state}", "unheard_of")

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        row.save()
    assert f"{log.model._meta.db_table}_{end}_{log.state}_valid" in str(refused.value)


def test_a_commitment_may_log_a_part_delivered_without_moving():
    confirmed = COMMITMENTS.second
    row = COMMITMENTS.row(
        COMMITMENTS.subject_factory(), before=confirmed, after=confirmed, amount=Decimal("250.00")
    )
    row.save()

    assert CommitmentStatusChange.objects.get().amount == Decimal("250.00")


def test_the_logs_declare_the_tables_the_migrations_made(migrations):
    """``makemigrations --check`` for the app: no field, constraint or index of a log moved."""
    # As makemigrations does: the migrations hold the untranslated names.
    with translation.override(None):
        changes = MigrationAutodetector(
            migrations.project_state(), ProjectState.from_apps(apps)
        ).changes(graph=migrations.graph, trim_to_apps={"crm"})

    assert changes == {}


@each_log
def test_the_rows_of_the_migrations_table_are_all_read_back(log, migrations):
    """Rows written through the table as the migrations made it come back whole."""
    historical = migrations.project_state().apps.get_model("crm", log.model.__name__)
    record, user = log.subject_factory(), factories.UserFactory()
    now = timezone.now()
    moves = [("", log.first), (log.first, log.second), (log.second, log.first)]
    written = [
        historical.objects.create(
            **{
                f"{log.subject}_id": record.pk,
                f"from_{log.state}": before,
                f"to_{log.state}": after,
                "changed_at": now - timedelta(hours=len(moves) - step),
                "changed_by_id": user.pk,
                "note": f"Move {step}",
            }
        )
        for step, (before, after) in enumerate(moves)
    ]
    columns = [field.attname for field in historical._meta.concrete_fields]

    read = log.model.objects.order_by("id").values_list(*columns)

    assert list(read) == [tuple(getattr(row, name) for name in columns) for row in written]
    assert {field.column for field in log.model._meta.concrete_fields} == {
        field.column for field in historical._meta.concrete_fields
    }
