"""Commitments: what partners promised, and the log of their statuses.

The status is read-only on the change form: the "Change status…" action calls
the service, which locks the row, checks the move and records it.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import (
    RECORD_FIELDSET,
    HistoryAdmin,
    StatusActionForm,
    action_confirmed,
    run_status_action,
    take_created,
)
from crm.admin.inlines import ReadOnlyInline
from crm.models import Commitment, CommitmentStatusChange, Source


class CommitmentStatusActionForm(StatusActionForm):
    source = forms.ModelChoiceField(
        label=_("Source"),
        queryset=Source.objects.order_by("title"),
        required=False,
        help_text=_("Confirming needs a source, or a document attached to the commitment."),
    )


class CommitmentStatusChangeInline(ReadOnlyInline):
    model = CommitmentStatusChange
    fields = ["changed_at", "from_status", "to_status", "amount", "changed_by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


@admin.register(Commitment)
class CommitmentAdmin(HistoryAdmin):
    list_display = [
        "__str__",
        "project",
        "kind",
        "amount",
        "currency",
        "status",
        "expected_on",
        "is_demo",
    ]
    list_filter = ["status", "kind", "currency", "partnership__project", "is_demo"]
    list_select_related = ["partnership__organization", "partnership__project"]
    search_fields = ["partnership__organization__name", "description"]
    autocomplete_fields = ["partnership", "source"]
    readonly_fields = ["status", "amount_delivered", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["partnership", "kind", "description", "status"]}),
        (_("Amount"), {"fields": ["amount", "currency", "amount_delivered", "expected_on"]}),
        (_("Evidence"), {"fields": ["source", "is_demo"]}),
        (None, {"fields": ["created_by"]}),
        RECORD_FIELDSET,
    ]
    inlines = [CommitmentStatusChangeInline]
    actions = ["change_status"]

    @admin.display(description=_("project"), ordering="partnership__project__name")
    def project(self, commitment: Commitment):
        return commitment.partnership.project

    def create_object(self, request, obj, form) -> None:
        """Add through commitment_create, which starts the status history."""
        fields = {name: value for name, value in form.cleaned_data.items() if name != "version"}
        take_created(obj, services.commitment_create(by=request.user, **fields))

    @admin.action(permissions=["change"], description=_("Change status…"))
    def change_status(self, request, queryset):
        choices = [
            (value, label)
            for value, label in Commitment.Status.choices
            if value != Commitment.Status.DELIVERED and value != Commitment.Status.ANNOUNCED
        ]
        form = CommitmentStatusActionForm(
            request.POST if action_confirmed(request) else None, choices=choices
        )
        return run_status_action(
            self,
            request,
            queryset,
            form=form,
            title=_("Change the status of commitments"),
            call=lambda commitment, data: services.commitment_change_status(
                commitment=commitment,
                to_status=data["status"],
                source=data["source"],
                note=data["note"],
                by=request.user,
            ),
        )
