"""URLs of the meetings: logging an interaction, its page, correcting it, applying a plan."""

from django.urls import path

from crm.views import interactions

urlpatterns = [
    # Before <slug:slug>/, which "new" would otherwise match.
    path("interactions/new/", interactions.interaction_new, name="interaction-new"),
    path("interactions/<slug:slug>/", interactions.interaction, name="interaction"),
    path("interactions/<slug:slug>/edit/", interactions.interaction_edit, name="interaction-edit"),
    path(
        "interactions/<slug:slug>/apply-plan/",
        interactions.interaction_apply_plan,
        name="interaction-apply-plan",
    ),
]
