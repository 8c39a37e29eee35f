"""The data-protection officer's logs (law n° 2019-014), read-only: requests answered,
reads of personal data."""

from django.contrib import admin

from crm.admin.security import ReadOnlyAdmin
from crm.models import PersonRead, PrivacyRequest


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyAdmin):
    """Who answered which request, when and why: the person by id, never the erased values."""

    list_display = ["made_at", "kind", "person_id_number", "label", "made_by"]
    list_filter = ["kind", "made_at"]
    list_select_related = ["made_by"]
    date_hierarchy = "made_at"
    fields = ["made_at", "kind", "person_id_number", "label", "reason", "made_by"]


@admin.register(PersonRead)
class PersonReadAdmin(ReadOnlyAdmin):
    """Who opened a person's page or exported a list of people, and when."""

    list_display = ["read_at", "what", "person_id_number", "reader", "filters"]
    list_filter = ["what", "read_at"]
    list_select_related = ["reader"]
    date_hierarchy = "read_at"
    fields = ["read_at", "what", "person_id_number", "filters", "reader"]
