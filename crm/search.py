"""Search that ignores accents and case both ways, and forgives a typo.

"stephane", "STEPHANE" and "Stéphane" find "Stéphane"; "kpowbie" finds
"Kpowbié". Text is folded by ``crm_fold()``: on PostgreSQL
``unaccent(lower(…))`` declared immutable (migration 0019), so that the big
tables' searched columns have trigram indexes of their folded text; names are
ranked by ``pg_trgm``'s ``similarity()``. On SQLite the same functions are
Python functions registered on each connection (``register_sqlite_functions``),
so that tests and small installs behave alike.

Each kind of record is one query returning at most ``limit`` rows, best match
first: the exact name, then names that start with the query, then the whole
query inside the record's name, then its words anywhere in the record's text,
then names that merely look alike (a typo in a word; numbers are matched as
typed). The words are looked for in the folded text of the record (``LIKE``)
and a typo by pg_trgm's ``%`` and ``<%``, so that on PostgreSQL the trigram
indexes of those two texts find the matches. Only a bounded set of candidates
is ranked (``ranked()``), however common the word: past ``CANDIDATES``
matches the page says "more than" that many.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import connections, models
from django.db.models import Case, Count, F, Q, Value, When, Window
from django.db.models.lookups import StartsWith

# Below this trigram similarity, a name is not "alike" enough to be shown. It is
# pg_trgm's own default for ``%`` (pg_trgm.similarity_threshold), which the
# search uses on PostgreSQL (tests/test_search.py checks that they agree).
SIMILARITY_THRESHOLD = 0.3
# The same for a word misspelt inside a longer name ("stanfrd" in "Université
# Stanford"): pg_trgm's default for ``<%`` (pg_trgm.word_similarity_threshold).
WORD_SIMILARITY_THRESHOLD = 0.6
# A query longer than this is cut: no one types more, and each word costs a scan.
MAX_QUERY_LENGTH = 100
MAX_WORDS = 6
# The matches a search ranks at most, per kind of record: past them, the
# search says "more than" this many and shows the best it found among them
# and among the names that start with the query.
CANDIDATES = 500


def fold(text: str | None) -> str | None:
    """Return ``text`` in lower case without accents (SQLite's twin of unaccent(lower()))."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _trigrams(text: str) -> set[str]:
    # As pg_trgm: words of letters and digits, each padded with two spaces
    # before and one after.
    grams = set()
    for word in re.findall(r"\w+", text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(left: str | None, right: str | None) -> float:
    """Return pg_trgm's similarity of two texts: shared trigrams over all trigrams."""
    if not left or not right:
        return 0.0
    a, b = _trigrams(left), _trigrams(right)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _trigram_sequence(text: str) -> list[str]:
    # The trigrams of every word, in the order they come.
    grams = []
    for word in re.findall(r"\w+", text.lower()):
        padded = f"  {word} "
        grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def word_similarity(query: str | None, text: str | None) -> float:
    """Return pg_trgm's word_similarity: ``query`` against its best stretch of ``text``.

    The greatest similarity between the query's trigrams and those of any
    continuous stretch of the text's trigrams, so that one word misspelt in a
    long name still scores high.
    """
    if not query or not text:
        return 0.0
    wanted = _trigrams(query)
    sequence = _trigram_sequence(text)
    best = 0.0
    for lower, first in enumerate(sequence):
        # A stretch that starts on a trigram the query lacks is bettered by
        # the same stretch without it.
        if first not in wanted:
            continue
        seen: set[str] = set()
        shared = 0
        for gram in sequence[lower:]:
            if gram not in seen:
                seen.add(gram)
                shared += gram in wanted
            if gram in wanted:
                best = max(best, shared / (len(wanted) + len(seen) - shared))
    return best


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Give each new SQLite connection ``crm_fold`` and the trigram similarities."""
    if connection.vendor == "sqlite":
        create = connection.connection.create_function
        create("crm_fold", 1, fold, deterministic=True)
        create("crm_similarity", 2, similarity, deterministic=True)
        create("crm_word_similarity", 2, word_similarity, deterministic=True)


class Fold(models.Func):
    """Lower case without accents, in the database."""

    output_field = models.TextField()
    function = "crm_fold"


class Similarity(models.Func):
    """Trigram similarity of two texts, from 0 to 1."""

    output_field = models.FloatField()
    template = "similarity(%(expressions)s)"
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="crm_similarity(%(expressions)s)")


class LooksAlike(models.Func):
    """Whether two texts' trigram similarity reaches ``SIMILARITY_THRESHOLD``.

    pg_trgm's ``%`` on PostgreSQL, which a trigram index serves.
    """

    output_field = models.BooleanField()
    template = "(%(expressions)s)"
    arg_joiner = " %% "
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template=f"(crm_similarity(%(expressions)s) >= {SIMILARITY_THRESHOLD})",
            arg_joiner=", ",
        )


class WordAlike(models.Func):
    """Whether the first text is like a stretch of the second (``WORD_SIMILARITY_THRESHOLD``).

    pg_trgm's ``<%`` on PostgreSQL, which a trigram index of the second serves.
    """

    output_field = models.BooleanField()
    template = "(%(expressions)s)"
    arg_joiner = " <%% "
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template=f"(crm_word_similarity(%(expressions)s) >= {WORD_SIMILARITY_THRESHOLD})",
            arg_joiner=", ",
        )


class Bytewise(models.Func):
    """A text compared byte by byte: PostgreSQL's "C" collation, as the prefix indexes hold it.

    Under it, ``LIKE 'visa%'`` and ``ORDER BY`` read a B-tree index in order
    (migration 0035). SQLite compares bytes already.
    """

    output_field = models.TextField()
    template = '(%(expressions)s) COLLATE "C"'
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


class Joined(models.Func):
    """Columns joined by spaces, a missing value as empty text.

    Written out in full (not Concat(), whose SQL changes with Django's
    version), so that it is exactly the expression the search indexes of
    migration 0019 hold.
    """

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.source_expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(f"COALESCE({sql}, '')")
            params.extend(expression_params)
        return "(" + " || ' ' || ".join(parts) + ")", params


def text_of(*fields: str):
    """Return the fields joined by spaces, as one text to look into."""
    if len(fields) == 1:
        return F(fields[0])
    return Joined(*(F(field) for field in fields))


# The text of a big table's records that a trigram index holds folded
# (migration 0019), by model: the staff search's name and text, in order. The
# admin searches a changelist's own fields in all of it when it covers them.
INDEXED_TEXT = {
    "crm.followup": ("title", "description", "completion_note"),
    "crm.interaction": ("title", "city", "summary", "outcome"),
}


def indexed_text(label: str, fields: list[str]) -> tuple[str, ...]:
    """Return the indexed text of model ``label`` if it holds ``fields``, else ``fields``."""
    indexed = INDEXED_TEXT.get(label, ())
    return indexed if set(fields) <= set(indexed) else tuple(fields)


def words_of(query: str) -> list[str]:
    return query[:MAX_QUERY_LENGTH].split()[:MAX_WORDS]


def holding_every_word(queryset, query: str, *fields: str):
    """Keep the rows whose ``fields`` hold every word of ``query``, blind to accents and case.

    The list filters' twin of the search: "stephane" and "STEPHANE" find Stéphane.
    """
    queryset = queryset.alias(search_text=Fold(text_of(*fields)))
    for word in words_of(query):
        queryset = queryset.filter(search_text__contains=Fold(Value(word)))
    return queryset


def ranked(queryset, query: str, *, name: tuple[str, ...], text: tuple[str, ...], limit: int):
    """Return the rows of ``queryset`` that match ``query``, best first, at most ``limit``.

    ``name`` is what the record is called (ranked first), ``text`` everything
    else worth looking into. Each row carries ``search_count``: how many rows
    matched, up to ``CANDIDATES`` and one more (``more_than_candidates()``).

    Only a bounded set of candidates is ranked, however many rows match: the
    ``limit`` names that start with the query, in the order of their folded
    name (an index of it on the big tables, migration 0035: the exact name
    first, then the longer ones), and the first ``CANDIDATES`` + 1 rows that
    match at all, in no order (a trigram index finds a rare word's few rows;
    a word in every row is found in the first rows read). Ranking every match
    of a word common to a million rows took 9 s; these two reads stop early.
    """
    query = query[:MAX_QUERY_LENGTH]
    words = words_of(query)
    if not words:
        return queryset.none()
    folded_query = Fold(Value(query))
    queryset = queryset.alias(
        search_name=Fold(text_of(*name)), search_text=Fold(text_of(*name, *text))
    )
    every_word = Q()
    for word in words:
        every_word &= Q(search_text__contains=Fold(Value(word)))
    matches = every_word
    if any(char.isalpha() for char in query):
        # A typo is forgiven in words, not in numbers: "0004567" is a
        # reference, and "0004568" only looks like it. (Digits share their few
        # trigrams with every number: checking each look-alike cost 250 ms.)
        matches |= Q(LooksAlike(F("search_name"), folded_query)) | Q(
            WordAlike(folded_query, F("search_name"))
        )
    # No prefetching, no ordering in the candidates' subqueries: ordering
    # them would sort every match.
    plain = queryset.prefetch_related(None).order_by()
    starting = (
        plain.filter(StartsWith(Bytewise(F("search_name")), folded_query))
        .order_by(Bytewise(F("search_name")))
        .values("pk")[:limit]
    )
    found = plain.filter(matches).values("pk")[: CANDIDATES + 1]
    if connections[queryset.db].features.supports_slicing_ordering_in_compound:
        # One semi-join on the primary key (an OR of two IN would read every row).
        candidates = Q(pk__in=starting.union(found))
    else:
        # SQLite: no LIMIT inside a UNION's parts; its tables are small.
        candidates = Q(pk__in=starting) | Q(pk__in=found)
    return (
        queryset.filter(candidates)
        .annotate(
            search_rank=Case(
                When(search_name=folded_query, then=Value(3.0)),
                When(search_name__startswith=folded_query, then=Value(2.5)),
                When(search_name__contains=folded_query, then=Value(2.0)),
                When(every_word, then=Value(1.0)),
                default=Value(0.0),
                output_field=models.FloatField(),
            )
            + Similarity(F("search_name"), folded_query),
            search_count=Window(Count("pk")),
        )
        .order_by("-search_rank", "search_name", "pk")[:limit]
    )


def more_than_candidates(count: int) -> bool:
    """Tell whether ``count`` matches (a ``search_count``) means more than were looked at."""
    return count > CANDIDATES


@dataclass
class Group:
    key: str
    label: str
    results: list
    # How many matched; past CANDIDATES, only that there were more.
    count: int = 0
    more: bool = False


def similar_to_recent(
    model, name_sql: str, *, threshold: float, recent: int, nearest: int
) -> list[tuple]:
    """Return pairs of ``model`` ids whose names look alike, found from the newest records.

    Each of the ``recent`` records most recently added or changed (``updated_at``,
    then id, newest first) is compared with every other record, and its
    ``nearest`` most alike names are kept if at least ``threshold`` alike. A pair
    found from both sides is returned once, as (smaller id, larger id, score),
    most alike first. Pairs of two older records are not looked for: comparing
    every record with every other grows with the square of the table (85 s at
    4,000 people), this with ``recent`` times ``nearest`` index reads at most.

    ``name_sql`` is the name as SQL over the table's columns, written with the
    ``{t}`` alias (e.g. ``{t}.name``). On PostgreSQL, one query: each recent
    record asks the trigram GiST index of the folded name (migration 0020) for
    its nearest names by ``<->`` (a nearest-neighbour scan that stops after
    ``nearest`` rows, however many names look alike); among names exactly as
    alike, which are nearest is the index's choice. SQLite ranks every pair of
    its small tables the same way, ties by id.
    """
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    left = "crm_fold({})".format(name_sql.format(t="a"))
    right = "crm_fold({})".format(name_sql.format(t="b"))
    newest = f"SELECT * FROM {table} ORDER BY updated_at DESC, id DESC LIMIT %s"
    if connection.vendor == "postgresql":
        # The indexed expression must be on the left of <->, as the index holds it.
        sql = (
            f"SELECT a.id, n.id, n.score FROM ({newest}) a CROSS JOIN LATERAL ("
            f"SELECT b.id, similarity({left}, {right}) AS score FROM {table} b "
            f"WHERE b.id <> a.id ORDER BY {right} <-> {left} LIMIT %s) n "
            "WHERE n.score >= %s"
        )
        params = [recent, nearest, threshold]
    else:
        score = f"crm_similarity({left}, {right})"
        sql = (
            "SELECT a_id, b_id, score FROM ("
            f"SELECT a.id AS a_id, b.id AS b_id, {score} AS score, ROW_NUMBER() OVER "
            f"(PARTITION BY a.id ORDER BY {score} DESC, b.id) AS nth "
            f"FROM ({newest}) a JOIN {table} b ON b.id <> a.id WHERE {score} >= %s"
            ") WHERE nth <= %s"
        )
        params = [recent, threshold, nearest]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    pairs = {(min(a, b), max(a, b)): score for a, b, score in rows}
    return sorted(
        ((a, b, score) for (a, b), score in pairs.items()),
        key=lambda row: (-row[2], row[0], row[1]),
    )
