"""Reference records: sources, the programme and its projects."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin.changelist import IndexedSearchMixin
from crm.admin.inlines import ProjectPartnershipInline
from crm.admin.partnerships import PartnershipInlineAdminMixin
from crm.models import Programme, Project, Source
from crm.roles import staff_members


@admin.register(Source)
class SourceAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "kind", "language"]
    list_filter = ["kind", "language"]
    search_fields = ["title", "publisher", "slug", "reference"]
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "language"]}),
        (
            _("Publication"),
            {"fields": ["publisher", "published_on", "published_on_precision"]},
        ),
        (_("Where to find it"), {"fields": ["url", "reference", "notes"]}),
    ]


@admin.register(Programme)
class ProgrammeAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["name", "funder", "country", "status", "eligible_since"]
    list_filter = ["status"]
    list_select_related = ["funder"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["funder"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "funder", "country", "status"]}),
        (
            _("Eligibility"),
            {"fields": ["eligible_since", "eligible_since_precision"]},
        ),
        (_("About"), {"fields": ["description", "source"]}),
    ]


@admin.register(Project)
class ProjectAdmin(IndexedSearchMixin, PartnershipInlineAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "programme", "sector", "status", "lead"]
    list_filter = ["sector", "status", "programme"]
    list_select_related = ["programme", "lead"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["lead"]
    prepopulated_fields = {"code": ["name"]}
    fieldsets = [
        (None, {"fields": ["programme", "name", "code", "sector", "status", "lead"]}),
        (_("About"), {"fields": ["description", "source"]}),
    ]
    inlines = [ProjectPartnershipInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead":
            # Only staff members lead a project; the autocomplete may list
            # others, the field refuses them.
            kwargs["queryset"] = staff_members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
