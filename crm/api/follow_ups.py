"""API of follow-ups, the unit of staff work.

Status, assignee and due date move by actions (``…/complete/``, ``…/reassign/``,
``…/snooze/``…) that call ``crm.services``; PUT and PATCH change the other fields.
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from crm import clock, services
from crm.api.base import (
    VERSIONED_SCHEMA,
    CrmViewSet,
    ETagMixin,
    call_service,
    list_schema,
    record_action,
)
from crm.api.filters import BooleanFilter, UpdatedSinceMixin, UserOrMeFilter
from crm.api.serializers import (
    ChoiceLabelField,
    CleanModelSerializer,
    UserField,
    UserLabelField,
    reason_field,
)
from crm.managers import Deadline, deadline_q, is_overdue
from crm.models import FollowUp


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
            "is_demo",
            "completion_contact",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "completed_at",
            "completed_by",
            "completion_note",
            "is_demo",
            "completion_contact",
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
    contact = serializers.BooleanField(
        required=False,
        default=False,
        label=_("a contact with the partner"),
        help_text=_(
            "Log it as an interaction with the follow-up's organisation, dated the day it "
            "was done: it counts as the partnership's last contact."
        ),
    )


class ReassignFollowUpSerializer(serializers.Serializer):
    assignee = UserField(required=True, allow_null=False, label=_("new assignee"))
    reason = reason_field(required=False, help_text=_("Kept in the follow-up's history."))


class SnoozeFollowUpSerializer(serializers.Serializer):
    due_on = serializers.DateField(label=_("new due date"), help_text=_("Today or later."))
    reason = reason_field(required=True, help_text=_("Why it is put off; kept in its history."))


class ReasonSerializer(serializers.Serializer):
    reason = reason_field(required=True, help_text=_("Kept in the follow-up's history."))


class FollowUpFilter(UpdatedSinceMixin):
    status = filters.MultipleChoiceFilter(choices=FollowUp.Status.choices)
    assignee = UserOrMeFilter(label=_("Assignee: a user id, or “me”."))
    due_after = filters.DateFilter(
        field_name="due_on", lookup_expr="gte", label=_("Due on or after this date.")
    )
    due_before = filters.DateFilter(
        field_name="due_on", lookup_expr="lte", label=_("Due on or before this date.")
    )
    overdue = BooleanFilter(
        method="filter_overdue",
        label=_("Open, past its due date and not waiting on the partner."),
    )
    is_demo = BooleanFilter()
    deadline = filters.ChoiceFilter(
        choices=Deadline.choices,
        method="filter_deadline",
        label=_("Where it stands against today, as the dashboard groups it."),
    )

    class Meta:
        model = FollowUp
        fields = ["project", "organization", "person", "interaction", "priority"]

    def filter_overdue(self, queryset, name, value):
        overdue = deadline_q(Deadline.OVERDUE, today=clock.today())
        return queryset.filter(overdue if value else ~overdue)

    def filter_deadline(self, queryset, name, value):
        return queryset.deadline(value, today=clock.today())


@extend_schema_view(list=list_schema(FollowUpSerializer), **VERSIONED_SCHEMA)
class FollowUpViewSet(ETagMixin, CrmViewSet):
    """What the unit must do, by whom and when.

    Status, assignee and due date change through the actions (complete,
    reassign, snooze, mark-waiting, cancel, reopen); PUT and PATCH change the
    other fields.
    """

    queryset = FollowUp.objects.select_related(
        "project", "organization", "person", "assignee", "completed_by", "created_by"
    )
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    ordering_fields = ["due_on", "priority", "status", "title", "created_at", "updated_at"]
    ordering = ["due_on", "id"]
    export_basename = "follow-ups"
    change_actions = ["complete", "reassign", "snooze", "mark_waiting", "cancel", "reopen"]

    def perform_create(self, serializer) -> None:
        # The service checks the model's rules, records the creator (also in the
        # history) and tells the assignee, as for the pages and the admin.
        serializer.instance = call_service(
            services.follow_up_create, by=self.request.user, **serializer.validated_data
        )

    @record_action(
        FollowUpSerializer,
        CompleteFollowUpSerializer,
        _("Mark the follow-up done; the note says what was done."),
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None, format=None):
        return self.act(
            request,
            CompleteFollowUpSerializer,
            lambda follow_up, data, version: services.follow_up_complete(
                follow_up=follow_up,
                note=data["note"],
                contact=data["contact"],
                by=request.user,
                version=version,
            ),
            renames={"completion_note": "note"},
        )

    @record_action(
        FollowUpSerializer,
        ReassignFollowUpSerializer,
        _("Give the open follow-up to another member of staff, who is told by e-mail."),
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None, format=None):
        return self.act(
            request,
            ReassignFollowUpSerializer,
            lambda follow_up, data, version: services.follow_up_reassign(
                follow_up=follow_up,
                assignee=data["assignee"],
                reason=data["reason"],
                by=request.user,
                version=version,
            ),
        )

    @record_action(
        FollowUpSerializer,
        SnoozeFollowUpSerializer,
        _("Move the open follow-up's due date to today or later, saying why."),
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None, format=None):
        return self.act(
            request,
            SnoozeFollowUpSerializer,
            lambda follow_up, data, version: services.follow_up_snooze(
                follow_up=follow_up,
                due_on=data["due_on"],
                reason=data["reason"],
                by=request.user,
                version=version,
            ),
        )

    @record_action(
        FollowUpSerializer,
        None,
        _("Record that the next move is the partner's (status “waiting on partner”)."),
    )
    @action(detail=True, methods=["post"], url_path="mark-waiting")
    def mark_waiting(self, request, pk=None, format=None):
        return self.act(
            request,
            None,
            lambda follow_up, data, version: services.follow_up_mark_waiting(
                follow_up=follow_up, by=request.user, version=version
            ),
        )

    @record_action(
        FollowUpSerializer,
        ReasonSerializer,
        _("Cancel the open follow-up: nothing more will be done. The reason is kept."),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, format=None):
        return self.act(
            request,
            ReasonSerializer,
            lambda follow_up, data, version: services.follow_up_cancel(
                follow_up=follow_up, reason=data["reason"], by=request.user, version=version
            ),
        )

    @record_action(
        FollowUpSerializer,
        ReasonSerializer,
        _(
            "Open a done or cancelled follow-up again, saying why. Its completion (when, "
            "by whom, what was done) is cleared; the history keeps it."
        ),
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None, format=None):
        return self.act(
            request,
            ReasonSerializer,
            lambda follow_up, data, version: services.follow_up_reopen(
                follow_up=follow_up, reason=data["reason"], by=request.user, version=version
            ),
        )
