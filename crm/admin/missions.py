"""The mission and its meetings."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin.base import HistoryAdmin
from crm.admin.changelist import EstimatedCountPaginator
from crm.admin.inlines import (
    InteractionFollowUpInline,
    InteractionOrganizationInline,
    InteractionPersonInline,
    InteractionProjectInline,
    MissionMemberInline,
)
from crm.emails import notify_assignment
from crm.forms import MissionAdminForm
from crm.models import FollowUp, Interaction, Mission


@admin.register(Mission)
class MissionAdmin(admin.ModelAdmin):
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
        (_("When and where"), {"fields": ["occurred_on", "date_precision", "city"]}),
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

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is FollowUp:
            assigned = []
            for follow_up in formset.save(commit=False):
                if follow_up.pk is None:
                    follow_up.created_by = request.user
                    assigned.append(follow_up)
                follow_up._history_user = request.user
                follow_up.save()
            for follow_up, changed in formset.changed_objects:
                if "assignee" in changed:
                    assigned.append(follow_up)
            for follow_up in formset.deleted_objects:
                follow_up.delete()
            formset.save_m2m()
            notify_assignment(follow_ups=assigned, by=request.user)
            return
        super().save_formset(request, form, formset, change)
