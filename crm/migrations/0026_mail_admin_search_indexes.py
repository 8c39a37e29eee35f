# The mail messages' admin search (MailMessageAdmin.search_fields: icontains,
# so UPPER(column::text) LIKE UPPER('%term%')) served by a trigram GIN index on
# UPPER(column) per searched column, as migration 0012 does for the other
# changelists: PostgreSQL only (pg_trgm, created by 0012). The body is never
# searched there.

from django.db import migrations

TRIGRAM_INDEXES = [
    ("crm_mailmessage", "subject"),  # MailMessageAdmin
    ("crm_mailmessage", "from_address"),  # MailMessageAdmin
]


def _name(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_name(table, column)} ON {table} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_name(table, column)}")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0025_mail_content_key_unique"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
