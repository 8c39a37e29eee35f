"""The token page: each user lists, makes and revokes their own API tokens.

Also shows the user's calendar URL and regenerates it, and their choice of the
weekly summary by e-mail. A new key is shown once, in the answer to the form
that made it, and is never stored.
"""

from datetime import datetime, time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from crm import clock, weekly
from crm.calendar import calendar_url_for
from crm.middleware import SESSION_KEY
from crm.models import ApiToken, StaffProfile


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the key is for, e.g. “Reporting to MCC”."),
    )
    expires_on = forms.DateField(
        label=gettext_lazy("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Leave empty for no expiry. The key stops working that day."),
    )

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        if expires_on and expires_on <= clock.today():
            raise forms.ValidationError(gettext_lazy("Choose a day after today."))
        return expires_on

    def expires_at(self) -> datetime | None:
        expires_on = self.cleaned_data["expires_on"]
        if expires_on is None:
            return None
        # The start of that day in the unit's time zone.
        return timezone.make_aware(datetime.combine(expires_on, time.min))


class WeeklySummaryForm(forms.Form):
    """The person's choice of the weekly summary; "as my role decides" stores NULL."""

    AS_ROLE, YES, NO = "", "yes", "no"
    STORED = {AS_ROLE: None, YES: True, NO: False}

    weekly_summary = forms.ChoiceField(
        label=gettext_lazy("Weekly summary by e-mail"),
        choices=[
            (AS_ROLE, gettext_lazy("As my role decides (Coordination receives it)")),
            (YES, gettext_lazy("Yes, send it to me")),
            (NO, gettext_lazy("No, do not send it to me")),
        ],
        required=False,
        widget=forms.RadioSelect,
    )

    @classmethod
    def initial_for(cls, profile: StaffProfile | None) -> str:
        stored = profile.weekly_summary if profile is not None else None
        return {None: cls.AS_ROLE, True: cls.YES, False: cls.NO}[stored]

    def stored_value(self) -> bool | None:
        return self.STORED[self.cleaned_data["weekly_summary"]]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, new_key = ApiToken.create_for(
            request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    context = {
        "form": form,
        "tokens": tokens,
        "new_key": new_key,
        "now": timezone.now(),
        "calendar_url": calendar_url_for(request.user, request),
        "weekly_form": WeeklySummaryForm(
            initial={
                "weekly_summary": WeeklySummaryForm.initial_for(
                    StaffProfile.objects.filter(user=request.user).first()
                )
            }
        ),
        "receives_weekly": weekly.receives_summary(request.user),
    }
    response = render(request, "crm/api_tokens.html", context)
    # The page may hold a key shown once: never keep it in any cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, _("The key “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api-tokens")


@login_required
@require_POST
def calendar_regenerate(request: HttpRequest) -> HttpResponse:
    StaffProfile.for_user(request.user).regenerate_calendar_token()
    messages.success(
        request, _("Your calendar has a new address; the previous one no longer works.")
    )
    return redirect("api-tokens")


@login_required
@require_POST
def weekly_summary_preference(request: HttpRequest) -> HttpResponse:
    form = WeeklySummaryForm(request.POST)
    if form.is_valid():
        StaffProfile.objects.update_or_create(
            user=request.user, defaults={"weekly_summary": form.stored_value()}
        )
        if weekly.receives_summary(request.user):
            messages.success(request, _("You will receive the weekly summary by e-mail."))
        else:
            messages.success(request, _("You will not receive the weekly summary."))
    return redirect("api-tokens")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language; for a logged-in user, save the choice on their profile.

    Saved there, the choice follows the user to any browser and wins over the
    browser's own language; the e-mails the CRM sends them follow it too.
    """
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        StaffProfile.objects.update_or_create(
            user=request.user, defaults={"interface_language": language, "language": language}
        )
        request.session[SESSION_KEY] = language
    return response
