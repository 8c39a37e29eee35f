"""The baseline of the API's cost (issue 22): a plain Django view of the same rows.

``/bench/plain/`` returns the first 100 follow-ups (``?page_size=N`` for
another number) in the API's order, each with the columns of its own table
that the API's follow-up shows, through ``values()`` and ``JsonResponse``,
behind the project's middleware and ``login_required``: what Django itself
costs for the same page. The benchmarks point ``ROOT_URLCONF`` here (this
module's ``urlpatterns`` are the project's plus this one page); the project's
own URLs never include it.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from crm.models import FollowUp

PLAIN_PATH = "/bench/plain/"
# The follow-up's own columns among the API's fields (crm/api/follow_ups.py);
# the API adds the labels, the names and whether it is overdue.
FIELDS = (
    "id",
    "title",
    "description",
    "project_id",
    "organization_id",
    "person_id",
    "interaction_id",
    "assignee_id",
    "due_on",
    "status",
    "priority",
    "completed_at",
    "completed_by_id",
    "completion_note",
    "is_demo",
    "completion_contact_id",
    "created_by_id",
    "created_at",
    "updated_at",
)


@login_required
def plain(request: HttpRequest) -> JsonResponse:
    size = int(request.GET.get("page_size", 100))
    rows = list(FollowUp.objects.order_by("due_on", "id").values(*FIELDS)[:size])
    return JsonResponse({"results": rows})


urlpatterns = [
    path(PLAIN_PATH.strip("/") + "/", plain),
    path("", include("crm.urls")),
]
