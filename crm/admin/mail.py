"""Mail messages: the record of every message received, read-only.

A message arrives through one of the three doors (``services.mail_receive``)
and is filed, or discarded, through the services of "Courriels à classer":
the admin's actions call them and never write a status. Nothing is added here,
nothing edited, nothing deleted. The body, the summary and the attachments are
shown to those who may read mail (``crm.read_mail_body``: Staff, Coordination);
Read-only sees the subject, the date and the parties.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm import services
from crm.admin.base import run_state_action
from crm.admin.changelist import EstimatedCountPaginator, IndexedSearchMixin
from crm.forms.mail import MailDiscardForm, MailFileForm
from crm.models import MailMessage

MESSAGE_FIELDS = [
    "subject",
    "from_name",
    "from_address",
    "to_addresses",
    "cc_addresses",
    "sent_at",
    "message_id",
]
FILING_FIELDS = [
    "status",
    "door",
    "reason_said",
    "error_said",
    "discard_reason",
    "interaction",
    "organization",
    "person",
    "project",
    "filed_by",
    "received_by",
]
INVITATION_FIELDS = [
    "invitation_method",
    "invitation_uid",
    "invitation_sequence",
    "invitation_starts_at",
]
# Personal data with its own retention and readers (crm.read_mail_body).
BODY_FIELDS = ["summary", "body", "documents", "skipped_attachments", "body_purged_at"]
RECORD_FIELDS = ["fingerprint", "content_key", "received_at", "updated_at"]


def can_read_bodies(request) -> bool:
    return request.user.has_perm("crm.read_mail_body")


@admin.register(MailMessage)
class MailMessageAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "door", "from_address", "received_at", "interaction"]
    list_filter = ["status", "door"]
    # The meeting's title is the only related value a row shows.
    list_select_related = ["interaction"]
    # Short columns, each read through its trigram index on PostgreSQL
    # (migration 0026); never the body, which is long and not indexed.
    search_fields = ["subject", "from_address"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [*MESSAGE_FIELDS, *FILING_FIELDS, *INVITATION_FIELDS, *BODY_FIELDS]
    readonly_fields += RECORD_FIELDS
    actions = ["file", "discard"]

    @admin.display(description=_("why it waits"))
    def reason_said(self, obj: MailMessage) -> str:
        return obj.reason_display

    @admin.display(description=_("error"))
    def error_said(self, obj: MailMessage) -> str:
        return obj.error_display

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": MESSAGE_FIELDS}),
            (_("Filing"), {"fields": FILING_FIELDS}),
            (_("Invitation"), {"fields": INVITATION_FIELDS, "classes": ["collapse"]}),
        ]
        if can_read_bodies(request):
            fieldsets.append((_("Body and attachments"), {"fields": BODY_FIELDS}))
        fieldsets.append((_("Record"), {"fields": RECORD_FIELDS, "classes": ["collapse"]}))
        return fieldsets

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The change page names each of these; the list reads only the meeting.
        return queryset.select_related(
            "interaction", "organization", "person", "project", "filed_by", "received_by"
        )

    # Messages come in through the doors and leave "Courriels à classer"
    # through the actions below; the record itself is never edited or deleted.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_file_permission(self, request) -> bool:
        return request.user.has_perm("crm.change_mailmessage") and request.user.has_perm(
            "crm.add_interaction"
        )

    def has_discard_permission(self, request) -> bool:
        return request.user.has_perm("crm.change_mailmessage")

    @admin.action(permissions=["file"], description=_("File with an organisation…"))
    def file(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="file",
            form_class=MailFileForm,
            title=_("File messages"),
            intro=_(
                "Each message becomes an e-mail meeting with this organisation, its "
                "attachments documents of the meeting. Messages not waiting to be "
                "filed are left as they are."
            ),
            submit_label=_("File the messages"),
            call=lambda message, data: services.mail_file(
                message=message,
                organization=data["organization"],
                project=data["project"],
                by=request.user,
            ),
            done_message=ngettext_lazy(
                "%(count)d message filed.", "%(count)d messages filed.", "count"
            ),
        )

    @admin.action(permissions=["discard"], description=_("Discard…"))
    def discard(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="discard",
            form_class=MailDiscardForm,
            title=_("Discard messages"),
            intro=_(
                "Say why these messages are not filed. Messages already filed or "
                "discarded are left as they are."
            ),
            submit_label=_("Discard the messages"),
            call=lambda message, data: services.mail_discard(
                message=message, reason=data["reason"], by=request.user
            ),
            done_message=ngettext_lazy(
                "%(count)d message discarded.", "%(count)d messages discarded.", "count"
            ),
        )
