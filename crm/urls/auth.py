"""Log in, log out, change one's password; reset by e-mail only when turned on.

Django's ``django.contrib.auth.urls`` with two changes: the password-reset pages
answer 404 unless ``CRM_PASSWORD_RESET_ENABLED`` is on, and the reset request is
then limited per address and per e-mail (``crm.security.password_reset_allowed``).
Logins are counted and locked out by django-axes (settings); the login form
refuses over-long user names, and a wrong current password on the password
change counts as a failed login (``crm.logins``).
"""

from django.conf import settings
from django.contrib.auth import views
from django.http import Http404
from django.shortcuts import render
from django.urls import path

from crm.logins import LoginForm, PasswordChangeView
from crm.security import password_reset_allowed


class ResetEnabledMixin:
    def dispatch(self, request, *args, **kwargs):
        if not settings.CRM_PASSWORD_RESET_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(ResetEnabledMixin, views.PasswordResetView):
    def form_valid(self, form):
        if not password_reset_allowed(self.request, form.cleaned_data["email"]):
            return render(self.request, "registration/password_reset_throttled.html", status=429)
        return super().form_valid(form)


class PasswordResetDoneView(ResetEnabledMixin, views.PasswordResetDoneView):
    pass


class PasswordResetConfirmView(ResetEnabledMixin, views.PasswordResetConfirmView):
    pass


class PasswordResetCompleteView(ResetEnabledMixin, views.PasswordResetCompleteView):
    pass


urlpatterns = [
    path("login/", views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password_change/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password_reset/done/", PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
