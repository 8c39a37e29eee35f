"""Data-protection pages: a person's data and their erasure (the officer's), the register.

Both answer requests under Togo's law n° 2019-014 and are the officer's alone
(``crm.answer_privacy_requests``, crm.roles). Each answer is logged
(``PrivacyRequest``): the person's id, who, when, and for an erasure why.
"""

import json
import tempfile

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm import clock, retention, roles, services
from crm.api.export import XLSX_MEDIA_TYPE
from crm.models import Document, Person, PrivacyRequest
from crm.personal_data import access_package, readable
from crm.privacy_register import entries
from crm.privacy_register import write_xlsx as privacy_register_xlsx
from crm.views.common import add_errors, require

ANSWER = "crm.answer_privacy_requests"
# The officer's list looks this far ahead; the digest warns retention.NOTICE_DAYS ahead.
RETENTION_PAGE_DAYS = 90


class DocumentChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, document: Document) -> str:
        day = formats.date_format(timezone.localtime(document.uploaded_at), "DATE_FORMAT")
        return f"{document.title} ({document.original_name}, {day})"


class ErasureForm(forms.Form):
    documents = DocumentChoice(
        label=gettext_lazy("Their documents to delete too"),
        queryset=Document.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Attachments of the e-mails filed to them. Tick those that are their own data "
            "(a CV, a business card); the others stay with the meetings."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why (the request, its date)"),
        max_length=services.REASON_MAX_LENGTH,
        help_text=gettext_lazy("Kept in the log; do not repeat the person's name here."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this cannot be undone."), required=True
    )

    def __init__(self, *args, person: Person, **kwargs):
        super().__init__(*args, **kwargs)
        listed = services.own_documents(person).values_list("pk", flat=True)
        first = list(listed[: services.OWN_DOCUMENTS_LISTED])
        self.fields["documents"].queryset = Document.objects.filter(pk__in=first).order_by(
            "-uploaded_at", "-pk"
        )
        if not first:
            del self.fields["documents"]


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
    form = ErasureForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = services.person_erase(
                person=person,
                by=request.user,
                reason=form.cleaned_data["reason"],
                documents=form.cleaned_data.get("documents", ()),
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request, _("Erased: the record is now “%(label)s”.") % {"label": erasure.label}
            )
            return redirect("person", slug=f"personne-effacee-{person.pk}")
    return render(request, "crm/person_erase.html", {"person": person, "form": form})


@require_GET
@login_required
def retention_due(request: HttpRequest) -> HttpResponse:
    """The officer's list: who comes due for erasure within 90 days, or is due (two queries)."""
    require(request, ANSWER)
    today = clock.today()
    people, total = retention.coming_due(on=today, within=RETENTION_PAGE_DAYS)
    context = {
        "people": people,
        "total": total,
        "more": total - len(people),
        "days": RETENTION_PAGE_DAYS,
        "years": retention.person_years(),
        "today": today,
    }
    return render(request, "crm/privacy_retention.html", context)


@require_GET
@login_required
def privacy_register(request: HttpRequest) -> HttpResponse:
    """The register of processing (Coordination and the officer); ``?export=xlsx`` as a file."""
    if not (roles.is_coordination(request.user) or request.user.has_perm(ANSWER)):
        raise PermissionDenied
    if request.GET.get("export") == "xlsx":
        with tempfile.TemporaryFile() as file:
            privacy_register_xlsx(file)
            file.seek(0)
            day = timezone.localdate().isoformat()
            response = HttpResponse(file.read(), content_type=XLSX_MEDIA_TYPE)
        response["Content-Disposition"] = (
            f'attachment; filename="{slugify(_("register of processing"))}-{day}.xlsx"'
        )
        return response
    context = {"entries": entries()}
    return render(request, "crm/privacy_register.html", context)
