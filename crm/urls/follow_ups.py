"""URLs of the follow-ups: adding one, its page, editing it, and one URL per action."""

from django.urls import path

from crm.views import follow_ups

urlpatterns = [
    path("follow-ups/new/", follow_ups.follow_up_new, name="follow-up-new"),
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
