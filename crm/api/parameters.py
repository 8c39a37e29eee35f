"""What the API accepts before any view reads it: known parameters, whole numbers, flat JSON.

``CrmViewSet.initial`` calls ``check_query_parameters`` for every request, so
each list is covered by the same rules; ``DepthLimitedJSONParser`` is the
API's JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).
"""

import io
import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_filters import filters as django_filters
from rest_framework import exceptions, parsers

from crm.security import is_ascii_int

# Parameters every list understands besides its filters.
LIST_PARAMETERS = ("format", "page", "page_size", "cursor", "ordering")
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


class DepthLimitedJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than ``MAX_JSON_DEPTH``."""

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
        return super().parse(io.BytesIO(raw), media_type, parser_context)


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


def check_query_parameters(view, request) -> None:
    """Refuse, with a 400 naming it, a list parameter the list does not know.

    Unknown is worse than wrong: ``?asignee=me`` (a typo) would otherwise be
    ignored and the export would carry every row instead of the user's. Known:
    ``LIST_PARAMETERS`` and the filters of the view's FilterSet. Whole-number
    parameters (pages, ids) accept ASCII digits only.
    """
    filterset_class = getattr(view, "filterset_class", None)
    filter_names = set(filterset_class.base_filters) if filterset_class else set()
    if getattr(view, "action", None) == "list":
        known = set(LIST_PARAMETERS) | filter_names
        unknown = sorted(name for name in request.query_params if name not in known)
        if unknown:
            raise exceptions.ValidationError(
                {
                    name: [
                        _("Unknown parameter. Known: %(known)s.")
                        % {"known": ", ".join(sorted(known))}
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
