"""What every stage of an import shares: the two kinds of file and their columns."""

ORGANIZATIONS, PEOPLE = "organizations", "people"

ORGANIZATION_COLUMNS = [
    "slug",
    "name",
    "short_name",
    "kind",
    "country",
    "city",
    "website",
    "description",
    "is_identified",
    "needs_verification",
    "verification_note",
]
PERSON_COLUMNS = ["slug", "given_name", "family_name", "email", "phone", "preferred_language"]
PERSON_COLUMNS += ["notes"]
AFFILIATION_COLUMNS = ["organization", "title", "start_on", "end_on", "is_primary"]
COLUMNS = {
    ORGANIZATIONS: ORGANIZATION_COLUMNS,
    PEOPLE: PERSON_COLUMNS + AFFILIATION_COLUMNS,
}
BOOLEAN_COLUMNS = {"is_identified", "needs_verification", "is_primary"}
DATE_COLUMNS = {"start_on", "end_on"}

# A message quotes at most this many characters of any value, so that a long or
# hostile cell still gives a message one can read.
EXCERPT_CHARS = 40


def excerpt(value: str) -> str:
    """At most EXCERPT_CHARS characters of ``value``, for a message quoting it."""
    value = str(value)
    return value if len(value) <= EXCERPT_CHARS else value[: EXCERPT_CHARS - 1] + "…"
