# A cancelled meeting is not a contact.
#
# Invitations received by mail become planned meetings, and a cancellation sets
# Interaction.cancelled_at (0021). The triggers of 0016 counted every linked
# interaction, so a call cancelled last week made the partnership look spoken
# to. The refresh now skips cancelled interactions, and cancelling or
# un-cancelling one refreshes its organisations, as re-dating does. The locking
# is 0016's: on PostgreSQL, statement triggers over transition tables, the
# refresh first locking the organisations' rows (FOR NO KEY UPDATE, in id
# order); on SQLite, row triggers under its single writer.

import importlib

from django.db import migrations

initial = importlib.import_module("crm.migrations.0016_last_interaction")

REFRESH = [
    """
    DELETE FROM crm_lastinteraction
    WHERE organization_id IN ({organizations})
      AND NOT EXISTS (
        SELECT 1 FROM crm_interactionorganization AS link
        JOIN crm_interaction AS interaction ON interaction.id = link.interaction_id
        WHERE link.organization_id = crm_lastinteraction.organization_id
          AND interaction.cancelled_at IS NULL
      )
    """,
    """
    INSERT INTO crm_lastinteraction (organization_id, occurred_on, date_precision)
    SELECT organization_id, occurred_on, date_precision FROM (
        SELECT link.organization_id, interaction.occurred_on, interaction.date_precision,
               ROW_NUMBER() OVER (
                   PARTITION BY link.organization_id
                   ORDER BY interaction.occurred_on DESC, interaction.id DESC
               ) AS newest
        FROM crm_interactionorganization AS link
        JOIN crm_interaction AS interaction ON interaction.id = link.interaction_id
        WHERE link.organization_id IN ({organizations})
          AND interaction.cancelled_at IS NULL
    ) AS ranked
    WHERE newest = 1
    ON CONFLICT (organization_id) DO UPDATE
    SET occurred_on = excluded.occurred_on, date_precision = excluded.date_precision
    """,
]


def refresh(organizations: str) -> str:
    return "".join(f"{statement.format(organizations=organizations)};" for statement in REFRESH)


def backfill(organizations: str) -> list[str]:
    return [statement.format(organizations=organizations) for statement in REFRESH]


def postgresql_refresh_function(body: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION crm_refresh_last_interaction(organizations bigint[])
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        -- A concurrent refresh of the same organisations waits here, then
        -- reads (new statement, new snapshot) what the other one committed.
        PERFORM 1 FROM crm_organization
        WHERE id = ANY(organizations) ORDER BY id FOR NO KEY UPDATE;
        {body}
    END $$;
    """


def postgresql_redated_function(changed: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION crm_interactions_redated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM crm_refresh_last_interaction(ARRAY(
            SELECT DISTINCT link.organization_id
            FROM new_interactions AS after
            JOIN old_interactions AS before ON before.id = after.id
            JOIN crm_interactionorganization AS link ON link.interaction_id = after.id
            WHERE {changed}));
        RETURN NULL;
    END $$;
    """


POSTGRESQL = [
    postgresql_refresh_function(refresh("SELECT unnest(organizations)")),
    postgresql_redated_function(
        "(after.occurred_on, after.date_precision, after.cancelled_at IS NULL)"
        " IS DISTINCT FROM"
        " (before.occurred_on, before.date_precision, before.cancelled_at IS NULL)"
    ),
    *backfill("SELECT organization_id FROM crm_lastinteraction"),
]

POSTGRESQL_REVERSE = [
    postgresql_refresh_function(initial.refresh("SELECT unnest(organizations)")),
    postgresql_redated_function(
        "(after.occurred_on, after.date_precision)"
        " IS DISTINCT FROM (before.occurred_on, before.date_precision)"
    ),
    *initial.backfill("SELECT id FROM crm_organization"),
]


def sqlite_triggers(refresh_of) -> list[str]:
    def trigger(name: str, event: str, when: str, *organizations: str) -> str:
        body = "".join(refresh_of(each) for each in organizations)
        return f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW {when} BEGIN {body} END"

    return [
        trigger(
            "crm_links_inserted",
            "INSERT ON crm_interactionorganization",
            "",
            "NEW.organization_id",
        ),
        trigger(
            "crm_links_deleted",
            "DELETE ON crm_interactionorganization",
            "",
            "OLD.organization_id",
        ),
        trigger(
            "crm_links_updated",
            "UPDATE OF organization_id, interaction_id ON crm_interactionorganization",
            "WHEN OLD.organization_id IS NOT NEW.organization_id"
            " OR OLD.interaction_id IS NOT NEW.interaction_id",
            "OLD.organization_id",
            "NEW.organization_id",
        ),
        trigger(
            "crm_interactions_redated",
            "UPDATE OF occurred_on, date_precision, cancelled_at ON crm_interaction",
            "WHEN OLD.occurred_on IS NOT NEW.occurred_on"
            " OR OLD.date_precision IS NOT NEW.date_precision"
            " OR (OLD.cancelled_at IS NULL) IS NOT (NEW.cancelled_at IS NULL)",
            "SELECT organization_id FROM crm_interactionorganization"
            " WHERE interaction_id = NEW.id",
        ),
    ]


SQLITE = [
    *initial.SQLITE_REVERSE,
    *sqlite_triggers(refresh),
    *backfill("SELECT organization_id FROM crm_lastinteraction"),
]

SQLITE_REVERSE = [
    *initial.SQLITE_REVERSE,
    *initial.SQLITE[:4],
    *initial.backfill("SELECT id FROM crm_organization"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0023_export_log_json_pages"),
    ]

    operations = [
        migrations.RunPython(
            initial.run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            initial.run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
