"""The 404 page: Django's own, unless the exception carries a message for the reader."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults


class ExplainedNotFound(Http404):
    """A 404 whose message is written for the person who asked.

    The page shows it (``page_not_found``); the API gives it as ``detail``, as
    DRF does for any ``Http404``. Never put user input in the message.
    """


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Show an ``ExplainedNotFound``'s message; leave every other 404 to Django."""
    if isinstance(exception, ExplainedNotFound):
        return render(request, "crm/not_found.html", {"message": str(exception)}, status=404)
    return defaults.page_not_found(request, exception)
