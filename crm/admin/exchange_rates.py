"""Dated exchange rates (XOF per unit), entered by hand; XOF and EUR are at the fixed parity."""

from django.contrib import admin

from crm.admin.base import HistoryAdmin
from crm.models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(HistoryAdmin):
    list_display = [
        "__str__",
        "currency",
        "rate_on",
        "xof_per_unit",
        "note",
        "created_by",
        "is_demo",
    ]
    list_filter = ["currency", "is_demo"]
    list_select_related = ["created_by"]
    date_hierarchy = "rate_on"
    fields = ["currency", "rate_on", "xof_per_unit", "note", "is_demo"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
