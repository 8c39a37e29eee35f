"""The choosers' lists: the records of a kind matching what is typed, as JSON."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm import choosers
from crm.views.common import require


@require_GET
@login_required
def choose(request: HttpRequest, kind: str) -> JsonResponse:
    """Return at most ``choosers.LIMIT`` records of ``kind`` matching ``?q=``, best first.

    Bounded whatever the word: the staff search's ranking reads a bounded set
    of candidates (``crm.search.ranked``), a few statements in all.
    """
    chooser = choosers.KINDS.get(kind)
    if chooser is None:
        raise Http404
    require(request, chooser.permission)
    queries = request.GET.getlist("q")
    if len(queries) > 1:
        return JsonResponse({"q": [_("Give one query.")]}, status=400)
    query = queries[0].strip() if queries else ""
    if len(query) > choosers.MAX_QUERY_LENGTH:
        message = _("At most %(count)d characters.") % {"count": choosers.MAX_QUERY_LENGTH}
        return JsonResponse({"q": [message]}, status=400)
    found = choosers.matches(kind, choosers.find(kind, query))
    results = [{"id": match.pk, "label": match.label, "hint": match.hint} for match in found]
    return JsonResponse({"results": results})
