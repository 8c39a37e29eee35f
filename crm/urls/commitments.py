"""URLs of the commitments: recording one, its page, its status, deliveries, follow-ups."""

from django.urls import path

from crm.views import commitments

urlpatterns = [
    path("commitments/new/", commitments.commitment_new, name="commitment-new"),
    path("commitments/<int:pk>/", commitments.commitment, name="commitment"),
    path("commitments/<int:pk>/edit/", commitments.commitment_edit, name="commitment-edit"),
    path("commitments/<int:pk>/status/", commitments.commitment_status, name="commitment-status"),
    path(
        "commitments/<int:pk>/deliver/",
        commitments.commitment_deliver,
        name="commitment-deliver",
    ),
    path(
        "commitments/<int:pk>/follow-up/",
        commitments.commitment_follow_up,
        name="commitment-follow-up",
    ),
]
