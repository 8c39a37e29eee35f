"""Partnerships and their stages: stages move only through the service."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from crm import clock, overview, services
from crm.admin.base import (
    RECORD_FIELDSET,
    HistoryAdmin,
    VersionedInlinesMixin,
    action_confirmed,
    object_action_urls,
    render_action_page,
    run_state_action,
)
from crm.admin.changelist import (
    BoundedDateHierarchyMixin,
    EstimatedCountPaginator,
    IndexedSearchMixin,
)
from crm.admin.inlines import StageChangeInline
from crm.forms import AssignOwnerForm, ChangeStageForm, PartnershipAdminForm
from crm.models import Partnership, StageChange
from crm.roles import staff_members
from crm.templatetags.crm_tags import precise_date

# What a new partnership is made of; its timestamps are the database's.
CREATE_FIELDS = [
    field.attname
    for field in Partnership._meta.concrete_fields
    if not field.primary_key and field.name not in ("created_at", "updated_at")
]


def create_partnership(partnership: Partnership, *, by) -> None:
    """Save a partnership built by an admin form through the service.

    The service records the first stage (a StageChange from nowhere); the form's
    instance then takes the saved row's identity, so that the admin's log,
    messages and redirect name it.
    """
    created = services.partnership_create(
        by=by, **{name: getattr(partnership, name) for name in CREATE_FIELDS}
    )
    partnership.pk = created.pk
    partnership.created_at, partnership.updated_at = created.created_at, created.updated_at
    partnership._state.adding = False
    partnership._state.db = created._state.db


class PartnershipInlineAdminMixin(VersionedInlinesMixin):
    """For admins with a partnership inline: new rows are created by the service."""

    def create_partnership(self, request, partnership: Partnership) -> None:
        create_partnership(partnership, by=request.user)


@admin.register(Partnership)
class PartnershipAdmin(HistoryAdmin):
    list_display = ["organization", "project", "role", "stage", "owner_name", "last_contact"]
    list_filter = ["stage", "role", "project"]
    list_select_related = ["organization", "project", "owner"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    search_fields = ["organization__name", "organization__short_name", "project__name", "notes"]
    autocomplete_fields = ["organization", "project", "owner"]
    form = PartnershipAdminForm
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organization", "project", "role", "stage"]}),
        (_("Follow-through"), {"fields": ["owner", "contact_cadence_days", "notes", "source"]}),
        RECORD_FIELDSET,
    ]
    inlines = [StageChangeInline]
    actions = ["change_stage", "assign_owner"]
    change_form_template = "admin/crm/partnership/change_form.html"

    def get_queryset(self, request):
        today = clock.today()
        return (
            super()
            .get_queryset(request)
            .with_last_contact(today=today)
            .with_last_contact_precision(today=today)
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moves go through the "Change stage" action, which records them,
            # and the owner through "Assign owner", which tells the new one.
            fields += ["stage", "owner"]
        return fields

    def get_urls(self):
        return object_action_urls(self) + super().get_urls()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            # Only staff members own a partnership; the autocomplete may list
            # others, the field refuses them.
            kwargs["queryset"] = staff_members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("owner"), ordering="owner__last_name")
    def owner_name(self, partnership: Partnership) -> str:
        # A person's name, not the account's user name (issue 19).
        owner = partnership.owner
        return (owner.get_full_name() or owner.get_username()) if owner else "—"

    @admin.display(description=_("last contact"), ordering="last_contact_on")
    def last_contact(self, partnership: Partnership) -> str:
        # No more precise than the source: "late September 2023", not 01/09/2023.
        if partnership.last_contact_on is None:
            return "—"
        return precise_date(partnership.last_contact_on, partnership.last_contact_precision)

    def create_object(self, request, obj, form) -> None:
        create_partnership(obj, by=request.user)

    @admin.action(permissions=["change"], description=_("Change stage…"))
    def change_stage(self, request, queryset):
        form = ChangeStageForm(request.POST if action_confirmed(request) else None)
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
        return render_action_page(
            self,
            request,
            queryset,
            template="admin/crm/partnership/change_stage.html",
            action="change_stage",
            title=_("Change the stage of partnerships"),
            form=form,
        )

    @admin.action(permissions=["change"], description=_("Assign owner…"))
    def assign_owner(self, request, queryset):
        return run_state_action(
            self,
            request,
            queryset,
            action="assign_owner",
            form_class=AssignOwnerForm,
            title=_("Assign an owner to partnerships"),
            intro=_("Choose who follows the selected partnerships through."),
            submit_label=_("Assign owner"),
            call=lambda partnership, data: services.partnership_assign_owner(
                partnership=partnership,
                owner=data["owner"],
                reason=data["reason"],
                by=request.user,
            ),
            done_message=ngettext_lazy(
                "%(count)d partnership given its owner.",
                "%(count)d partnerships given their owner.",
                "count",
            ),
        )


class MoveFilter(admin.SimpleListFilter):
    """The overview's kinds of move: new, forward, back, withdrawn (``overview.move_q``)."""

    title = _("move")
    parameter_name = "move"

    def lookups(self, request, model_admin):
        return list(overview.Move.LABELS.items())

    def queryset(self, request, queryset):
        if self.value() in overview.Move.ALL:
            return queryset.filter(overview.move_q(self.value()))
        return queryset


class WithinFilter(admin.SimpleListFilter):
    """The overview's windows: the moves of the last 7, 30 or 90 days, as of today."""

    title = _("when")
    parameter_name = "within"

    def lookups(self, request, model_admin):
        return [
            (str(days), _("Last %(days)s days") % {"days": days})
            for days in overview.LINKED_WINDOWS
        ]

    def queryset(self, request, queryset):
        if self.value() in {str(days) for days in overview.LINKED_WINDOWS}:
            since = overview.moves_since(clock.today(), int(self.value()))
            return queryset.filter(changed_at__gte=since)
        return queryset


@admin.register(StageChange)
class StageChangeAdmin(IndexedSearchMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    """The log of stage moves: read only, written by partnership_change_stage."""

    list_display = ["partnership", "from_stage", "to_stage", "changed_at", "changed_by"]
    list_filter = [MoveFilter, WithinFilter, "partnership__project", "to_stage", "from_stage"]
    list_select_related = ["partnership__organization", "partnership__project", "changed_by"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    date_hierarchy = "changed_at"
    search_fields = [
        "partnership__organization__name",
        "partnership__project__name",
        "note",
    ]
    fields = ["partnership", "from_stage", "to_stage", "changed_at", "changed_by", "note"]
    # A partnership's first row comes from nowhere (from_stage ""): "— → Contacted".
    empty_value_display = "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
