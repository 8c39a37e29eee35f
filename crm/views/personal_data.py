"""The data-protection officer's pages for one person: their data, and their erasure.

Both answer requests under Togo's law n° 2019-014 and are the officer's alone
(``crm.answer_privacy_requests``, crm.roles). Each answer is logged
(``PrivacyRequest``): the person's id, who, when, and for an erasure why.
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm import services
from crm.models import Person, PrivacyRequest
from crm.personal_data import access_package, readable
from crm.views.common import add_errors, require

ANSWER = "crm.answer_privacy_requests"


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why (the request, its date)"),
        max_length=services.REASON_MAX_LENGTH,
        help_text=gettext_lazy("Kept in the log; do not repeat the person's name here."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this cannot be undone."), required=True
    )


@require_GET
@login_required
def person_data(request: HttpRequest, slug: str) -> HttpResponse:
    """The person's data, to read (HTML) or as a file (``?format=json``); the answer is logged."""
    require(request, "crm.view_person", ANSWER)
    person = get_object_or_404(Person.objects.select_related("source"), slug=slug)
    package = access_package(person)
    PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.ACCESS, person_id_number=person.pk, made_by=request.user
    )
    if request.GET.get("format") == "json":
        response = HttpResponse(
            json.dumps(package, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        day = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="personal-data-{person.pk}-{day}.json"'
        )
        return response
    context = {"person": person, "package": readable(package)}
    return render(request, "crm/personal_data.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def person_erase(request: HttpRequest, slug: str) -> HttpResponse:
    """Confirm, with a reason, then erase the person (``services.person_erase``)."""
    require(request, "crm.view_person", ANSWER)
    person = get_object_or_404(Person, slug=slug)
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = services.person_erase(
                person=person, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request, _("Erased: the record is now “%(label)s”.") % {"label": erasure.label}
            )
            return redirect("person", slug=f"personne-effacee-{person.pk}")
    return render(request, "crm/person_erase.html", {"person": person, "form": form})
