"""What the serializers of every resource share: label fields, the colleague field, the base.

Writes are validated against the model's own rules (``CleanModelSerializer``,
whose ``full_clean`` checks the database constraints too), so that bad input is
a 400 naming the field and never an IntegrityError. Writes with a rule of their
own (completing a follow-up, moving a partnership) go through ``crm.services``.

Names of optional related records are read-only, allow_null and have no
default: DRF skips a field's default on partial updates (PATCH), which would
drop the key from the response and break the documented schema.

Each resource's own serializers live in the module named after it
(``follow_ups.py``, ``agreements.py``…).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm import services
from crm.roles import staff_members
from crm.security import is_ascii_int


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


class IdField(serializers.PrimaryKeyRelatedField):
    """The id of a related record: a JSON whole number, or ASCII digits in a string.

    DRF hands the value to the database lookup, where ``int()`` reads "٣" (an
    Arabic-Indic three), " 3" and 3.9 all as 3: a client that wrote them meant
    something else, or nothing. Every writable relation of the API is one of these
    (``CleanModelSerializer.serializer_related_field``).
    """

    default_error_messages = {"not_digits": _("Give the id in digits 0 to 9.")}

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not is_ascii_int(data):
                self.fail("not_digits")
        elif isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class UserField(IdField):
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

    # Ids of related records: ASCII digits only.
    serializer_related_field = IdField

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


def reason_field(*, required: bool, help_text):
    """Return the reason field of an action payload, as long as the history keeps."""
    return serializers.CharField(
        required=required,
        allow_blank=not required,
        default="" if not required else serializers.empty,
        max_length=services.REASON_MAX_LENGTH,
        label=_("reason"),
        help_text=help_text,
    )


# The payload of the status actions of commitments and agreements. (No docstring:
# drf-spectacular would publish it as the schema's description.)
class StatusNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", label=_("note"))
