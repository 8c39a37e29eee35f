"""Organisations, people and their affiliations."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm import importing
from crm.admin.base import RECORD_FIELDSET, HistoryAdmin
from crm.admin.changelist import EstimatedCountPaginator
from crm.admin.contact_import import ContactImportMixin
from crm.admin.inlines import (
    OrganizationAffiliationInline,
    OrganizationPartnershipInline,
    PersonAffiliationInline,
)
from crm.admin.partnerships import PartnershipInlineAdminMixin
from crm.forms import AffiliationAdminForm, OrganizationAdminForm
from crm.models import Affiliation, Organization, Person


@admin.register(Organization)
class OrganizationAdmin(PartnershipInlineAdminMixin, ContactImportMixin, HistoryAdmin):
    import_kind = importing.ORGANIZATIONS
    form = OrganizationAdminForm
    list_display = [
        "name",
        "short_name",
        "kind",
        "country",
        "city",
        "is_identified",
        "needs_verification",
    ]
    # No filter by country: listing the countries would read every row.
    list_filter = ["kind", "is_identified", "needs_verification"]
    search_fields = ["name", "short_name", "slug", "city"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "short_name", "slug", "kind"]}),
        (_("Where"), {"fields": ["country", "country_inferred", "city", "website"]}),
        (_("About"), {"fields": ["description", "source"]}),
        (
            _("Verification"),
            {"fields": ["is_identified", "needs_verification", "verification_note"]},
        ),
        RECORD_FIELDSET,
    ]
    inlines = [OrganizationAffiliationInline, OrganizationPartnershipInline]


@admin.register(Person)
class PersonAdmin(ContactImportMixin, HistoryAdmin):
    import_kind = importing.PEOPLE
    list_display = ["full_name", "email", "phone", "preferred_language"]
    list_filter = ["preferred_language", "legal_basis", "objects_to_processing"]
    search_fields = ["given_name", "family_name", "email", "slug"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    prepopulated_fields = {"slug": ["given_name", "family_name"]}
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["given_name", "family_name", "slug"]}),
        (_("Contact"), {"fields": ["email", "phone", "preferred_language"]}),
        (_("About"), {"fields": ["notes", "source"]}),
        (
            _("Personal data"),
            {"fields": ["legal_basis", "data_origin", "reviewed_on", "objects_to_processing"]},
        ),
        RECORD_FIELDSET,
    ]
    inlines = [PersonAffiliationInline]

    @admin.display(description=_("name"), ordering="family_name")
    def full_name(self, person: Person) -> str:
        return person.full_name


class ActiveAffiliationFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(end_on__isnull=True)
        if self.value() == "ended":
            return queryset.filter(end_on__isnull=False)
        return queryset


@admin.register(Affiliation)
class AffiliationAdmin(HistoryAdmin):
    form = AffiliationAdminForm
    list_display = ["person", "title", "organization", "start_on", "end_on", "is_primary"]
    list_filter = [ActiveAffiliationFilter, "is_primary"]
    list_select_related = ["person", "organization"]
    search_fields = [
        "title",
        "person__given_name",
        "person__family_name",
        "organization__name",
        "organization__short_name",
    ]
    autocomplete_fields = ["person", "organization"]
    fields = ["person", "organization", "title", "start_on", "end_on", "is_primary", "source"]
