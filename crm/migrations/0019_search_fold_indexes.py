# The staff search (crm/search.py) folds text with unaccent(lower(…)) and looks
# for each word in a record's text, and for a typo in its name: at a million
# follow-ups that was a scan of every row, 13 s a search. On PostgreSQL,
# crm_fold() is that folding declared IMMUTABLE (unaccent() is only STABLE, as
# its dictionary could change: rebuild these indexes if it ever does), so that
# trigram GIN indexes can hold the folded name and text of the big tables'
# records; LIKE '%word%' and the typo match (%) then read them. Each index holds
# exactly the expression crm.search.ranked() writes (tests/test_search.py checks
# that the planner uses them). SQLite defines crm_fold() in Python on each
# connection (crm.search.register_sqlite_functions) and scans its small tables.

from django.db import migrations

FOLD = """
CREATE OR REPLACE FUNCTION crm_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, lower($1)) $$
"""


def joined(*columns: str) -> str:
    """crm.search.Joined's SQL."""
    return "(" + " || ' ' || ".join(f"COALESCE({column}, '')" for column in columns) + ")"


# (index, table, folded expression) for crm/views/search.py's big tables: the
# name (a typo's match) and the name with the text (the words).
FOLD_INDEXES = [
    ("crm_followup_name_fold_trgm", "crm_followup", "title"),
    (
        "crm_followup_text_fold_trgm",
        "crm_followup",
        joined("title", "description", "completion_note"),
    ),
    ("crm_interaction_name_fold_trgm", "crm_interaction", "title"),
    (
        "crm_interaction_text_fold_trgm",
        "crm_interaction",
        joined("title", "city", "summary", "outcome"),
    ),
]


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FOLD, params=None)
    for name, table, expression in FOLD_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (crm_fold({expression}) gin_trgm_ops)",
            params=None,
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in FOLD_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS crm_fold(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0018_open_follow_up_counts"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
