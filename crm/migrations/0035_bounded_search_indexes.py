# Issue 22: searches that read only what they show.
#
# The staff search (crm.search.ranked) ranks a bounded set of candidates: the
# first matches found by the trigram indexes of migration 0019, and the names
# that start with the query, read in order from a B-tree of the folded name
# compared byte by byte (COLLATE "C", so that LIKE 'visa%' is a range of it and
# the exact name comes first). Without it, a word at the start of every title
# sorted a million names.
#
# The admin's search (crm.admin.changelist.IndexedSearchMixin) now folds
# accents and case as the staff search does: crm_fold() of the changelist's own
# columns joined, the expression these trigram GIN indexes hold (the follow-ups'
# and meetings' are 0019's, which their changelists reuse). The UPPER() indexes
# of migrations 0012 and 0026 that only those changelists read are dropped; the
# organisations' and people's stay for the API's icontains filters.

from django.db import migrations


def joined(*columns: str) -> str:
    """crm.search.Joined's SQL."""
    return "(" + " || ' ' || ".join(f"COALESCE({column}, '')" for column in columns) + ")"


# (index, table, folded name) for ranked()'s names that start with the query.
PREFIX_INDEXES = [
    ("crm_followup_name_fold_prefix", "crm_followup", "title"),  # views.search._follow_ups
    ("crm_interaction_name_fold_prefix", "crm_interaction", "title"),  # views.search._meetings
    (
        "crm_organization_name_fold_prefix",
        "crm_organization",
        joined("name", "short_name"),
    ),  # views.search._organizations
    (
        "crm_person_name_fold_prefix",
        "crm_person",
        joined("given_name", "family_name"),
    ),  # views.search._people
]
# Not the notes (views.search._notes): a B-tree entry holds the whole value,
# and a note of a few thousand characters would not fit one (PostgreSQL's
# limit is a third of a page, about 2,700 bytes): saving it would fail. Their
# tables grow with the partnerships, not the follow-ups.

# (index, table, expression) for each changelist's own search fields, in order.
ADMIN_INDEXES = [
    (
        "crm_organization_admin_fold_trgm",
        "crm_organization",
        joined("name", "short_name", "slug", "city"),
    ),  # OrganizationAdmin
    (
        "crm_person_admin_fold_trgm",
        "crm_person",
        joined("given_name", "family_name", "email", "slug"),
    ),  # PersonAdmin
    ("crm_partnership_notes_fold_trgm", "crm_partnership", "notes"),  # PartnershipAdmin
    ("crm_stagechange_note_fold_trgm", "crm_stagechange", "note"),  # StageChangeAdmin
    (
        "crm_mailmessage_admin_fold_trgm",
        "crm_mailmessage",
        joined("subject", "from_address"),
    ),  # MailMessageAdmin
]

# (index, table, expression) for the staff search's name and text of the
# directory, whose tables grow with the follow-ups (one organisation per 500).
STAFF_INDEXES = [
    (
        "crm_organization_name_fold_trgm",
        "crm_organization",
        joined("name", "short_name"),
    ),  # views.search._organizations
    (
        "crm_organization_text_fold_trgm",
        "crm_organization",
        joined("name", "short_name", "city", "description", "verification_note"),
    ),
    ("crm_person_name_fold_trgm", "crm_person", joined("given_name", "family_name")),
    (
        "crm_person_text_fold_trgm",
        "crm_person",
        joined("given_name", "family_name", "email"),
    ),  # views.search._people
]

# The UPPER() indexes (0012, 0026) no search reads any more: (table, column).
UPPER_INDEXES = [
    ("crm_followup", "title"),
    ("crm_followup", "description"),
    ("crm_interaction", "title"),
    ("crm_interaction", "summary"),
    ("crm_interaction", "outcome"),
    ("crm_interaction", "city"),
    ("crm_partnership", "notes"),
    ("crm_stagechange", "note"),
    ("crm_mailmessage", "subject"),
    ("crm_mailmessage", "from_address"),
]


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in PREFIX_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} ((crm_fold({expression}) COLLATE "C"))',
            params=None,
        )
    for name, table, expression in ADMIN_INDEXES + STAFF_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (crm_fold({expression}) gin_trgm_ops)",
            params=None,
        )
    for table, column in UPPER_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_{column}_trgm", params=None)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in UPPER_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_{column}_trgm ON {table} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)",
            params=None,
        )
    for name, _table, _expression in PREFIX_INDEXES + ADMIN_INDEXES + STAFF_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0034_weekly_summary"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
