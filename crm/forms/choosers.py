"""Fields that choose among the whole directory without listing it.

A ``<select>`` of every organisation cost 2 s at a million follow-ups (24,000
options, each through its template). These fields render only what is chosen,
beside a search box:

- with JavaScript (``crm/static/crm/choose.js``), the box is a combobox whose
  list comes from ``/choose/<kind>/?q=…`` as one types;
- without it, a name typed in the box is looked up when the form is sent: the
  one record it means is chosen, or the form comes back with the matches
  offered in the list, to pick one and send again.

Either way what is posted is checked by primary key against the field's
queryset, as any ``ModelChoiceField``.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import choosers
from crm.search import MAX_QUERY_LENGTH

# The search box's name: the field's name and this.
SEARCH_SUFFIX = "__q"


class Typed(str):
    """A name typed in a chooser's box and sent without picking (no JavaScript)."""


def _split(values) -> tuple[list[str], str]:
    """Return the chosen primary keys and the name typed, from a widget's value."""
    if values is None:
        values = []
    elif not isinstance(values, list | tuple):
        values = [values]
    typed = next((value for value in values if isinstance(value, Typed)), "")
    chosen = [
        # A disabled field's value is its initial records.
        str(value.pk) if hasattr(value, "_meta") else str(value)
        for value in values
        if value not in (None, "") and not isinstance(value, Typed)
    ]
    return chosen, typed


class ChooserWidget(forms.Select):
    """A list of the chosen records only, with a box to find others by name."""

    class Media:
        js = [forms.widgets.Script("crm/choose.js", defer=True)]

    def __init__(self, kind: str, attrs=None):
        super().__init__(attrs)
        self.kind = kind

    def value_from_datadict(self, data, files, name):
        if self.allow_multiple_selected:
            try:
                values = list(data.getlist(name))
            except AttributeError:
                values = list(data.get(name) or [])
        else:
            values = [data.get(name)]
        typed = (data.get(name + SEARCH_SUFFIX) or "").strip()[:MAX_QUERY_LENGTH]
        chosen = [value for value in values if value not in (None, "")]
        if typed:
            chosen.append(Typed(typed))
        if self.allow_multiple_selected:
            return chosen
        # One choice: a name typed replaces what was chosen before.
        return Typed(typed) if typed else (chosen[0] if chosen else None)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and name + SEARCH_SUFFIX not in data

    def format_value(self, value):
        # Kept whole: optgroups() needs to tell a typed name from a key.
        chosen, typed = _split(value)
        return [*chosen, *([typed] if typed else [])]

    def optgroups(self, name, value, attrs=None):
        """Return the options of the chosen records and of a typed name's matches only."""
        chosen, typed = _split(value)
        iterator = self.choices
        records = []
        if chosen:
            keys = [key for key in chosen if _is_key(iterator.queryset, key)]
            if keys:
                rows = iterator.queryset.filter(pk__in=keys)
                found = {str(record.pk): record for record in rows}
                records = [found[key] for key in dict.fromkeys(keys) if key in found]
        offered = []
        if typed:
            shown = {record.pk for record in records}
            offered = [
                record
                for record in choosers.find(self.kind, typed, queryset=iterator.queryset)
                if record.pk not in shown
            ]
        options = []
        if not self.allow_multiple_selected and iterator.field.empty_label is not None:
            options.append(self.create_option(name, "", iterator.field.empty_label, False, 0))
        for index, record in enumerate([*records, *offered], start=len(options)):
            value_, label = iterator.choice(record)
            options.append(
                self.create_option(name, value_, label, record in records, index, attrs=attrs)
            )
        return [(None, options, 0)]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        _chosen, typed = _split(value)
        context["typed"] = typed
        return context

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        select = self._render(self.template_name, context, renderer)
        widget = context["widget"]
        if widget["attrs"].get("disabled"):
            return select
        box_id = f"{widget['attrs'].get('id', name)}{SEARCH_SUFFIX}"
        kind = choosers.KINDS[self.kind]
        return format_html(
            '<div class="choose" data-choose-url="{url}" data-no-match="{no_match}" '
            'data-remove="{remove}" data-results="{results}" data-searching="{searching}">'
            '<input type="search" class="choose-box" name="{box_name}" id="{box_id}" '
            'value="{typed}" maxlength="{maxlength}" autocomplete="off" '
            'placeholder="{placeholder}" aria-label="{aria_label}">'
            '<small class="help choose-help">{help}</small>{select}</div>',
            url=reverse("choose", args=[self.kind]),
            no_match=_("Nothing matches."),
            remove=_("Remove"),
            results=_("Matches found: %(count)s. Arrows to move, Enter to choose."),
            searching=_("Searching…"),
            box_name=name + SEARCH_SUFFIX,
            box_id=box_id,
            typed=context["typed"],
            maxlength=MAX_QUERY_LENGTH,
            placeholder=kind.placeholder,
            aria_label=_("Find by name"),
            help=_("Type a name, then save: if several match, choose one in the list."),
            select=select,
        )


class ChooserMultipleWidget(ChooserWidget, forms.SelectMultiple):
    allow_multiple_selected = True

    def value_omitted_from_data(self, data, files, name):
        # As SelectMultiple: nothing chosen sends nothing, which is not "omitted".
        return False


def _is_key(queryset, key) -> bool:
    """Tell whether ``key`` can be a primary key of ``queryset``'s table.

    Checked before any query: SQLite cannot even compare a number past 64 bits.
    """
    field = queryset.model._meta.pk
    try:
        value = field.to_python(key)
    except ValidationError:
        return False
    if isinstance(value, int):
        low, high = connections[queryset.db].ops.integer_field_range(field.get_internal_type())
        return (low is None or value >= low) and (high is None or value <= high)
    return True


def _typed_error(query: str, records: list) -> ValidationError:
    if records:
        return ValidationError(
            _("Several records match “%(query)s”: choose one in the list."),
            code="ambiguous",
            params={"query": query},
        )
    return ValidationError(
        _("Nothing matches “%(query)s”."), code="no_match", params={"query": query}
    )


class ChooserField(forms.ModelChoiceField):
    """One record of ``kind``, chosen by name (``crm.choosers``), sent by primary key."""

    def __init__(self, kind: str, queryset=None, **kwargs):
        if queryset is None:
            queryset = choosers.KINDS[kind].model._default_manager.all()
        kwargs.setdefault("widget", ChooserWidget(kind))
        super().__init__(queryset, **kwargs)
        self.kind = kind

    def to_python(self, value):
        if isinstance(value, Typed):
            records = choosers.find(self.kind, value, queryset=self.queryset)
            record = choosers.the_one_meant(records, value)
            if record is None:
                raise _typed_error(value, records)
            return record
        # A disabled field's value is its initial record, not a key.
        is_record = isinstance(value, self.queryset.model)
        if value not in self.empty_values and not is_record and not _is_key(self.queryset, value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)

    def has_changed(self, initial, data):
        if isinstance(data, Typed):
            return True
        return super().has_changed(initial, data)


class ChooserMultipleField(forms.ModelMultipleChoiceField):
    """Records of ``kind``, chosen by name (``crm.choosers``), sent by primary key."""

    def __init__(self, kind: str, queryset=None, **kwargs):
        if queryset is None:
            queryset = choosers.KINDS[kind].model._default_manager.all()
        kwargs.setdefault("widget", ChooserMultipleWidget(kind))
        super().__init__(queryset, **kwargs)
        self.kind = kind

    def clean(self, value):
        chosen, typed = _split(value)
        if typed:
            records = choosers.find(self.kind, typed, queryset=self.queryset)
            record = choosers.the_one_meant(records, typed)
            if record is None:
                raise _typed_error(typed, records)
            chosen.append(str(record.pk))
        for key in chosen:
            if not _is_key(self.queryset, key):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": key},
                )
        return super().clean(chosen)

    def has_changed(self, initial, data):
        chosen, typed = _split(data)
        return bool(typed) or super().has_changed(initial, chosen)


def use_chooser(form: forms.BaseForm, name: str, kind: str) -> None:
    """Make a model form's generated field ``name`` a chooser of ``kind``, keeping its settings."""
    old = form.fields[name]
    multiple = isinstance(old, forms.ModelMultipleChoiceField)
    field_class = ChooserMultipleField if multiple else ChooserField
    kwargs = {}
    if not multiple:
        kwargs["empty_label"] = old.empty_label
    form.fields[name] = field_class(
        kind,
        queryset=old.queryset,
        required=old.required,
        label=old.label,
        help_text=old.help_text,
        disabled=old.disabled,
        initial=old.initial,
        limit_choices_to=old.limit_choices_to,
        **kwargs,
    )
