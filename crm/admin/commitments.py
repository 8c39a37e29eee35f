"""Commitments, agreements, documents and exchange rates.

Statuses are read-only on the change forms: the "Change status…" actions call
the services, which lock the row, check the move and record it. A document is
added through ``services.document_create`` (content checked) and its file is
never replaced: a new file is a new version.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import services
from crm.admin.base import RECORD_FIELDSET, HistoryAdmin, action_confirmed, render_action_page
from crm.documents import check_upload
from crm.models import (
    Agreement,
    AgreementAmendment,
    AgreementParty,
    AgreementSignatory,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    ExchangeRate,
    Source,
)
from crm.roles import staff_members


class StatusActionForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = choices


class CommitmentStatusActionForm(StatusActionForm):
    source = forms.ModelChoiceField(
        label=_("Source"),
        queryset=Source.objects.order_by("title"),
        required=False,
        help_text=_("Confirming needs a source, or a document attached to the commitment."),
    )


class ReadOnlyInline(admin.TabularInline):
    """A history written only by the services."""

    extra = 0
    max_num = 0
    can_delete = False
    empty_value_display = "—"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CommitmentStatusChangeInline(ReadOnlyInline):
    model = CommitmentStatusChange
    fields = ["changed_at", "from_status", "to_status", "amount", "changed_by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class AgreementStatusChangeInline(ReadOnlyInline):
    model = AgreementStatusChange
    fields = ["changed_at", "from_status", "to_status", "changed_by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


def _report(modeladmin, request, moved: int, refused: list[str]) -> None:
    if moved:
        modeladmin.message_user(
            request,
            ngettext("%(count)d record moved.", "%(count)d records moved.", moved)
            % {"count": moved},
            messages.SUCCESS,
        )
    if refused:
        modeladmin.message_user(
            request,
            _("Left as they were: %(reasons)s") % {"reasons": "; ".join(refused)},
            messages.WARNING,
        )


def _take(obj, created) -> None:
    """Give the admin's ``obj`` what a service created, for its log and redirect."""
    for field in type(created)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(HistoryAdmin):
    list_display = ["__str__", "currency", "rate_on", "xof_per_unit", "note", "created_by"]
    list_filter = ["currency"]
    list_select_related = ["created_by"]
    date_hierarchy = "rate_on"
    fields = ["currency", "rate_on", "xof_per_unit", "note"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


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
        _take(obj, services.commitment_create(by=request.user, **fields))

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
        if form.is_valid():
            moved, refused = 0, []
            for commitment in queryset:
                try:
                    services.commitment_change_status(
                        commitment=commitment,
                        to_status=form.cleaned_data["status"],
                        source=form.cleaned_data["source"],
                        note=form.cleaned_data["note"],
                        by=request.user,
                    )
                except ValidationError as error:
                    refused.append(f"{commitment}: {' '.join(error.messages)}")
                else:
                    moved += 1
            _report(self, request, moved, refused)
            return None
        return render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/change_status.html",
            action="change_status",
            title=_("Change the status of commitments"),
            form=form,
        )


class AgreementPartyInline(admin.TabularInline):
    model = AgreementParty
    fields = ["organization", "signed_on"]
    autocomplete_fields = ["organization"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


class AgreementAmendmentInline(admin.TabularInline):
    model = AgreementAmendment
    fields = ["number", "title", "signed_on", "summary"]
    extra = 0


@admin.register(Agreement)
class AgreementAdmin(HistoryAdmin):
    list_display = ["title", "kind", "status", "effective_on", "expires_on", "owner", "is_demo"]
    list_filter = ["status", "kind", "projects", "is_demo"]
    list_select_related = ["owner"]
    search_fields = ["title", "summary", "parties__organization__name"]
    autocomplete_fields = ["owner", "source"]
    filter_horizontal = ["projects"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["kind", "title", "slug", "summary", "status"]}),
        (_("Scope and dates"), {"fields": ["projects", "owner", "effective_on", "expires_on"]}),
        (_("Evidence"), {"fields": ["source", "is_demo"]}),
        (None, {"fields": ["created_by"]}),
        RECORD_FIELDSET,
    ]
    inlines = [AgreementPartyInline, AgreementAmendmentInline, AgreementStatusChangeInline]
    actions = ["change_status"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = staff_members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not AgreementParty:
            super().save_formset(request, form, formset, change)
            return
        # A signature date is recorded by agreement_party_sign (under the
        # agreement's lock, named in its history); the rest of a party's row
        # is saved by the admin, with the date it had.
        signatures = []
        for row in formset.forms:
            if "signed_on" in row.changed_data and row not in formset.deleted_forms:
                signatures.append((row.instance, row.cleaned_data["signed_on"]))
                row.instance.signed_on = row.initial.get("signed_on")
        super().save_formset(request, form, formset, change)
        for party, signed_on in signatures:
            services.agreement_party_sign(party=party, signed_on=signed_on, by=request.user)

    def create_object(self, request, obj, form) -> None:
        """Add through agreement_create, in draft, with its first status row.

        Its projects are set afterwards by the admin's ``save_related``.
        """
        fields = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in ("version", "projects")
        }
        _take(obj, services.agreement_create(by=request.user, **fields))

    @admin.action(permissions=["change"], description=_("Change status…"))
    def change_status(self, request, queryset):
        choices = [c for c in Agreement.Status.choices if c[0] != Agreement.Status.DRAFT] + [
            (Agreement.Status.DRAFT, Agreement.Status.DRAFT.label)
        ]
        form = StatusActionForm(
            request.POST if action_confirmed(request) else None, choices=choices
        )
        if form.is_valid():
            moved, refused = 0, []
            for agreement in queryset:
                try:
                    services.agreement_change_status(
                        agreement=agreement,
                        to_status=form.cleaned_data["status"],
                        note=form.cleaned_data["note"],
                        by=request.user,
                    )
                except ValidationError as error:
                    refused.append(f"{agreement}: {' '.join(error.messages)}")
                else:
                    moved += 1
            _report(self, request, moved, refused)
            return None
        return render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/change_status.html",
            action="change_status",
            title=_("Change the status of agreements"),
            form=form,
        )


@admin.register(AgreementSignatory)
class AgreementSignatoryAdmin(admin.ModelAdmin):
    list_display = ["affiliation", "party"]
    list_select_related = [
        "affiliation__person",
        "affiliation__organization",
        "party__agreement",
        "party__organization",
    ]
    autocomplete_fields = ["affiliation"]
    search_fields = ["party__agreement__title", "affiliation__person__family_name"]


class DocumentAddForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = [
            "title",
            "file",
            "previous_version",
            "organization",
            "interaction",
            "agreement",
            "commitment",
            "notes",
            "is_demo",
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        check_upload(upload)  # Raises ValidationError keyed "file".
        return upload

    def clean_previous_version(self):
        previous = self.cleaned_data.get("previous_version")
        if previous is not None and Document.objects.filter(previous_version=previous).exists():
            raise ValidationError(_("A newer version of this document exists already."))
        return previous


@admin.register(Document)
class DocumentAdmin(HistoryAdmin):
    list_display = ["__str__", "content_type", "size", "uploaded_at", "download"]
    list_filter = ["content_type", "is_demo"]
    list_select_related = ["uploaded_by"]
    search_fields = ["title", "original_name", "sha256"]
    autocomplete_fields = ["organization", "interaction", "agreement", "commitment"]
    raw_id_fields = ["previous_version"]
    readonly_fields = [
        "download",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "revision",
        "previous_version",
        "uploaded_by",
        "uploaded_at",
        "updated_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return DocumentAddForm.Meta.fields
        return [
            "title",
            "notes",
            "download",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "revision",
            "previous_version",
            "organization",
            "interaction",
            "agreement",
            "commitment",
            "is_demo",
            "uploaded_by",
            "uploaded_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The file and what it belongs to never change: a new file is a new version.
        return [*self.readonly_fields, "organization", "interaction", "agreement", "commitment"]

    @admin.display(description=_("file"))
    def download(self, document: Document) -> str:
        if not document.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', document.get_absolute_url(), document.original_name
        )

    def create_object(self, request, obj, form) -> None:
        # The form checked the file; the service checks it again under a lock.
        _take(obj, services.document_create(by=request.user, **form.cleaned_data))
