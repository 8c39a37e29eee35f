"""The error pages a person meets: a refusal (403) and a 404 that explains itself."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults

from crm.roles import role_label


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


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A refusal in the site's layout and the reader's language: why, and where to go.

    Django's own is a bare English page; this one names the reader's role, which
    decides what they may do, and who can change it.
    """
    user = request.user
    roles = [role_label(group) for group in user.groups.all()] if user.is_authenticated else []
    return render(request, "crm/forbidden.html", {"roles": roles}, status=403)
