"""Follow-ups, the unit of staff work, and the plans that create them."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from crm import clock, services
from crm.admin.base import (
    HistoryAdmin,
    action_confirmed,
    object_action_urls,
    render_action_page,
    run_state_action,
)
from crm.admin.changelist import (
    DeadlineFilter,
    EstimatedCountPaginator,
    IndexedSearchMixin,
    MissionFilter,
    StaffListFilter,
)
from crm.forms import (
    CompleteFollowUpsForm,
    FollowUpAdminForm,
    ReasonForm,
    ReassignFollowUpsForm,
    SnoozeForm,
)
from crm.models import FollowUp, FollowUpPlan, FollowUpPlanStep
from crm.roles import staff_members


@admin.register(FollowUp)
class FollowUpAdmin(HistoryAdmin):
    form = FollowUpAdminForm
    list_display = [
        "title",
        "project",
        "organization",
        "assignee",
        "due",
        "status",
        "priority",
    ]
    list_filter = [
        DeadlineFilter,
        "status",
        "priority",
        "project",
        ("assignee", StaffListFilter),
        MissionFilter,
        "is_demo",
    ]
    list_select_related = ["project", "organization", "assignee"]
    # Served by crm_followup_due_idx; no exact count of the whole table.
    ordering = ["due_on", "id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    date_hierarchy = "due_on"
    search_fields = [
        "title",
        "description",
        "organization__name",
        "person__family_name",
        "project__name",
    ]
    autocomplete_fields = ["project", "organization", "person", "interaction", "assignee"]
    readonly_fields = [
        "completed_at",
        "completed_by",
        "completion_contact",
        "created_by",
        "created_at",
        "updated_at",
    ]
    # Set when adding; then changed only by the actions (and their buttons on
    # the change form), which call the services.
    state_fields = ["assignee", "due_on", "status", "completion_note"]
    fieldsets = [
        (
            None,
            {"fields": ["title", "description", "project", "organization", "person"]},
        ),
        (_("Work"), {"fields": ["assignee", "due_on", "status", "priority", "interaction"]}),
        (
            _("Completion"),
            {"fields": ["completion_note", "completed_at", "completed_by", "completion_contact"]},
        ),
        (
            _("Record"),
            {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    actions = ["mark_done", "reassign", "snooze", "mark_waiting", "cancel", "reopen"]
    # Changes the record at once, without a page: its button posts.
    actions_without_page = ["mark_waiting"]
    change_form_template = "admin/crm/followup/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self.state_fields if obj is not None else fields

    def get_urls(self):
        return object_action_urls(self) + super().get_urls()

    @admin.display(description=_("due date"), ordering="due_on")
    def due(self, follow_up: FollowUp) -> str:
        text = date_format(follow_up.due_on, "SHORT_DATE_FORMAT")
        if follow_up.is_overdue(today=clock.today()):
            return format_html(
                '<span class="crm-overdue" title="{}">{}</span>',
                _("Overdue"),
                text,
            )
        return text

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            # The autocomplete lists every user the admin may view, but only
            # staff members are accepted: the field validates against this.
            kwargs["queryset"] = staff_members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create_object(self, request, obj, form) -> None:
        """Add through follow_up_create (and follow_up_complete when added as done)."""
        fields = {
            name: form.cleaned_data[name]
            for name in [*form.edited_fields(), "assignee", "due_on", "status"]
            if name in form.cleaned_data
        }
        done = fields.get("status") == FollowUp.Status.DONE
        if done:
            fields["status"] = FollowUp.Status.OPEN
        follow_up = services.follow_up_create(by=request.user, **fields)
        if done:
            follow_up = services.follow_up_complete(
                follow_up=follow_up, by=request.user, note=form.cleaned_data["completion_note"]
            )
        for field in FollowUp._meta.concrete_fields:
            setattr(obj, field.attname, getattr(follow_up, field.attname))
        obj._state.adding = False

    @admin.action(permissions=["change"], description=_("Mark done…"))
    def mark_done(self, request, queryset):
        form = CompleteFollowUpsForm(request.POST if action_confirmed(request) else None)
        if form.is_valid():
            done, skipped = 0, 0
            for follow_up in queryset:
                try:
                    services.follow_up_complete(
                        follow_up=follow_up,
                        by=request.user,
                        note=form.cleaned_data["completion_note"],
                    )
                except ValidationError:
                    skipped += 1  # Already done or cancelled.
                else:
                    done += 1
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up marked done.",
                        "%(count)d follow-ups marked done.",
                        done,
                    )
                    % {"count": done},
                    messages.SUCCESS,
                )
            if skipped:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up was already closed and was left as it was.",
                        "%(count)d follow-ups were already closed and were left as they were.",
                        skipped,
                    )
                    % {"count": skipped},
                    messages.WARNING,
                )
            return None
        return render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/followup/complete.html",
            action="mark_done",
            title=_("Mark follow-ups done"),
            form=form,
        )

    @admin.action(permissions=["change"], description=_("Reassign…"))
    def reassign(self, request, queryset):
        form = ReassignFollowUpsForm(request.POST if action_confirmed(request) else None)
        if form.is_valid():
            assignee = form.cleaned_data["assignee"]
            count, skipped = 0, 0
            for follow_up in queryset:
                try:
                    services.follow_up_reassign(
                        follow_up=follow_up, assignee=assignee, by=request.user
                    )
                except ValidationError:
                    skipped += 1  # Done or cancelled: closed work keeps its assignee.
                else:
                    count += 1
            if count:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up assigned to %(user)s.",
                        "%(count)d follow-ups assigned to %(user)s.",
                        count,
                    )
                    % {
                        "count": count,
                        "user": assignee.get_full_name() or assignee.get_username(),
                    },
                    messages.SUCCESS,
                )
            if skipped:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up is closed and was not reassigned.",
                        "%(count)d follow-ups are closed and were not reassigned.",
                        skipped,
                    )
                    % {"count": skipped},
                    messages.WARNING,
                )
            return None
        return render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/followup/reassign.html",
            action="reassign",
            title=_("Reassign follow-ups"),
            form=form,
        )

    @admin.action(permissions=["change"], description=_("Snooze…"))
    def snooze(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="snooze",
            form_class=SnoozeForm,
            title=_("Snooze follow-ups"),
            intro=_("Choose the new due date (today or later) and say why."),
            submit_label=_("Snooze"),
            call=lambda follow_up, data: services.follow_up_snooze(
                follow_up=follow_up, due_on=data["due_on"], reason=data["reason"], by=request.user
            ),
            done_message=ngettext_lazy(
                "%(count)d follow-up put off.", "%(count)d follow-ups put off.", "count"
            ),
        )

    @admin.action(permissions=["change"], description=_("Mark waiting on the partner"))
    def mark_waiting(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="mark_waiting",
            form_class=None,
            call=lambda follow_up, data: services.follow_up_mark_waiting(
                follow_up=follow_up, by=request.user
            ),
            done_message=ngettext_lazy(
                "%(count)d follow-up now waits on the partner.",
                "%(count)d follow-ups now wait on the partner.",
                "count",
            ),
        )

    @admin.action(permissions=["change"], description=_("Cancel…"))
    def cancel(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="cancel",
            form_class=ReasonForm,
            title=_("Cancel follow-ups"),
            intro=_("Say why nothing more will be done. Closed follow-ups are left as they are."),
            submit_label=_("Cancel the follow-ups"),
            call=lambda follow_up, data: services.follow_up_cancel(
                follow_up=follow_up, reason=data["reason"], by=request.user
            ),
            done_message=ngettext_lazy(
                "%(count)d follow-up cancelled.", "%(count)d follow-ups cancelled.", "count"
            ),
        )

    @admin.action(permissions=["change"], description=_("Reopen…"))
    def reopen(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="reopen",
            form_class=ReasonForm,
            title=_("Reopen follow-ups"),
            intro=_(
                "Say why the work is open again. Its completion (when, by whom, what was "
                "done) is cleared; the history keeps it."
            ),
            submit_label=_("Reopen"),
            call=lambda follow_up, data: services.follow_up_reopen(
                follow_up=follow_up, reason=data["reason"], by=request.user
            ),
            done_message=ngettext_lazy(
                "%(count)d follow-up reopened.", "%(count)d follow-ups reopened.", "count"
            ),
        )


class FollowUpPlanStepInline(admin.TabularInline):
    model = FollowUpPlanStep
    fields = ["offset_days", "title", "priority", "description"]
    extra = 1


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["name", "step_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "is_active"]
    inlines = [FollowUpPlanStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps"))

    @admin.display(description=_("steps"), ordering="step_count")
    def step_count(self, plan: FollowUpPlan) -> int:
        return plan.step_count
