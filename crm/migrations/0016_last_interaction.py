# Each organisation's latest interaction, kept by the database itself.
#
# "Gone quiet" needs every partnership's last contact. Searching each
# organisation's interactions for it took seconds at a million follow-ups (the
# dashboard, the digest, the API's partnerships). LastInteraction holds the
# answer, one row per organisation met, and these triggers keep it whatever
# writes the links or the dates: services, admin, fixtures, COPY, merges.
#
# On PostgreSQL the triggers run once per statement, over its transition
# tables, so that a COPY of 300,000 links refreshes each organisation once; the
# refresh first locks the organisations' rows, so that two transactions
# linking the same organisation cannot leave the older one's answer. SQLite has
# one writer at a time and row triggers only.

import django.db.models.deletion
from django.db import migrations, models

# The latest interaction of each organisation in ``organizations`` (a SQL set
# of ids), written over what the table held: newest date first, then the
# newest record (the highest id) among interactions of the same day.
REFRESH = [
    """
    DELETE FROM crm_lastinteraction
    WHERE organization_id IN ({organizations})
      AND NOT EXISTS (
        SELECT 1 FROM crm_interactionorganization AS link
        WHERE link.organization_id = crm_lastinteraction.organization_id
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
    ) AS ranked
    WHERE newest = 1
    ON CONFLICT (organization_id) DO UPDATE
    SET occurred_on = excluded.occurred_on, date_precision = excluded.date_precision
    """,
]


def refresh(organizations: str) -> str:
    """Return the refresh of ``organizations`` as statements ending with ";"."""
    return "".join(f"{statement.format(organizations=organizations)};" for statement in REFRESH)


def backfill(organizations: str) -> list[str]:
    return [statement.format(organizations=organizations) for statement in REFRESH]


POSTGRESQL = [
    f"""
    CREATE FUNCTION crm_refresh_last_interaction(organizations bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        -- A concurrent refresh of the same organisations waits here, then
        -- reads (new statement, new snapshot) what the other one committed.
        PERFORM 1 FROM crm_organization
        WHERE id = ANY(organizations) ORDER BY id FOR NO KEY UPDATE;
        {refresh("SELECT unnest(organizations)")}
    END $$;
    """,
    """
    CREATE FUNCTION crm_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM crm_refresh_last_interaction(
                ARRAY(SELECT DISTINCT organization_id FROM new_links));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM crm_refresh_last_interaction(
                ARRAY(SELECT DISTINCT organization_id FROM old_links));
        ELSE
            PERFORM crm_refresh_last_interaction(ARRAY(
                SELECT organization_id FROM old_links
                UNION SELECT organization_id FROM new_links));
        END IF;
        RETURN NULL;
    END $$;
    """,
    """
    CREATE TRIGGER crm_links_inserted AFTER INSERT ON crm_interactionorganization
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION crm_links_changed();
    """,
    """
    CREATE TRIGGER crm_links_deleted AFTER DELETE ON crm_interactionorganization
    REFERENCING OLD TABLE AS old_links
    FOR EACH STATEMENT EXECUTE FUNCTION crm_links_changed();
    """,
    """
    CREATE TRIGGER crm_links_updated AFTER UPDATE ON crm_interactionorganization
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION crm_links_changed();
    """,
    """
    CREATE FUNCTION crm_interactions_redated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM crm_refresh_last_interaction(ARRAY(
            SELECT DISTINCT link.organization_id
            FROM new_interactions AS after
            JOIN old_interactions AS before ON before.id = after.id
            JOIN crm_interactionorganization AS link ON link.interaction_id = after.id
            WHERE (after.occurred_on, after.date_precision)
                IS DISTINCT FROM (before.occurred_on, before.date_precision)));
        RETURN NULL;
    END $$;
    """,
    """
    CREATE TRIGGER crm_interactions_redated AFTER UPDATE ON crm_interaction
    REFERENCING OLD TABLE AS old_interactions NEW TABLE AS new_interactions
    FOR EACH STATEMENT EXECUTE FUNCTION crm_interactions_redated();
    """,
    *backfill("SELECT id FROM crm_organization"),
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER crm_interactions_redated ON crm_interaction",
    "DROP FUNCTION crm_interactions_redated()",
    "DROP TRIGGER crm_links_updated ON crm_interactionorganization",
    "DROP TRIGGER crm_links_deleted ON crm_interactionorganization",
    "DROP TRIGGER crm_links_inserted ON crm_interactionorganization",
    "DROP FUNCTION crm_links_changed()",
    "DROP FUNCTION crm_refresh_last_interaction(bigint[])",
]


def sqlite_trigger(name: str, event: str, when: str, *organizations: str) -> str:
    body = "".join(refresh(each) for each in organizations)
    return f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW {when} BEGIN {body} END"


SQLITE = [
    sqlite_trigger(
        "crm_links_inserted",
        "INSERT ON crm_interactionorganization",
        "",
        "NEW.organization_id",
    ),
    sqlite_trigger(
        "crm_links_deleted",
        "DELETE ON crm_interactionorganization",
        "",
        "OLD.organization_id",
    ),
    sqlite_trigger(
        "crm_links_updated",
        "UPDATE OF organization_id, interaction_id ON crm_interactionorganization",
        "WHEN OLD.organization_id IS NOT NEW.organization_id"
        " OR OLD.interaction_id IS NOT NEW.interaction_id",
        "OLD.organization_id",
        "NEW.organization_id",
    ),
    sqlite_trigger(
        "crm_interactions_redated",
        "UPDATE OF occurred_on, date_precision ON crm_interaction",
        "WHEN OLD.occurred_on IS NOT NEW.occurred_on"
        " OR OLD.date_precision IS NOT NEW.date_precision",
        "SELECT organization_id FROM crm_interactionorganization WHERE interaction_id = NEW.id",
    ),
    *backfill("SELECT id FROM crm_organization"),
]

SQLITE_REVERSE = [
    f"DROP TRIGGER {name}"
    for name in (
        "crm_links_inserted",
        "crm_links_deleted",
        "crm_links_updated",
        "crm_interactions_redated",
    )
]


def run(statements_by_vendor: dict[str, list[str]]):
    def operation(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements_by_vendor:
            raise NotImplementedError(f"No LastInteraction triggers for {vendor}.")
        for statement in statements_by_vendor[vendor]:
            schema_editor.execute(statement, params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0015_exchange_rate_updated_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="LastInteraction",
            fields=[
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="last_interaction",
                        serialize=False,
                        to="crm.organization",
                        verbose_name="organisation",
                    ),
                ),
                ("occurred_on", models.DateField(verbose_name="date")),
                ("date_precision", models.CharField(max_length=20, verbose_name="date precision")),
            ],
            options={
                "verbose_name": "latest interaction",
                "verbose_name_plural": "latest interactions",
                "default_permissions": ("view",),
            },
        ),
        migrations.RunPython(
            run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
