# How many open follow-ups each (project, assignee, status) has, kept by the
# database itself.
#
# The dashboard's chart and counts counted every open follow-up of the team
# (55 ms of a 220 ms page at a million follow-ups, and growing with them).
# OpenFollowUpCount holds the totals, and these triggers keep them whatever
# writes the follow-ups: services, admin, imports, fixtures, COPY. crm.tallies
# reads them, and counts in the table itself only the follow-ups due from today
# on, or waiting since recently (crm_followup_waiting_since_idx).
#
# On PostgreSQL the trigger runs once per statement, over its transition tables
# (a COPY of a million follow-ups adds to each total once); each total is
# changed by adding to it (ON CONFLICT … total + excluded.total), which two
# transactions can do at once without losing either, in the order of the keys,
# so that they cannot deadlock. SQLite has row triggers only.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


OPEN = "('open', 'in_progress', 'waiting')"

# Add ``delta`` for each row of ``rows`` (a table or transition table) still open.
MOVES = """
    SELECT project_id, COALESCE(assignee_id, 0) AS assignee_key, status, {delta} AS delta
    FROM {rows} WHERE status IN """ + OPEN

ADD = """
    INSERT INTO crm_openfollowupcount (project_id, assignee_key, status, total)
    SELECT project_id, assignee_key, status, SUM(delta) FROM ({moves}) AS moves
    WHERE true
    GROUP BY project_id, assignee_key, status
    HAVING SUM(delta) <> 0
    ORDER BY project_id, assignee_key, status
    ON CONFLICT (project_id, assignee_key, status) DO UPDATE
    SET total = crm_openfollowupcount.total + excluded.total
"""


def add(*moves: tuple[str, int]) -> str:
    return ADD.format(
        moves=" UNION ALL ".join(MOVES.format(rows=rows, delta=delta) for rows, delta in moves)
    )


POSTGRESQL = [
    f"""
    CREATE FUNCTION crm_follow_ups_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {add(("new_follow_ups", 1))};
        ELSIF TG_OP = 'DELETE' THEN
            {add(("old_follow_ups", -1))};
        ELSE
            {add(("new_follow_ups", 1), ("old_follow_ups", -1))};
        END IF;
        RETURN NULL;
    END $$;
    """,
    """
    CREATE TRIGGER crm_follow_ups_inserted AFTER INSERT ON crm_followup
    REFERENCING NEW TABLE AS new_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION crm_follow_ups_counted();
    """,
    """
    CREATE TRIGGER crm_follow_ups_deleted AFTER DELETE ON crm_followup
    REFERENCING OLD TABLE AS old_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION crm_follow_ups_counted();
    """,
    """
    CREATE TRIGGER crm_follow_ups_updated AFTER UPDATE ON crm_followup
    REFERENCING OLD TABLE AS old_follow_ups NEW TABLE AS new_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION crm_follow_ups_counted();
    """,
    add(("crm_followup", 1)),
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER crm_follow_ups_updated ON crm_followup",
    "DROP TRIGGER crm_follow_ups_deleted ON crm_followup",
    "DROP TRIGGER crm_follow_ups_inserted ON crm_followup",
    "DROP FUNCTION crm_follow_ups_counted()",
]

# One row at a time. A follow-up counted in: its total is made or added to.
SQLITE_IN = """
    INSERT INTO crm_openfollowupcount (project_id, assignee_key, status, total)
    SELECT NEW.project_id, COALESCE(NEW.assignee_id, 0), NEW.status, 1
    WHERE NEW.status IN """ + OPEN + """
    ON CONFLICT (project_id, assignee_key, status) DO UPDATE
    SET total = crm_openfollowupcount.total + 1;
"""
# Counted out: its total exists, and is only ever taken from. (Django's flush
# empties the tables one DELETE at a time, in no set order: a total made here
# for a follow-up deleted after the totals would outlive its project.)
SQLITE_OUT = """
    UPDATE crm_openfollowupcount SET total = total - 1
    WHERE project_id = OLD.project_id
      AND assignee_key = COALESCE(OLD.assignee_id, 0)
      AND status = OLD.status
      AND OLD.status IN """ + OPEN + """;
"""

SQLITE = [
    f"""
    CREATE TRIGGER crm_follow_ups_inserted AFTER INSERT ON crm_followup FOR EACH ROW
    BEGIN {SQLITE_IN} END
    """,
    f"""
    CREATE TRIGGER crm_follow_ups_deleted AFTER DELETE ON crm_followup FOR EACH ROW
    BEGIN {SQLITE_OUT} END
    """,
    f"""
    CREATE TRIGGER crm_follow_ups_updated
    AFTER UPDATE OF project_id, assignee_id, status ON crm_followup FOR EACH ROW
    WHEN OLD.project_id IS NOT NEW.project_id
        OR OLD.assignee_id IS NOT NEW.assignee_id
        OR OLD.status IS NOT NEW.status
    BEGIN
        {SQLITE_OUT}
        {SQLITE_IN}
    END
    """,
    add(("crm_followup", 1)),
]

SQLITE_REVERSE = [
    f"DROP TRIGGER {name}"
    for name in ("crm_follow_ups_inserted", "crm_follow_ups_deleted", "crm_follow_ups_updated")
]


def run(statements_by_vendor: dict[str, list[str]]):
    def operation(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements_by_vendor:
            raise NotImplementedError(f"No OpenFollowUpCount triggers for {vendor}.")
        for statement in statements_by_vendor[vendor]:
            schema_editor.execute(statement, params=None)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0017_open_due_index_with_id'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OpenFollowUpCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('assignee_key', models.BigIntegerField(verbose_name='assignee')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('waiting', 'Waiting on partner'), ('done', 'Done'), ('cancelled', 'Cancelled')], max_length=20, verbose_name='status')),
                ('total', models.BigIntegerField(verbose_name='number')),
            ],
            options={
                'verbose_name': 'open follow-up count',
                'verbose_name_plural': 'open follow-up counts',
                'default_permissions': ('view',),
            },
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('status', 'waiting')), fields=['waiting_since'], name='crm_followup_waiting_since_idx'),
        ),
        migrations.AddField(
            model_name='openfollowupcount',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.project', verbose_name='project'),
        ),
        migrations.AddConstraint(
            model_name='openfollowupcount',
            constraint=models.UniqueConstraint(fields=('project', 'assignee_key', 'status'), name='crm_openfollowupcount_unique'),
        ),
        migrations.RunPython(
            run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
