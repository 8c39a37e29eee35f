"""What the API accepts before any view reads it: known parameters, whole numbers, sound JSON.

``CrmViewSet.initial`` calls ``check_query_parameters`` for every request, so
each list, record and action is covered by the same rules;
``DepthLimitedJSONParser`` is the API's one JSON parser
(``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``, and every viewset that names its
parsers), refusing deep nesting and text no database can store.
"""

import io
import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_filters import filters as django_filters
from rest_framework import exceptions, parsers

from crm.security import is_ascii_int

# The parameter every endpoint understands: the response's format (DRF).
FORMAT_PARAMETERS = ("format",)
# Parameters every list understands besides its filters.
LIST_PARAMETERS = (*FORMAT_PARAMETERS, "page", "page_size", "cursor", "ordering")
# Of those, the ones that are whole numbers.
INTEGER_PARAMETERS = ("page", "page_size")

# No record of this API nests deeper than a few levels; 5,000 levels exhaust
# Python's recursion and used to be a 500.
MAX_JSON_DEPTH = 32

# One pass over the text: a string (its closing quote optional, so that an
# unterminated string runs to the end in one match instead of being rescanned
# from each of its quotes, which was quadratic) or a bracket. Strings are
# skipped; brackets counted.
_TOKENS_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)

# What JSON's \u escapes can write but no text column stores: NUL (PostgreSQL
# refuses it) and a lone half of a surrogate pair (not Unicode: it cannot be
# encoded in UTF-8, so neither saved nor even echoed in an error message). A
# pair written in the right order is one character once parsed, and accepted.
_NUL_RE = re.compile("\x00")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def json_depth(text: str, *, limit: int | None = None) -> int:
    """Return how deep arrays and objects nest in ``text`` (brackets in strings ignored).

    Linear in the length of ``text``; stops early once ``limit`` is passed.
    """
    depth = deepest = 0
    for match in _TOKENS_RE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def _strings(data):
    """Yield every string of parsed JSON ``data``: keys and values, at any depth."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def check_storable_text(data) -> None:
    """Refuse parsed JSON holding a NUL or a lone surrogate, without echoing it.

    Linear in the size of ``data``; its depth is already bounded by ``MAX_JSON_DEPTH``.
    """
    for text in _strings(data):
        if _LONE_SURROGATE_RE.search(text):
            raise exceptions.ParseError(
                _("The body holds text that is not valid Unicode (a lone surrogate escape).")
            )
        if _NUL_RE.search(text):
            raise exceptions.ParseError(_("The body holds a NUL character."))


class DepthLimitedJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than ``MAX_JSON_DEPTH``.

    And text no column can store (``check_storable_text``), whatever the field
    or key: DRF's text fields refuse a lone surrogate and a NUL, but its choice
    fields echo the value in their error message, which could then not be
    encoded (a 500), and other fields do not look.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(_("The body is not valid UTF-8.")) from error
        if json_depth(text, limit=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                _("JSON nested deeper than %(depth)d levels is refused.")
                % {"depth": MAX_JSON_DEPTH}
            )
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        check_storable_text(data)
        return data


def _integer_filters(filterset_class) -> set[str]:
    """Return the filters whose value is an id or a number: ASCII digits only."""
    names = set()
    for name, filter_ in filterset_class.base_filters.items():
        if isinstance(
            filter_,
            django_filters.NumberFilter
            | django_filters.ModelChoiceFilter
            | django_filters.ModelMultipleChoiceFilter,
        ):
            names.add(name)
    return names


def filterset_class_of(view):
    """Return the FilterSet of ``view``'s list: its ``filterset_class``, or one built from
    its ``filterset_fields`` as django-filter's backend builds it (None without either).
    """
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is None and getattr(view, "filterset_fields", None):
        from crm.api.filters import FilterBackend

        filterset_class = FilterBackend().get_filterset_class(view, view.get_queryset())
    return filterset_class


def known_parameters(view) -> set[str]:
    """Return the query parameters the action of ``view`` reads.

    A list: ``LIST_PARAMETERS`` and its filters. An action that reads the
    list's filters (``view.filtered_actions``, e.g. totals): those filters.
    Any other endpoint (a record, an action): the format only.
    """
    action = getattr(view, "action", None)
    filterset_class = filterset_class_of(view)
    filters = set(filterset_class.base_filters) if filterset_class else set()
    if action == "list":
        return set(LIST_PARAMETERS) | filters
    if action in getattr(view, "filtered_actions", ()):
        return set(FORMAT_PARAMETERS) | filters
    return set(FORMAT_PARAMETERS)


def check_query_parameters(view, request) -> None:
    """Refuse, with a 400 naming it, a parameter the endpoint does not know.

    Unknown is worse than wrong: ``?asignee=me`` (a typo) would otherwise be
    ignored and the export would carry every row instead of the user's; a
    ``?page=2`` on totals would be taken for a page of them. Known:
    ``known_parameters``. Whole-number parameters (pages, ids) accept ASCII
    digits only.
    """
    filterset_class = filterset_class_of(view)
    known = known_parameters(view)
    unknown = sorted(name for name in request.query_params if name not in known)
    if unknown:
        raise exceptions.ValidationError(
            {
                name: [
                    _("Unknown parameter. Known: %(known)s.") % {"known": ", ".join(sorted(known))}
                ]
                for name in unknown
            }
        )
    integers = set(INTEGER_PARAMETERS)
    if filterset_class:
        integers |= _integer_filters(filterset_class)
    errors = {
        name: [_("Give a whole number, in digits 0 to 9.")]
        for name, values in request.query_params.lists()
        if name in integers and any(value and not is_ascii_int(value) for value in values)
    }
    if errors:
        raise exceptions.ValidationError(errors)
