"""The coordinator's control room: every record, bulk actions and history.

Writes that carry a rule (complete a follow-up, move a partnership to another
stage) go through ``crm.services``; the admin only collects the input.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# Each module registers its models with the admin site when imported.
from crm.admin import (  # noqa: F401
    accounts,
    agreements,
    commitments,
    directory,
    documents,
    exchange_rates,
    follow_ups,
    mail,
    merges,
    missions,
    partnerships,
    privacy,
    reference,
    security,
)

admin.site.site_header = _("Compact partnerships")
admin.site.site_title = _("Compact partnerships")
admin.site.index_title = _("Control room")
