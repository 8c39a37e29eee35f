"""The coordinator's control room: every record, bulk actions and history.

Writes that carry a rule (complete a follow-up, move a partnership to another
stage) go through ``crm.services``; the admin only collects the input.
"""

import secrets
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from crm import importing, services
from crm.emails import notify_assignment
from crm.forms import (
    AffiliationAdminForm,
    AffiliationInlineFormSet,
    ChangeStageForm,
    CompleteFollowUpsForm,
    FollowUpAdminForm,
    MissionAdminForm,
    OrganizationAdminForm,
    PartnershipInlineForm,
    ReassignFollowUpsForm,
)
from crm.models import (
    Affiliation,
    ApiToken,
    DigestLog,
    FollowUp,
    FollowUpPlan,
    FollowUpPlanStep,
    Interaction,
    InteractionOrganization,
    Mission,
    MissionMember,
    Organization,
    Partnership,
    Person,
    Programme,
    Project,
    Source,
    StaffProfile,
    StageChange,
)

admin.site.site_header = _("Compact partnerships")
admin.site.site_title = _("Compact partnerships")
admin.site.index_title = _("Control room")

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


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8) or XLSX; row 1 names the columns.")
    )


class ContactImportMixin:
    """An "Import" page: upload, preview (a dry run), then confirm.

    The uploaded file waits in a private temporary folder between the preview
    and the confirmation, under a random name remembered in the session.
    """

    import_kind: str = ""
    change_list_template = "admin/crm/change_list_with_import.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": (self.has_import_permission(request)),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(name)s") % {"name": self.opts.verbose_name_plural},
            "form": form,
            "columns": importing.COLUMNS[self.import_kind],
        }
        pending = request.session.get(IMPORT_SESSION_KEY, {})
        token = request.POST.get("confirm")
        if token:
            if token not in pending:
                raise PermissionDenied
            filename = pending.pop(token)
            request.session[IMPORT_SESSION_KEY] = pending
            stored = _import_dir() / f"{token}{Path(filename).suffix.lower()}"
            try:
                with stored.open("rb") as file:
                    result = importing.import_contacts(
                        file,
                        filename=filename,
                        dry_run=False,
                        by=request.user,
                        expect=self.import_kind,
                    )
            except (OSError, importing.ImportFileError) as error:
                self.message_user(request, str(error), messages.ERROR)
                return redirect(request.path)
            finally:
                stored.unlink(missing_ok=True)
            if result.errors:
                # The data changed since the preview; show what is wrong now.
                context["result"] = result
                return TemplateResponse(request, "admin/crm/import.html", context)
            self.message_user(
                request,
                _("Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
                % {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
                messages.SUCCESS,
            )
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            token = secrets.token_hex(16)
            suffix = Path(upload.name).suffix.lower()
            stored = _import_dir() / f"{token}{suffix}"
            with stored.open("wb") as destination:
                for chunk in upload.chunks():
                    destination.write(chunk)
            try:
                with stored.open("rb") as file:
                    result = importing.import_contacts(
                        file,
                        filename=upload.name,
                        dry_run=True,
                        by=request.user,
                        expect=self.import_kind,
                    )
            except importing.ImportFileError as error:
                stored.unlink(missing_ok=True)
                form.add_error("file", str(error))
            else:
                context["result"] = result
                if result.errors:
                    stored.unlink(missing_ok=True)
                else:
                    pending[token] = upload.name
                    request.session[IMPORT_SESSION_KEY] = pending
                    context["token"] = token
        return TemplateResponse(request, "admin/crm/import.html", context)


IMPORT_SESSION_KEY = "crm_pending_imports"


def _import_dir() -> Path:
    directory = Path(tempfile.gettempdir()) / "crm-imports"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def _render_action_page(modeladmin, request, queryset, *, template, action, title, form):
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


def _confirmed(request) -> bool:
    """Tell whether the intermediate page itself was submitted."""
    return request.POST.get("post") == "yes"


# Inlines.


class LoadedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete select that labels its choice from an already loaded object.

    Django's widget looks its selected option up with one query per widget: an
    inline of N rows made N queries. Inlines hand each row's related object,
    loaded by their select_related, to ``loaded``.
    """

    loaded: dict | None = None

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if not self.loaded or not selected or not selected <= self.loaded.keys():
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        for pk in sorted(selected):
            label = self.choices.field.label_from_instance(self.loaded[pk])
            options.append(self.create_option(name, pk, label, True, len(options)))
        return [(None, options, 0)]


class LoadedAutocompleteInlineMixin:
    """Render an inline's autocomplete fields without a query per row."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs.setdefault(
                "widget",
                LoadedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using")),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        names = self.get_autocomplete_fields(request)

        class LoadedFormSet(formset):
            def _construct_form(self, i, **kwargs):
                form = super()._construct_form(i, **kwargs)
                if form.instance.pk is None:
                    return form
                for name in names:
                    widget = getattr(form.fields.get(name), "widget", None)
                    widget = getattr(widget, "widget", widget)  # Unwrap the "+" wrapper.
                    related = getattr(form.instance, name, None)
                    if isinstance(widget, LoadedAutocompleteSelect) and related is not None:
                        widget.loaded = {str(related.pk): related}
                return form

        return LoadedFormSet


class OrganizationAffiliationInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = Affiliation
    form = AffiliationAdminForm
    formset = AffiliationInlineFormSet
    fields = ["person", "title", "start_on", "end_on", "is_primary"]
    autocomplete_fields = ["person"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "organization")


class PersonAffiliationInline(OrganizationAffiliationInline):
    fields = ["organization", "title", "start_on", "end_on", "is_primary"]
    autocomplete_fields = ["organization"]


class OrganizationPartnershipInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = Partnership
    form = PartnershipInlineForm
    fields = ["project", "role", "stage", "owner", "contact_cadence_days"]
    autocomplete_fields = ["project", "owner"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "project", "owner")


class ProjectPartnershipInline(OrganizationPartnershipInline):
    fields = ["organization", "role", "stage", "owner", "contact_cadence_days"]
    autocomplete_fields = ["organization", "owner"]


class InteractionOrganizationInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = InteractionOrganization
    fields = ["organization"]
    autocomplete_fields = ["organization"]
    # An interaction is always with someone (crm.services.interaction_log says so).
    min_num = 1
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


class InteractionFollowUpInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = FollowUp
    fk_name = "interaction"
    fields = ["title", "project", "organization", "assignee", "due_on", "priority", "status"]
    # Completing needs a note and records who and when: done in the follow-up's
    # own form or with the "Mark done" action, not in a table row.
    readonly_fields = ["status"]
    autocomplete_fields = ["project", "organization", "assignee"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "organization", "assignee")


class MissionMemberInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = MissionMember
    fields = ["person", "role"]
    autocomplete_fields = ["person"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")


class StageChangeInline(admin.TabularInline):
    """A partnership's stage history, newest first; written only by the service."""

    model = StageChange
    fields = ["changed_at", "from_stage", "to_stage", "changed_by", "note"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("partnership__organization", "partnership__project", "changed_by")
        )


# Reference records.


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "kind", "language"]
    list_filter = ["kind", "language"]
    search_fields = ["title", "publisher", "slug", "reference"]
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "language"]}),
        (
            _("Publication"),
            {"fields": ["publisher", "published_on", "published_on_precision"]},
        ),
        (_("Where to find it"), {"fields": ["url", "reference", "notes"]}),
    ]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "funder", "country", "status", "eligible_since"]
    list_filter = ["status"]
    list_select_related = ["funder"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["funder"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "funder", "country", "status"]}),
        (
            _("Eligibility"),
            {"fields": ["eligible_since", "eligible_since_precision"]},
        ),
        (_("About"), {"fields": ["description", "source"]}),
    ]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "programme", "sector", "status", "lead"]
    list_filter = ["sector", "status", "programme"]
    list_select_related = ["programme", "lead"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["lead"]
    prepopulated_fields = {"code": ["name"]}
    fieldsets = [
        (None, {"fields": ["programme", "name", "code", "sector", "status", "lead"]}),
        (_("About"), {"fields": ["description", "source"]}),
    ]
    inlines = [ProjectPartnershipInline]


# Organisations and people.


@admin.register(Organization)
class OrganizationAdmin(ContactImportMixin, HistoryAdmin):
    import_kind = importing.ORGANIZATIONS
    form = OrganizationAdminForm
    list_display = [
        "name",
        "short_name",
        "kind",
        "country",
        "city",
        "is_identified",
        "needs_verification",
    ]
    list_filter = ["kind", "is_identified", "needs_verification", "country"]
    search_fields = ["name", "short_name", "slug", "city"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "short_name", "slug", "kind"]}),
        (_("Where"), {"fields": ["country", "city", "website"]}),
        (_("About"), {"fields": ["description", "source"]}),
        (
            _("Verification"),
            {"fields": ["is_identified", "needs_verification", "verification_note"]},
        ),
        RECORD_FIELDSET,
    ]
    inlines = [OrganizationAffiliationInline, OrganizationPartnershipInline]


@admin.register(Person)
class PersonAdmin(ContactImportMixin, HistoryAdmin):
    import_kind = importing.PEOPLE
    list_display = ["full_name", "email", "phone", "preferred_language"]
    list_filter = ["preferred_language"]
    search_fields = ["given_name", "family_name", "email", "slug"]
    prepopulated_fields = {"slug": ["given_name", "family_name"]}
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["given_name", "family_name", "slug"]}),
        (_("Contact"), {"fields": ["email", "phone", "preferred_language"]}),
        (_("About"), {"fields": ["notes", "source"]}),
        RECORD_FIELDSET,
    ]
    inlines = [PersonAffiliationInline]

    @admin.display(description=_("name"), ordering="family_name")
    def full_name(self, person: Person) -> str:
        return person.full_name


class ActiveAffiliationFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(end_on__isnull=True)
        if self.value() == "ended":
            return queryset.filter(end_on__isnull=False)
        return queryset


@admin.register(Affiliation)
class AffiliationAdmin(HistoryAdmin):
    form = AffiliationAdminForm
    list_display = ["person", "title", "organization", "start_on", "end_on", "is_primary"]
    list_filter = [ActiveAffiliationFilter, "is_primary"]
    list_select_related = ["person", "organization"]
    search_fields = [
        "title",
        "person__given_name",
        "person__family_name",
        "organization__name",
        "organization__short_name",
    ]
    autocomplete_fields = ["person", "organization"]
    fields = ["person", "organization", "title", "start_on", "end_on", "is_primary", "source"]


# The mission and its meetings.


@admin.register(Mission)
class MissionAdmin(admin.ModelAdmin):
    form = MissionAdminForm
    list_display = ["title", "start_on", "end_on", "date_precision", "organizer", "cities"]
    list_select_related = ["organizer"]
    search_fields = ["title", "slug", "cities"]
    autocomplete_fields = ["organizer"]
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (None, {"fields": ["title", "slug", "organizer", "cities"]}),
        (_("Dates"), {"fields": ["start_on", "end_on", "date_precision"]}),
        (_("About"), {"fields": ["objectives", "description", "source"]}),
    ]
    inlines = [MissionMemberInline]


@admin.register(Interaction)
class InteractionAdmin(HistoryAdmin):
    list_display = ["title", "kind", "occurred_on", "city", "mission", "organisations"]
    list_filter = ["kind", "mission"]
    list_select_related = ["mission"]
    date_hierarchy = "occurred_on"
    search_fields = ["title", "summary", "outcome", "city", "organizations__name"]
    autocomplete_fields = ["mission", "people", "staff", "projects"]
    readonly_fields = ["slug", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "kind", "mission", "slug"]}),
        (_("When and where"), {"fields": ["occurred_on", "date_precision", "city"]}),
        (_("Who and what"), {"fields": ["people", "staff", "projects"]}),
        (_("Content"), {"fields": ["summary", "outcome", "source"]}),
        (
            _("Record"),
            {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    inlines = [InteractionOrganizationInline, InteractionFollowUpInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("organizations")

    @admin.display(description=_("organisations"))
    def organisations(self, interaction: Interaction) -> str:
        # Uses the prefetched organisations: no query per row.
        return ", ".join(str(org) for org in interaction.organizations.all())

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is FollowUp:
            assigned = []
            for follow_up in formset.save(commit=False):
                if follow_up.pk is None:
                    follow_up.created_by = request.user
                    assigned.append(follow_up)
                follow_up._history_user = request.user
                follow_up.save()
            for follow_up, changed in formset.changed_objects:
                if "assignee" in changed:
                    assigned.append(follow_up)
            for follow_up in formset.deleted_objects:
                follow_up.delete()
            formset.save_m2m()
            notify_assignment(follow_ups=assigned, by=request.user)
            return
        super().save_formset(request, form, formset, change)


# Partnerships and their stages.


@admin.register(Partnership)
class PartnershipAdmin(HistoryAdmin):
    list_display = ["organization", "project", "role", "stage", "owner", "last_contact"]
    list_filter = ["stage", "role", "project"]
    list_select_related = ["organization", "project", "owner"]
    search_fields = ["organization__name", "organization__short_name", "project__name", "notes"]
    autocomplete_fields = ["organization", "project", "owner"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organization", "project", "role", "stage"]}),
        (_("Follow-through"), {"fields": ["owner", "contact_cadence_days", "notes", "source"]}),
        RECORD_FIELDSET,
    ]
    inlines = [StageChangeInline]
    actions = ["change_stage"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_last_contact()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moves go through the "Change stage" action, which records them.
            fields.append("stage")
        return fields

    @admin.display(description=_("last contact"), ordering="last_contact_on")
    def last_contact(self, partnership: Partnership) -> str:
        if partnership.last_contact_on is None:
            return "—"
        return date_format(partnership.last_contact_on, "SHORT_DATE_FORMAT")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            # Even a revert from the history page must not move the stage
            # without a StageChange row.
            obj.stage = Partnership.objects.values_list("stage", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)

    @admin.action(permissions=["change"], description=_("Change stage…"))
    def change_stage(self, request, queryset):
        form = ChangeStageForm(request.POST if _confirmed(request) else None)
        if form.is_valid():
            stage = form.cleaned_data["stage"]
            moved, skipped = 0, []
            for partnership in queryset:
                if partnership.stage == stage:
                    skipped.append(partnership)
                    continue
                try:
                    services.partnership_change_stage(
                        partnership=partnership,
                        to_stage=stage,
                        by=request.user,
                        note=form.cleaned_data["note"],
                    )
                except ValidationError:
                    # Moved by someone else meanwhile, to this very stage.
                    skipped.append(partnership)
                else:
                    moved += 1
            label = Partnership.Stage(stage).label
            if moved:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d partnership moved to “%(stage)s”.",
                        "%(count)d partnerships moved to “%(stage)s”.",
                        moved,
                    )
                    % {"count": moved, "stage": label},
                    messages.SUCCESS,
                )
            if skipped:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d partnership was already at “%(stage)s” and was left as "
                        "it was: %(names)s.",
                        "%(count)d partnerships were already at “%(stage)s” and were left "
                        "as they were: %(names)s.",
                        len(skipped),
                    )
                    % {
                        "count": len(skipped),
                        "stage": label,
                        "names": "; ".join(str(p) for p in skipped),
                    },
                    messages.WARNING,
                )
            return None
        return _render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/partnership/change_stage.html",
            action="change_stage",
            title=_("Change the stage of partnerships"),
            form=form,
        )


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    """The log of stage moves: read only, written by partnership_change_stage."""

    list_display = ["partnership", "from_stage", "to_stage", "changed_at", "changed_by"]
    list_filter = ["to_stage", "from_stage"]
    list_select_related = ["partnership__organization", "partnership__project", "changed_by"]
    date_hierarchy = "changed_at"
    search_fields = [
        "partnership__organization__name",
        "partnership__project__name",
        "note",
    ]
    fields = ["partnership", "from_stage", "to_stage", "changed_at", "changed_by", "note"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Follow-ups: the unit of staff work.


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("week", _("Due this week"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.overdue(today=today)
        if self.value() == "week":
            return queryset.due_within(7, today=today)
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(HistoryAdmin):
    form = FollowUpAdminForm
    list_display = [
        "title",
        "project",
        "organization",
        "assignee",
        "due",
        "status",
        "priority",
    ]
    list_filter = [
        DeadlineFilter,
        "status",
        "priority",
        "project",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["project", "organization", "assignee"]
    date_hierarchy = "due_on"
    search_fields = [
        "title",
        "description",
        "organization__name",
        "person__family_name",
        "project__name",
    ]
    autocomplete_fields = ["project", "organization", "person", "interaction", "assignee"]
    readonly_fields = ["completed_at", "completed_by", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {"fields": ["title", "description", "project", "organization", "person"]},
        ),
        (_("Work"), {"fields": ["assignee", "due_on", "status", "priority", "interaction"]}),
        (_("Completion"), {"fields": ["completion_note", "completed_at", "completed_by"]}),
        (
            _("Record"),
            {"fields": ["created_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    actions = ["mark_done", "reassign"]

    @admin.display(description=_("due date"), ordering="due_on")
    def due(self, follow_up: FollowUp) -> str:
        text = date_format(follow_up.due_on, "SHORT_DATE_FORMAT")
        if follow_up.is_overdue(today=timezone.localdate()):
            return format_html(
                '<span class="crm-overdue" style="color:#ba2121;font-weight:bold"'
                ' title="{}">{}</span>',
                _("Overdue"),
                text,
            )
        return text

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        # The database requires completed_at exactly when the status is done;
        # the form has already required the completion note.
        if obj.status == FollowUp.Status.DONE:
            if obj.completed_at is None:
                obj.completed_at = timezone.now()
                obj.completed_by = request.user
        else:
            obj.completed_at = None
            obj.completed_by = None
        super().save_model(request, obj, form, change)
        if not change or "assignee" in form.changed_data:
            notify_assignment(follow_ups=[obj], by=request.user)

    @admin.action(permissions=["change"], description=_("Mark done…"))
    def mark_done(self, request, queryset):
        form = CompleteFollowUpsForm(request.POST if _confirmed(request) else None)
        if form.is_valid():
            done, skipped = 0, 0
            for follow_up in queryset:
                try:
                    services.follow_up_complete(
                        follow_up=follow_up,
                        by=request.user,
                        note=form.cleaned_data["completion_note"],
                    )
                except ValidationError:
                    skipped += 1  # Already done or cancelled.
                else:
                    done += 1
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up marked done.",
                        "%(count)d follow-ups marked done.",
                        done,
                    )
                    % {"count": done},
                    messages.SUCCESS,
                )
            if skipped:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d follow-up was already closed and was left as it was.",
                        "%(count)d follow-ups were already closed and were left as they were.",
                        skipped,
                    )
                    % {"count": skipped},
                    messages.WARNING,
                )
            return None
        return _render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/followup/complete.html",
            action="mark_done",
            title=_("Mark follow-ups done"),
            form=form,
        )

    @admin.action(permissions=["change"], description=_("Reassign…"))
    def reassign(self, request, queryset):
        form = ReassignFollowUpsForm(request.POST if _confirmed(request) else None)
        if form.is_valid():
            assignee = form.cleaned_data["assignee"]
            count = 0
            for follow_up in queryset:
                services.follow_up_reassign(
                    follow_up=follow_up, assignee=assignee, by=request.user
                )
                count += 1
            self.message_user(
                request,
                ngettext(
                    "%(count)d follow-up assigned to %(user)s.",
                    "%(count)d follow-ups assigned to %(user)s.",
                    count,
                )
                % {"count": count, "user": assignee.get_full_name() or assignee.get_username()},
                messages.SUCCESS,
            )
            return None
        return _render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/followup/reassign.html",
            action="reassign",
            title=_("Reassign follow-ups"),
            form=form,
        )


class FollowUpPlanStepInline(admin.TabularInline):
    model = FollowUpPlanStep
    fields = ["offset_days", "title", "priority", "description"]
    extra = 1


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "step_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "is_active"]
    inlines = [FollowUpPlanStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps"))

    @admin.display(description=_("steps"), ordering="step_count")
    def step_count(self, plan: FollowUpPlan) -> int:
        return plan.step_count


# Staff.


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    list_filter = ["language"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    fields = ["user", "language"]


# API tokens.


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Everyone's API tokens, for Coordination to review and revoke.

    The hash is never shown, and a token is never made here: its key must be
    shown once to its holder, which only their token page does.
    """

    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username", "user__last_name"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("state"))
    def state(self, token: ApiToken) -> str:
        if token.is_revoked:
            return _("Revoked")
        if token.is_expired(now=timezone.now()):
            return _("Expired")
        return _("Active")

    @admin.action(permissions=["change"], description=_("Revoke"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )


# What the CRM sent.


@admin.register(DigestLog)
class DigestLogAdmin(admin.ModelAdmin):
    """Who got which daily digest, when, and which failed: written by send_digests only."""

    list_display = [
        "user",
        "digest_on",
        "status",
        "overdue",
        "due_soon",
        "waiting",
        "stale",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "digest_on"]
    list_select_related = ["user"]
    date_hierarchy = "digest_on"
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    fields = [
        "user",
        "digest_on",
        "status",
        ("overdue", "due_soon", "waiting", "stale"),
        "attempts",
        "claimed_at",
        "sent_at",
        "error",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
