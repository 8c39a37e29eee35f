"""Agreements (NDAs, letters of intent, MoUs…), their parties, signatories and amendments.

The status is read-only on the change form: the "Change status…" action calls
the service, which locks the row, checks the move and records it.
"""

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
from crm.admin.changelist import IndexedSearchMixin
from crm.admin.inlines import ReadOnlyInline
from crm.models import (
    Agreement,
    AgreementAmendment,
    AgreementParty,
    AgreementSignatory,
    AgreementStatusChange,
)
from crm.roles import staff_members


class AgreementStatusChangeInline(ReadOnlyInline):
    model = AgreementStatusChange
    fields = ["changed_at", "from_status", "to_status", "changed_by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


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
        take_created(obj, services.agreement_create(by=request.user, **fields))

    @admin.action(permissions=["change"], description=_("Change status…"))
    def change_status(self, request, queryset):
        choices = [c for c in Agreement.Status.choices if c[0] != Agreement.Status.DRAFT] + [
            (Agreement.Status.DRAFT, Agreement.Status.DRAFT.label)
        ]
        form = StatusActionForm(
            request.POST if action_confirmed(request) else None, choices=choices
        )
        return run_status_action(
            self,
            request,
            queryset,
            form=form,
            title=_("Change the status of agreements"),
            call=lambda agreement, data: services.agreement_change_status(
                agreement=agreement,
                to_status=data["status"],
                note=data["note"],
                by=request.user,
            ),
        )


@admin.register(AgreementSignatory)
class AgreementSignatoryAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["affiliation", "party"]
    list_select_related = [
        "affiliation__person",
        "affiliation__organization",
        "party__agreement",
        "party__organization",
    ]
    autocomplete_fields = ["affiliation"]
    search_fields = ["party__agreement__title", "affiliation__person__family_name"]
