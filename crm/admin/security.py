"""Login lock-outs (django-axes), the export log and the export jobs: read by Coordination,
written by the code."""

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.admin.changelist import BoundedDateHierarchyMixin, IndexedSearchMixin
from crm.models import ExportJob, ExportLog, ImportJob, ScheduledRun


class ReadOnlyAdmin(IndexedSearchMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    """A record the code writes and nobody edits."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _locked_out() -> Q:
    # Per user name and address, or per address whatever the user names
    # (crm.logins.LoginLimitsHandler); ``address_failures`` is annotated below.
    return Q(failures_since_start__gte=settings.AXES_FAILURE_LIMIT) | Q(
        address_failures__gte=settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT
    )


class LockedOutFilter(admin.SimpleListFilter):
    title = _("locked out")
    parameter_name = "locked_out"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(_locked_out())
        if self.value() == "no":
            return queryset.exclude(_locked_out())
        return queryset


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyAdmin):
    """Failed logins per user name and address; deleting them unlocks the pair.

    Kept by django-axes for the site's and the admin's login forms. Coordination
    unlocks a colleague with the "Unlock" action (or by deleting the row); an
    address locked out as a whole, by unlocking all its rows.
    """

    list_display = ["username", "ip_address", "failures_since_start", "locked", "attempt_time"]
    list_filter = [LockedOutFilter, "attempt_time"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = ["username", "ip_address", "user_agent", "path_info", "failures_since_start"]
    readonly_fields = fields
    actions = ["unlock"]

    def get_queryset(self, request):
        # In the same query as the rows: every failure of each row's address.
        address_failures = (
            AccessAttempt.objects.filter(ip_address=OuterRef("ip_address"))
            .order_by()
            .values("ip_address")
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        return super().get_queryset(request).annotate(address_failures=Subquery(address_failures))

    @admin.display(description=_("locked out"), boolean=True)
    def locked(self, attempt: AccessAttempt) -> bool:
        return (
            attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
            or attempt.address_failures >= settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT
        )

    @admin.action(permissions=["delete"], description=_("Unlock (forget these failed logins)"))
    def unlock(self, request, queryset):
        count, _per_model = queryset.delete()
        self.message_user(
            request,
            ngettext(
                "%(count)d user name and address unlocked.",
                "%(count)d user names and addresses unlocked.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Successful logins and logouts, by user name and address (django-axes)."""

    list_display = ["username", "ip_address", "attempt_time", "logout_time", "path_info"]
    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = ["username", "ip_address", "user_agent", "path_info", "attempt_time", "logout_time"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    """Who took which list out of the CRM, when, with which filters and how many rows."""

    list_display = [
        "created_at",
        "username",
        "token_prefix",
        "kind",
        "resource",
        "filters",
        "row_count",
        "address",
    ]
    list_filter = ["kind", "resource", "created_at", ("token", admin.EmptyFieldListFilter)]
    search_fields = ["username", "token_prefix", "resource"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "user",
        "username",
        "token",
        "token_prefix",
        "kind",
        "resource",
        "filters",
        "row_count",
        "address",
    ]
    readonly_fields = fields
    list_select_related = ["user", "token"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Old entries go by purge_export_log, at the retention the deployment set.
        return False


class JobAdmin(ReadOnlyAdmin):
    """A kind of job (crm.models.jobs.Job): written by the code, deleted with its files
    after CRM_EXPORT_FILE_RETENTION_DAYS by the workers' housekeeping (crm.jobs.purge)."""

    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]
    # The lifecycle every kind shares, after each kind's own fields.
    lifecycle_fields = [
        "attempts",
        "task_id",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "error",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExportJob)
class ExportJobAdmin(JobAdmin):
    """Exports written by a job: what waits, what runs (rows done of the total), what
    failed and why. Coordination's; the code writes them, `run_jobs` deletes them."""

    list_display = [
        "created_at",
        "requested_by",
        "resource",
        "kind",
        "status",
        "done",
        "total",
        "attempts",
        "finished_at",
        "error",
    ]
    list_filter = ["status", "kind", "resource", "created_at"]
    search_fields = ["requested_by__username", "resource", "filename"]
    fields = [
        "id",
        "created_at",
        "requested_by",
        "resource",
        "kind",
        "filename",
        "status",
        "done",
        "total",
        "export_log",
        *JobAdmin.lifecycle_fields,
    ]
    readonly_fields = fields


@admin.register(ImportJob)
class ImportJobAdmin(JobAdmin):
    """Spreadsheets imported by a job: checked, waiting for their confirmation, imported,
    failed and why. Coordination's; the page of each is on the staff site."""

    list_display = [
        "created_at",
        "requested_by",
        "file_name",
        "kind",
        "step",
        "status",
        "done",
        "total",
        "attempts",
        "finished_at",
        "error",
    ]
    list_filter = ["status", "step", "kind", "created_at"]
    search_fields = ["requested_by__username", "file_name"]
    fields = [
        "id",
        "created_at",
        "requested_by",
        "file_name",
        "kind",
        "step",
        "status",
        "done",
        "total",
        *JobAdmin.lifecycle_fields,
    ]
    readonly_fields = fields

    def view_on_site(self, obj):
        return reverse("import-job", args=[obj.pk])


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    """Each period of a scheduled command, as the job workers claimed and queued it.

    Coordination's; written by crm.schedule only, deleted after 30 days.
    """

    list_display = ["slot", "name", "queued_at", "task_id"]
    list_filter = ["name"]
    date_hierarchy = "slot"
    fields = list_display
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
