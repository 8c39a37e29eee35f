"""Serializers: explicit fields, ids plus readable labels for related records.

Writes are validated against the model's own rules (``full_clean``, which checks
the database constraints too), so that bad input is a 400 naming the field and
never an IntegrityError. Writes with a rule of their own (completing a
follow-up, moving a partnership) go through ``crm.services``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm import clock, services
from crm.managers import is_overdue
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
    StageChange,
)
from crm.roles import staff_members


def user_label(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def django_errors_to_drf(error: DjangoValidationError) -> ValidationError:
    """Turn a Django ValidationError into DRF's, keeping the field names."""
    if hasattr(error, "error_dict"):
        detail = {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
        return ValidationError(detail)
    return ValidationError({"non_field_errors": error.messages})


class UserLabelField(serializers.CharField):
    """The readable name of a related user: full name, else user name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return user_label(value)


class ChoiceLabelField(serializers.CharField):
    """The label of a choice field, in the request's language."""

    def __init__(self, choice_field: str, **kwargs):
        kwargs["source"] = f"get_{choice_field}_display"
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        # Call get_<field>_display directly: DRF's generic lookup inspects the
        # method's signature on every row, the largest cost of a big export.
        *related, method = self.source_attrs
        for attr in related:
            instance = getattr(instance, attr)
        return getattr(instance, method)()


class UserField(serializers.PrimaryKeyRelatedField):
    """A colleague who may be given work: an assignee, an owner, a lead."""

    def __init__(self, **kwargs):
        # The one rule of who may be given work, as on the pages and in the admin.
        kwargs.setdefault("queryset", staff_members())
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class CleanModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that checks the model's rules before saving.

    Fields that carry a workflow's state (``state_actions``) are set when the
    record is created, then change only through their action: an update that
    sends another value is a 400 naming the field and the action; one that
    sends the current value is accepted and changes nothing.
    """

    # Field name -> the message naming the action that changes it.
    state_actions: dict = {}

    def validate(self, attrs):
        if self.instance is not None:
            attrs = self._drop_unchanged_state(attrs)
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = model() if self.instance is None else self._copy(self.instance)
        concrete = {field.name for field in model._meta.concrete_fields}
        for name, value in attrs.items():
            if name in concrete:
                setattr(instance, name, value)
        self.prepare_for_clean(instance, attrs)
        written = {
            field.source
            for field in self.fields.values()
            if not field.read_only and field.source in concrete
        }
        written |= self.clean_also
        try:
            instance.full_clean(exclude=concrete - written)
        except DjangoValidationError as error:
            raise django_errors_to_drf(error) from error
        return attrs

    def _drop_unchanged_state(self, attrs):
        errors = {}
        for name, message in self.state_actions.items():
            if name not in attrs:
                continue
            value = attrs.pop(name)
            field = self.Meta.model._meta.get_field(name)
            current = getattr(self.instance, field.attname)
            if (value.pk if hasattr(value, "pk") else value) != current:
                errors[name] = [message]
        if errors:
            raise ValidationError(errors)
        return attrs

    # Model fields that are not in the request but whose rules must still be
    # checked, e.g. a FollowUp's status together with the completion fields.
    clean_also: set = set()

    def prepare_for_clean(self, instance, attrs) -> None:
        """Set what the save will set, so that the model's rules see it."""

    @staticmethod
    def _copy(instance):
        copy = type(instance)()
        for field in instance._meta.concrete_fields:
            setattr(copy, field.attname, getattr(instance, field.attname))
        copy._state.adding = False
        copy._state.db = instance._state.db
        return copy


# Names of optional related records are read-only, allow_null and have no
# default: DRF skips a field's default on partial updates (PATCH), which would
# drop the key from the response and break the documented schema.


class OrganizationSerializer(CleanModelSerializer):
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    source_title = serializers.CharField(
        source="source.title", read_only=True, allow_null=True, label=_("source")
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "slug",
            "name",
            "short_name",
            "kind",
            "kind_label",
            "country",
            "city",
            "website",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
            "source",
            "source_title",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class PersonSerializer(CleanModelSerializer):
    full_name = serializers.CharField(read_only=True, label=_("name"))
    preferred_language_label = ChoiceLabelField(
        "preferred_language", label=_("preferred language (label)")
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "slug",
            "given_name",
            "family_name",
            "full_name",
            "email",
            "phone",
            "preferred_language",
            "preferred_language_label",
            "notes",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AffiliationSerializer(CleanModelSerializer):
    person_name = serializers.CharField(
        source="person.full_name", read_only=True, label=_("person (name)")
    )
    organization_name = serializers.CharField(
        source="organization.name", read_only=True, label=_("organisation (name)")
    )
    is_active = serializers.BooleanField(read_only=True, label=_("active"))

    class Meta:
        model = Affiliation
        fields = [
            "id",
            "person",
            "person_name",
            "organization",
            "organization_name",
            "title",
            "start_on",
            "end_on",
            "is_primary",
            "is_active",
            "source",
        ]


class ProjectSerializer(CleanModelSerializer):
    programme_name = serializers.CharField(
        source="programme.name", read_only=True, label=_("programme (name)")
    )
    sector_label = ChoiceLabelField("sector", label=_("sector (label)"))
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    lead = UserField(label=_("lead"))
    lead_name = UserLabelField(source="lead", label=_("lead (name)"))

    class Meta:
        model = Project
        fields = [
            "id",
            "code",
            "name",
            "programme",
            "programme_name",
            "sector",
            "sector_label",
            "status",
            "status_label",
            "description",
            "lead",
            "lead_name",
            "source",
        ]


class MissionSerializer(CleanModelSerializer):
    organizer_name = serializers.CharField(
        source="organizer.name",
        read_only=True,
        allow_null=True,
        label=_("organiser (name)"),
    )

    class Meta:
        model = Mission
        fields = [
            "id",
            "slug",
            "title",
            "start_on",
            "end_on",
            "date_precision",
            "organizer",
            "organizer_name",
            "cities",
            "objectives",
            "description",
            "source",
        ]


class InteractionSerializer(CleanModelSerializer):
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    mission_title = serializers.CharField(
        source="mission.title",
        read_only=True,
        allow_null=True,
        label=_("mission (title)"),
    )
    organizations = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Organization.objects.all(), label=_("organisations")
    )
    organization_names = serializers.SerializerMethodField(label=_("organisations (names)"))
    people = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Person.objects.all(), required=False, label=_("people met")
    )
    staff = serializers.PrimaryKeyRelatedField(
        many=True,
        # Colleagues of the unit, as the pages and the admin offer them.
        queryset=staff_members(),
        required=False,
        label=_("staff present"),
    )
    projects = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Project.objects.all(), required=False, label=_("projects discussed")
    )
    created_by = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, label=_("created by")
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "slug",
            "kind",
            "kind_label",
            "mission",
            "mission_title",
            "occurred_on",
            "date_precision",
            "city",
            "title",
            "summary",
            "outcome",
            "organizations",
            "organization_names",
            "people",
            "staff",
            "projects",
            "source",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_organization_names(self, interaction) -> list[str]:
        # From the prefetched organisations: no query per row.
        return [organization.name for organization in interaction.organizations.all()]

    def validate_organizations(self, value):
        if not value:
            raise ValidationError(_("Name at least one organisation."))
        return value

    def create(self, validated_data):
        # One transaction with the participants, like the admin and the pages.
        return services.interaction_log(
            by=validated_data.pop("created_by", None), **validated_data
        )


class PartnershipSerializer(CleanModelSerializer):
    organization_name = serializers.CharField(
        source="organization.name", read_only=True, label=_("organisation (name)")
    )
    project_name = serializers.CharField(
        source="project.name", read_only=True, label=_("project (name)")
    )
    role_label = ChoiceLabelField("role", label=_("role (label)"))
    stage = serializers.ChoiceField(
        choices=Partnership.Stage.choices,
        required=False,
        label=_("stage"),
        help_text=_("Set when the partnership is created; later moves use change-stage."),
    )
    stage_label = ChoiceLabelField("stage", label=_("stage (label)"))
    owner = UserField(
        label=_("owner"),
        help_text=_("Set when the partnership is created; later changes use assign-owner."),
    )
    owner_name = UserLabelField(source="owner", label=_("owner (name)"))
    last_contact_on = serializers.DateField(
        read_only=True, allow_null=True, label=_("last contact")
    )
    contact_due_on = serializers.DateField(
        read_only=True, allow_null=True, label=_("next contact due")
    )

    class Meta:
        model = Partnership
        fields = [
            "id",
            "organization",
            "organization_name",
            "project",
            "project_name",
            "role",
            "role_label",
            "stage",
            "stage_label",
            "owner",
            "owner_name",
            "contact_cadence_days",
            "last_contact_on",
            "contact_due_on",
            "notes",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    state_actions = {
        "stage": _("Move a partnership with the change-stage action, which records the move."),
        "owner": _("Give a partnership to another owner with the assign-owner action."),
    }


class ChangeStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Partnership.Stage.choices, label=_("new stage"))
    note = serializers.CharField(required=False, allow_blank=True, default="", label=_("note"))


def reason_field(*, required: bool, help_text):
    return serializers.CharField(
        required=required,
        allow_blank=not required,
        default="" if not required else serializers.empty,
        max_length=services.REASON_MAX_LENGTH,
        label=_("reason"),
        help_text=help_text,
    )


class AssignOwnerSerializer(serializers.Serializer):
    owner = UserField(required=True, label=_("new owner"), help_text=_("null: nobody."))
    reason = reason_field(required=False, help_text=_("Kept in the partnership's history."))


class StageChangeSerializer(serializers.ModelSerializer):
    partnership_label = serializers.CharField(
        source="partnership.__str__", read_only=True, label=_("partnership (name)")
    )
    organization = serializers.IntegerField(
        source="partnership.organization_id", read_only=True, label=_("organisation")
    )
    project = serializers.IntegerField(
        source="partnership.project_id", read_only=True, label=_("project")
    )
    from_stage_label = ChoiceLabelField("from_stage", label=_("from (label)"))
    to_stage_label = ChoiceLabelField("to_stage", label=_("to (label)"))
    changed_by_name = UserLabelField(source="changed_by", label=_("changed by (name)"))

    class Meta:
        model = StageChange
        fields = [
            "id",
            "partnership",
            "partnership_label",
            "organization",
            "project",
            "from_stage",
            "from_stage_label",
            "to_stage",
            "to_stage_label",
            "changed_at",
            "changed_by",
            "changed_by_name",
            "note",
        ]
        read_only_fields = fields


class FollowUpSerializer(CleanModelSerializer):
    project_name = serializers.CharField(
        source="project.name", read_only=True, label=_("project (name)")
    )
    organization_name = serializers.CharField(
        source="organization.name",
        read_only=True,
        allow_null=True,
        label=_("organisation (name)"),
    )
    person_name = serializers.CharField(
        source="person.full_name",
        read_only=True,
        allow_null=True,
        label=_("person (name)"),
    )
    assignee = UserField(
        label=_("assignee"),
        help_text=_("Set when the follow-up is created; later changes use reassign."),
    )
    assignee_name = UserLabelField(source="assignee", label=_("assignee (name)"))
    status = serializers.ChoiceField(
        choices=FollowUp.Status.choices,
        required=False,
        label=_("status"),
        help_text=_(
            "Set when the follow-up is created (any status but “done”); later changes use "
            "complete, mark-waiting, cancel and reopen."
        ),
    )
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    priority_label = ChoiceLabelField("priority", label=_("priority (label)"))
    is_overdue = serializers.SerializerMethodField(label=_("overdue"))
    completed_by_name = UserLabelField(source="completed_by", label=_("completed by (name)"))
    created_by = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, label=_("created by")
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "title",
            "description",
            "project",
            "project_name",
            "organization",
            "organization_name",
            "person",
            "person_name",
            "interaction",
            "assignee",
            "assignee_name",
            "due_on",
            "status",
            "status_label",
            "priority",
            "priority_label",
            "is_overdue",
            "completed_at",
            "completed_by",
            "completed_by_name",
            "completion_note",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "completed_at",
            "completed_by",
            "completion_note",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "due_on": {
                "help_text": _("Set when the follow-up is created; later moves use snooze.")
            }
        }

    clean_also = {"completed_at", "completion_note"}
    state_actions = {
        "status": _("Change the status with the complete, mark-waiting, cancel or reopen action."),
        "assignee": _("Give the follow-up to someone else with the reassign action."),
        "due_on": _("Move the due date with the snooze action, which records why."),
    }

    # What row_<name> reads from a list's values() rows (crm/api/rows.py).
    row_columns = {"is_overdue": ("status", "due_on")}

    def today(self):
        """Return "today" once per serializer (so once per page or export), not per row."""
        today = self.context.get("today")
        if today is None:
            if "_today" not in self.__dict__:
                self._today = clock.today()
            today = self._today
        return today

    def get_is_overdue(self, follow_up) -> bool:
        return follow_up.is_overdue(today=self.today())

    def row_is_overdue(self, row) -> bool:
        return is_overdue(status=row["status"], due_on=row["due_on"], today=self.today())

    def validate_status(self, value):
        if self.instance is None and value == FollowUp.Status.DONE:
            raise ValidationError(
                _("Mark a follow-up done with the complete action, which needs a note.")
            )
        return value


class CompleteFollowUpSerializer(serializers.Serializer):
    note = serializers.CharField(label=_("what was done"), allow_blank=False)


class ReassignFollowUpSerializer(serializers.Serializer):
    assignee = UserField(required=True, allow_null=False, label=_("new assignee"))
    reason = reason_field(required=False, help_text=_("Kept in the follow-up's history."))


class SnoozeFollowUpSerializer(serializers.Serializer):
    due_on = serializers.DateField(label=_("new due date"), help_text=_("Today or later."))
    reason = reason_field(required=True, help_text=_("Why it is put off; kept in its history."))


class ReasonSerializer(serializers.Serializer):
    reason = reason_field(required=True, help_text=_("Kept in the follow-up's history."))
