"""Follow-ups, the unit of staff work, and the plans that create them."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import clock, services
from crm.admin.base import HistoryAdmin, action_confirmed, render_action_page
from crm.admin.changelist import (
    DeadlineFilter,
    EstimatedCountPaginator,
    IndexedSearchMixin,
    StaffListFilter,
)
from crm.emails import notify_assignment
from crm.forms import CompleteFollowUpsForm, FollowUpAdminForm, ReassignFollowUpsForm
from crm.models import FollowUp, FollowUpPlan, FollowUpPlanStep
from crm.roles import staff_members


class _ClosedMeanwhile(Exception):
    """follow_up_complete refused a follow-up that someone else closed meanwhile."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


@admin.register(FollowUp)
class FollowUpAdmin(IndexedSearchMixin, HistoryAdmin):
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
    readonly_fields = ["completed_at", "completed_by", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {"fields": ["title", "description", "project", "organization", "person"]},
        ),
        (_("Work"), {"fields": ["assignee", "due_on", "status", "priority", "interaction"]}),
        (_("Completion"), {"fields": ["completion_note", "completed_at", "completed_by"]}),
        (
            _("Record"),
            {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    actions = ["mark_done", "reassign"]

    @admin.display(description=_("due date"), ordering="due_on")
    def due(self, follow_up: FollowUp) -> str:
        text = date_format(follow_up.due_on, "SHORT_DATE_FORMAT")
        if follow_up.is_overdue(today=clock.today()):
            return format_html(
                '<span class="crm-overdue" style="color:#ba2121;font-weight:bold"'
                ' title="{}">{}</span>',
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

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _ClosedMeanwhile as closed:
            for message in closed.error.messages:
                self.message_user(request, message, messages.ERROR)
            self.message_user(request, _("Nothing was saved."), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        before = form.initial.get("status") if change else None
        completing = obj.status == FollowUp.Status.DONE and before != FollowUp.Status.DONE
        if completing:
            # Done only through the service (row lock, completed_at/by, the
            # note): the other fields are saved first, with the old status.
            obj.status = before or FollowUp.Status.OPEN
        elif obj.status != FollowUp.Status.DONE:
            # Reopened (or never done): the database wants no completion.
            obj.completed_at = None
            obj.completed_by = None
        super().save_model(request, obj, form, change)
        if completing:
            try:
                done = services.follow_up_complete(
                    follow_up=obj, by=request.user, note=form.cleaned_data["completion_note"]
                )
            except ValidationError as error:
                # Closed by someone else since the form was checked: leaving
                # changeform_view's transaction this way undoes the save above.
                raise _ClosedMeanwhile(error) from error
            for field in ("status", "completed_at", "completed_by", "completion_note"):
                setattr(obj, field, getattr(done, field))
        if not change or "assignee" in form.changed_data:
            notify_assignment(follow_ups=[obj], by=request.user)

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


class FollowUpPlanStepInline(admin.TabularInline):
    model = FollowUpPlanStep
    fields = ["offset_days", "title", "priority", "description"]
    extra = 1


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(admin.ModelAdmin):
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
