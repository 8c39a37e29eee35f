"""Inlines: the related rows edited inside a record's change page."""

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from crm.admin.base import VersionedInlineMixin
from crm.forms import (
    AffiliationAdminForm,
    AffiliationInlineFormSet,
    FollowUpInlineForm,
    PartnershipInlineForm,
)
from crm.models import (
    Affiliation,
    FollowUp,
    InteractionOrganization,
    InteractionPerson,
    InteractionProject,
    MissionMember,
    Partnership,
    StageChange,
)


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


class OrganizationAffiliationInline(
    VersionedInlineMixin, LoadedAutocompleteInlineMixin, admin.TabularInline
):
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


class OrganizationPartnershipInline(
    VersionedInlineMixin, LoadedAutocompleteInlineMixin, admin.TabularInline
):
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


class InteractionPersonInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    # A table of its own (not a many-to-many widget) so that a person met stays
    # protected from deletion; see crm.models.InteractionPerson.
    model = InteractionPerson
    fields = ["person"]
    autocomplete_fields = ["person"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")


class InteractionProjectInline(LoadedAutocompleteInlineMixin, admin.TabularInline):
    model = InteractionProject
    fields = ["project"]
    autocomplete_fields = ["project"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project")


class InteractionFollowUpInline(
    VersionedInlineMixin, LoadedAutocompleteInlineMixin, admin.TabularInline
):
    model = FollowUp
    form = FollowUpInlineForm
    fk_name = "interaction"
    fields = ["title", "project", "organization", "assignee", "due_on", "priority", "status"]
    # The status changes through the follow-up's actions (mark done, cancel…),
    # which record who, when and why; assignee and due date too, once the row
    # exists (FollowUpInlineForm locks them).
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


class ReadOnlyInline(admin.TabularInline):
    """A history written only by the services."""

    extra = 0
    max_num = 0
    can_delete = False
    # A history's first row comes from nowhere (from "" to the first stage or
    # status): "— → Contacted".
    empty_value_display = "—"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StageChangeInline(ReadOnlyInline):
    """A partnership's stage history, newest first; written only by the service."""

    model = StageChange
    fields = ["changed_at", "from_stage", "to_stage", "changed_by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("partnership__organization", "partnership__project", "changed_by")
        )
