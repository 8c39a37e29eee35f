# The likely-duplicates page (crm/views/duplicates.py) compares the most
# recently added or changed organisations and people each with all the others,
# taking for each the few whose folded names are nearest (crm.search.
# similar_to_recent). Comparing every record with every other was a self-join,
# 85 s at 4,000 people; here each recent record asks a trigram GiST index for
# its nearest names (pg_trgm's <-> ordering, a K-nearest-neighbour scan that
# stops after a few rows), so that the page costs the same however many records
# there are, and however many names look alike. GIN cannot order by distance:
# with names all alike, a GIN search for % would fetch and rank every row. Each
# index holds exactly the folded name that similar_to_recent() writes
# (tests/test_merge.py checks that the planner uses them). SQLite scans its
# small tables.

from django.db import migrations

# (index, table, folded name) for crm.views.duplicates.KINDS.
NAME_INDEXES = [
    ("crm_organization_name_fold_gist", "crm_organization", "name"),
    ("crm_person_name_fold_gist", "crm_person", "given_name || ' ' || family_name"),
]


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in NAME_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gist (crm_fold({expression}) gist_trgm_ops)",
            params=None,
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in NAME_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0019_search_fold_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
