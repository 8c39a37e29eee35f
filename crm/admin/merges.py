"""The record of merges: read-only, since a merge is made on the duplicates page."""

from django.contrib import admin

from crm.admin.changelist import BoundedDateHierarchyMixin, IndexedSearchMixin
from crm.models import Merge


@admin.register(Merge)
class MergeAdmin(IndexedSearchMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ["merged_at", "kind", "removed_name", "kept_name", "merged_by"]
    list_filter = ["kind"]
    list_select_related = ["merged_by"]
    search_fields = ["removed_name", "kept_name", "removed_slug", "reason"]
    date_hierarchy = "merged_at"
    readonly_fields = [
        "kind",
        "kept_id",
        "kept_name",
        "removed_id",
        "removed_slug",
        "removed_name",
        "moved",
        "reason",
        "merged_at",
        "merged_by",
    ]

    # Merges happen through crm.services.organization_merge / person_merge, on
    # the duplicates page; this is their record, never edited.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
