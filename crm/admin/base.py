"""What every admin of the CRM shares: versioned saves, history with safe reverts, action pages."""

from collections import Counter

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from crm import services
from crm.admin.changelist import BoundedDateHierarchyMixin, IndexedSearchMixin
from crm.forms import VersionedAdminForm, VersionedModelForm
from crm.security import is_ascii_int
from crm.versions import version_of

RECORD_FIELDSET = (
    _("Record"),
    {"fields": ["created_at", "updated_at"], "classes": ["collapse"]},
)


def require_ids(*values: str) -> None:
    """Raise Http404 unless each of ``values`` is an id: a whole number in ASCII digits.

    The admin's object URLs take any text (``<path:object_id>``); the views
    below hand it to an integer lookup, where "abc", "²" or "1e3" raised a
    ValueError (a 500). No record has such an id: the page does not exist.
    """
    for value in values:
        if not is_ascii_int(str(value)):
            raise Http404


def _with_version(fieldsets):
    """Add the hidden version field to the first fieldset, unless a fieldset has it."""
    if any("version" in options["fields"] for _name, options in fieldsets):
        return fieldsets
    (name, options), *rest = fieldsets
    return [(name, {**options, "fields": [*options["fields"], "version"]}), *rest]


class VersionedInlinesMixin:
    """For admins with versioned inlines: rows are saved like change forms.

    An existing row that changed writes only what differs (its version was
    checked while validating); a new row is created by ``create_<model name>``
    when the admin has one (a service), else with its history; a deleted row is
    deleted.
    """

    def save_formset(self, request, form, formset, change) -> None:
        if not issubclass(formset.form, VersionedModelForm):
            super().save_formset(request, form, formset, change)
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.initial_forms:
            if formset.can_delete and formset._should_delete_form(row):
                formset.delete_existing(row.instance, commit=True)
                formset.deleted_objects.append(row.instance)
            elif row.has_changed():
                saved = row.save_changes(by=request.user)
                formset.changed_objects.append((saved, row.changed_data))
        for row in formset.extra_forms:
            if not row.has_changed() or (formset.can_delete and formset._should_delete_form(row)):
                continue
            obj = row.save(commit=False)
            # As BaseInlineFormSet.save_new: the parent may be new in this request.
            setattr(obj, formset.fk.name, formset.instance)
            create = getattr(self, f"create_{obj._meta.model_name}", None)
            if create is None:
                services.record_create(instance=obj, by=request.user)
            else:
                create(request, obj)
            row.save_m2m()
            formset.new_objects.append(obj)


class VersionedAdminMixin(VersionedInlinesMixin):
    """Change forms and inline rows carry the version they were opened on.

    The form is a ``VersionedAdminForm``: while the admin validates (inside the
    transaction of its change view), a changed form locks its row and compares
    versions, so that a copy opened before someone else's save is refused as a
    form error saying who changed the record, when, with a link to reload it.
    What the user typed stays on the form. A save writes only the fields that
    differ (``services.record_update``), never the state fields, which the
    form shows read-only and actions change through their services.

    New records are still made by ``create_object`` (a service where the model
    has one); new inline rows by ``create_<model name>`` when the admin has it.
    """

    form = VersionedAdminForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is None else _with_version(fieldsets)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or not issubclass(form, VersionedModelForm):
            return form
        opts = self.model._meta
        attrs = {
            "reload_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[obj.pk],
                current_app=self.admin_site.name,
            )
        }
        if getattr(request, "crm_reverting", False):
            # The history page shows an old version: the version to check is
            # the record's as it is now, when the page is opened.
            attrs["opened_on"] = version_of(self.model._base_manager.get(pk=obj.pk))
        return type(form.__name__, (form,), attrs)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            self.create_object(request, obj, form)
            return
        saved = form.save_changes(by=request.user)
        # The admin logs and redirects with ``obj``: give it the saved values.
        for field in self.model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    def create_object(self, request, obj, form) -> None:
        """Create the record of an add form."""
        services.record_create(instance=obj, by=request.user)


class VersionedInlineMixin:
    """An inline whose existing rows carry their version (see ``VersionedAdminMixin``)."""

    form = VersionedAdminForm

    def get_fieldsets(self, request, obj=None):
        return _with_version(super().get_fieldsets(request, obj))


class HistoryAdmin(
    IndexedSearchMixin, BoundedDateHierarchyMixin, VersionedAdminMixin, SimpleHistoryAdmin
):
    """A versioned admin with history, where only users who may change an object revert it.

    django-simple-history hides the "Revert" button from view-only users but
    still saves a posted revert; refuse it here. A revert is an edit like any
    other: checked against the version shown, written field by field, in one
    transaction (django-simple-history's view has none of its own).
    """

    def history_view(self, request, object_id, extra_context=None):
        require_ids(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        require_ids(object_id, version_id)
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
        request.crm_reverting = True
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)


def render_action_page(
    modeladmin, request, queryset, *, template, action, title, form, **extra_context
):
    """Render an intermediate action page that posts back to the page that showed it."""
    request.current_app = modeladmin.admin_site.name
    context = {
        **extra_context,
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


def run_state_action(
    modeladmin,
    request,
    queryset,
    *,
    action: str,
    form_class,
    call,
    done_message,
    title="",
    intro="",
    submit_label="",
):
    """Run a state change on each selected record through ``call(record, data)`` (a service).

    With a form, its intermediate page is shown first. Records the service
    refuses (closed meanwhile, not in a state to change) are left as they were,
    and the user is told why, once per distinct reason.
    """
    form = None
    if form_class is not None:
        form = form_class(request.POST if action_confirmed(request) else None)
        if not form.is_valid():
            return render_action_page(
                modeladmin,
                request,
                queryset,
                template="admin/crm/state_action.html",
                action=action,
                title=title,
                form=form,
                intro=intro,
                submit_label=submit_label,
            )
    done, refused = 0, Counter()
    for record in queryset:
        try:
            call(record, form.cleaned_data if form is not None else {})
        except ValidationError as error:
            refused.update({" ".join(error.messages): 1})
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)
    for reason, count in refused.items():
        modeladmin.message_user(
            request,
            gettext("Left as it was (%(count)d): %(reason)s") % {"count": count, "reason": reason},
            messages.WARNING,
        )
    return None


def object_action_urls(modeladmin):
    """Return the URLs of the change form's buttons: one action on one record.

    ``<pk>/act/<action>/`` runs the changelist action on that record alone
    (its intermediate page posts back here), then returns to the change form.
    """
    opts = modeladmin.model._meta

    def view(request, object_id, action):
        require_ids(object_id)
        obj = get_object_or_404(modeladmin.get_queryset(request), pk=object_id)
        if action not in modeladmin.get_actions(request) or not modeladmin.has_change_permission(
            request, obj
        ):
            raise PermissionDenied
        if request.method != "POST" and action in getattr(modeladmin, "actions_without_page", ()):
            # It changes the record at once: never on a GET.
            return HttpResponseNotAllowed(["POST"])
        queryset = modeladmin.get_queryset(request).filter(pk=obj.pk)
        response = getattr(modeladmin, action)(request, queryset)
        if response is not None:
            return response
        return HttpResponseRedirect(
            reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[obj.pk],
                current_app=modeladmin.admin_site.name,
            )
        )

    return [
        path(
            "<path:object_id>/act/<str:action>/",
            modeladmin.admin_site.admin_view(view),
            name=f"{opts.app_label}_{opts.model_name}_act",
        )
    ]


class StatusActionForm(forms.Form):
    """The page of a "Change status…" action: the new status (among ``choices``) and a note."""

    status = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = choices


def run_status_action(modeladmin, request, queryset, *, form, call, title):
    """Run a "Change status…" action through ``call(record, data)`` (a service) on each record.

    Until ``form`` (a ``StatusActionForm``) is posted valid, its page is shown.
    Records the service refuses are left as they were, and the user is told
    which and why.
    """
    if not form.is_valid():
        return render_action_page(
            modeladmin,
            request,
            queryset,
            template="admin/crm/change_status.html",
            action="change_status",
            title=title,
            form=form,
        )
    moved, refused = 0, []
    for record in queryset:
        try:
            call(record, form.cleaned_data)
        except ValidationError as error:
            refused.append(f"{record}: {' '.join(error.messages)}")
        else:
            moved += 1
    if moved:
        modeladmin.message_user(
            request,
            ngettext("%(count)d record moved.", "%(count)d records moved.", moved)
            % {"count": moved},
            messages.SUCCESS,
        )
    if refused:
        modeladmin.message_user(
            request,
            _("Left as they were: %(reasons)s") % {"reasons": "; ".join(refused)},
            messages.WARNING,
        )
    return None


def take_created(obj, created) -> None:
    """Give the admin's ``obj`` what a service created, for its log and redirect."""
    for field in type(created)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
