"""The admin site: Django's, with the login and password forms of ``crm.logins``.

Outside the ``crm.admin`` package: Django imports this class when the site is
first used, which is while that package registers its models.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_noop

from crm.logins import AdminLoginForm, AdminPasswordChangeForm, PasswordChangeView

# Django's French titles read "Ajout de utilisateur", "Modification de
# engagement": "de" is never elided before a vowel. Marked here so that the
# project's catalogue (LOCALE_PATHS, which wins over Django's own) gives them a
# form that suits every model's name.
ADMIN_TITLES = (
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Successfully deleted %(count)d %(items)s."),
)


class CrmAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def password_change(self, request, extra_context=None):
        """Change one's password; a wrong current password counts as a failed login."""
        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=AdminPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
