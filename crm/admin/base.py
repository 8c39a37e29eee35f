"""What every admin of the CRM shares: history with safe reverts, action pages."""

from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

RECORD_FIELDSET = (
    _("Record"),
    {"fields": ["created_at", "updated_at"], "classes": ["collapse"]},
)


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin where only users who may change an object can revert it.

    django-simple-history hides the "Revert" button from view-only users but
    still saves a posted revert; refuse it here.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


def render_action_page(modeladmin, request, queryset, *, template, action, title, form):
    """Render an intermediate action page that posts back to the changelist."""
    request.current_app = modeladmin.admin_site.name
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": action,
        "form": form,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, template, context)


def action_confirmed(request) -> bool:
    """Tell whether the intermediate page itself was submitted."""
    return request.POST.get("post") == "yes"
