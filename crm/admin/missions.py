"""The mission and its meetings."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import HistoryAdmin
from crm.admin.changelist import EstimatedCountPaginator, IndexedSearchMixin
from crm.admin.inlines import (
    InteractionFollowUpInline,
    InteractionOrganizationInline,
    InteractionPersonInline,
    InteractionProjectInline,
    MissionMemberInline,
)
from crm.forms import MissionAdminForm
from crm.models import FollowUp, Interaction, Mission


@admin.register(Mission)
class MissionAdmin(IndexedSearchMixin, admin.ModelAdmin):
    form = MissionAdminForm
    list_display = ["title", "start_on", "end_on", "date_precision", "organizer", "cities"]
    list_select_related = ["organizer"]
    search_fields = ["title", "slug", "cities"]
    autocomplete_fields = ["organizer"]
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (None, {"fields": ["title", "slug", "organizer", "cities"]}),
        (_("Dates"), {"fields": ["start_on", "end_on", "date_precision"]}),
        (_("About"), {"fields": ["objectives", "description", "source"]}),
    ]
    inlines = [MissionMemberInline]


@admin.register(Interaction)
class InteractionAdmin(HistoryAdmin):
    list_display = ["title", "kind", "occurred_on", "city", "mission", "organisations"]
    list_filter = ["kind", "mission"]
    list_select_related = ["mission"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    date_hierarchy = "occurred_on"
    search_fields = ["title", "summary", "outcome", "city", "organizations__name"]
    autocomplete_fields = ["mission", "staff"]
    readonly_fields = ["slug", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "kind", "mission", "slug"]}),
        (
            _("When and where"),
            {
                "fields": [
                    "occurred_on",
                    "date_precision",
                    "starts_at",
                    "cancelled_at",
                    "location",
                    "city",
                ]
            },
        ),
        (_("Who and what"), {"fields": ["staff"]}),  # And the inlines below.
        (_("Content"), {"fields": ["summary", "outcome", "source"]}),
        (
            _("Record"),
            {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    # People and projects are inlines: explicit tables that PROTECT them.
    inlines = [
        InteractionOrganizationInline,
        InteractionPersonInline,
        InteractionProjectInline,
        InteractionFollowUpInline,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("organizations")

    @admin.display(description=_("organisations"))
    def organisations(self, interaction: Interaction) -> str:
        # Uses the prefetched organisations: no query per row.
        return ", ".join(str(org) for org in interaction.organizations.all())

    def create_object(self, request, obj, form) -> None:
        """Add through interaction_create, which records who made it.

        Its staff, and the inlines (organisations, people, projects,
        follow-ups), are saved afterwards by the admin, on ``obj``.
        """
        _take(obj, services.interaction_create(by=request.user, **_fields_of(obj)))

    def create_followup(self, request, follow_up: FollowUp) -> None:
        """Add a follow-up row through the service, which tells its assignee."""
        _take(follow_up, services.follow_up_create(by=request.user, **_fields_of(follow_up)))


def _fields_of(obj) -> dict:
    """Return what the add form filled in ``obj``, for a service to create it."""
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if not field.primary_key and field.name not in ("created_by", "created_at", "updated_at")
    }


def _take(obj, created) -> None:
    """Give the admin's ``obj`` what the service created, for its inlines, log and redirect."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
