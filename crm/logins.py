"""Logins that can be neither crashed nor guessed at: forms and lock-out limits.

django-axes counts failed logins and locks out (settings, "Login protection");
this module adds what it does not do itself: login forms that refuse a user name
longer than any account's, a password change whose current password counts as
a login, and a second, higher limit per address, whatever the user names.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate, views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import Sum
from django.views.decorators.debug import sensitive_variables


class UserNameLengthMixin:
    """Refuse a user name longer than the field as a form error.

    Django's login form sets the field's length after making the field, so no
    validator checks it: a longer name reached ``authenticate()``, and django-axes'
    record of the failure (255 characters) failed with a 500 on PostgreSQL.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(UserNameLengthMixin, AuthenticationForm):
    pass


class AdminLoginForm(UserNameLengthMixin, AdminAuthenticationForm):
    pass


class CountedPasswordChangeForm(PasswordChangeForm):
    """Django's password change, where a wrong current password is a failed login.

    The current password is checked by ``authenticate()``, not by
    ``check_password()``: django-axes counts a wrong one against the user name
    and address, and refuses the check while they are locked out, so a session
    left open cannot be used to guess at leisure what the login form protects.
    """

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    @sensitive_variables("old_password")
    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        user = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if user is None or user.pk != self.user.pk:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class AdminPasswordChangeForm(CountedPasswordChangeForm):
    required_css_class = "required"  # as the admin's own form


class PasswordChangeView(views.PasswordChangeView):
    """Django's view, with the form that counts a wrong current password."""

    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class LoginLimitsHandler(AxesDatabaseHandler):
    """django-axes' database handler, with a second limit per address alone.

    ``AXES_LOCKOUT_PARAMETERS`` can count per address too, but against the same
    limit as per user name and address, and a successful login then forgets
    every failure of its address: someone with one account could clear their
    address's count at will. So the failures of an address, whatever the user
    names, are added up here, and lock it out at ``CRM_LOGIN_ADDRESS_FAILURE_LIMIT``.
    """

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        address_limit = settings.CRM_LOGIN_ADDRESS_FAILURE_LIMIT
        if failures < limit and self.address_failures(request) >= address_limit:
            # Read by crm.security.lockout_response, which says why.
            request.crm_address_locked_out = True
            return limit
        return failures

    def address_failures(self, request) -> int:
        """Return the failures counted against the request's address, any user name."""
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
