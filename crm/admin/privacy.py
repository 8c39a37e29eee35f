"""The data-protection officer's log of requests answered (law n° 2019-014), read-only."""

from django.contrib import admin

from crm.admin.security import ReadOnlyAdmin
from crm.models import PrivacyRequest


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyAdmin):
    """Who answered which request, when and why: the person by id, never the erased values."""

    list_display = ["made_at", "kind", "person_id_number", "label", "made_by"]
    list_filter = ["kind", "made_at"]
    list_select_related = ["made_by"]
    date_hierarchy = "made_at"
    fields = ["made_at", "kind", "person_id_number", "label", "reason", "made_by"]
