"""URLs of the follow-ups: adding one, its page, editing it, and one URL per action."""

from django.urls import path

from crm.views import exports, follow_ups

urlpatterns = [
    path("follow-ups/new/", follow_ups.follow_up_new, name="follow-up-new"),
    # The open follow-ups of a record's page, as a file (crm/views/exports.py).
    path("follow-ups/export/", exports.follow_up_export, name="follow-up-export"),
    path("follow-ups/<int:pk>/", follow_ups.follow_up_page, name="follow-up"),
    path("follow-ups/<int:pk>/edit/", follow_ups.follow_up_edit, name="follow-up-edit"),
    *(
        path(
            f"follow-ups/<int:pk>/{action}/",
            follow_ups.follow_up_action,
            {"action": action},
            name=f"follow-up-{action}",
        )
        for action in follow_ups.FOLLOW_UP_ACTIONS
    ),
]
