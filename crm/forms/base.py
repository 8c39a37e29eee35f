"""What the forms of several concepts share: versioned forms, the reason of a change, spans."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.versions import StaleVersion, version_of


def check_span(form: forms.Form, start: str, end: str) -> None:
    """Add an error on ``end`` when it falls before ``start``."""
    start_on = form.cleaned_data.get(start)
    end_on = form.cleaned_data.get(end)
    if start_on and end_on and end_on < start_on:
        form.add_error(end, _("The end cannot come before the start."))


class VersionedModelForm(forms.ModelForm):
    """A model form that carries the version it was opened on and saves only what it changed.

    Saving goes through ``crm.services.record_update``: a form opened on a
    version that someone has since replaced raises ``StaleVersion`` instead of
    writing the old values back over the new ones. Fields that carry a
    workflow's state (``crm.services.STATE_FIELDS``) are never saved here: a
    form shows them read-only and the services change them.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    # Set by forms whose whole request runs in one transaction (the admin's):
    # the version is then checked while validating, under the row lock that
    # the save keeps using, so that a stale copy is a form error.
    lock_on_clean = False
    # Where the reader reloads the record (the link in the stale message).
    reload_url = ""

    # The version the form shows, when its instance is not the current record
    # (the admin's history page fills the form from an old version, and its
    # unchanged fields are what is to be written back).
    opened_on = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = None
        if self.instance.pk is not None:
            self.fields["version"].initial = self.opened_on or version_of(self.instance)

    def clean(self):
        cleaned_data = super().clean()
        version = cleaned_data.get("version")
        if self.instance.pk is not None and not version:
            # A form posted without its version may be a copy of any age. Said
            # above the fields: the version's own field is hidden.
            raise forms.ValidationError(
                _("The form lost track of its version: reload the page."), code="no_version"
            )
        # An unchanged form (an inline row left alone) writes nothing: no lock.
        # A stale one has changed: its version differs from the record's.
        changed = self.has_changed() or bool(self.opened_on)
        if self.lock_on_clean and self.instance.pk is not None and version and changed:
            try:
                self.locked = services.lock_for_update(self.instance, version=version)
            except StaleVersion as stale:
                raise forms.ValidationError(
                    stale.message(reload_url=self.reload_url or self.instance_url()),
                    code="stale",
                ) from None
        return cleaned_data

    def instance_url(self) -> str:
        get_url = getattr(self.instance, "get_absolute_url", None)
        return get_url() if get_url else ""

    def edited_fields(self) -> list[str]:
        """Name the model fields this form may write (not its state fields)."""
        model = self._meta.model
        state = services.STATE_FIELDS.get(model, frozenset())
        concrete = {field.name for field in model._meta.concrete_fields if not field.primary_key}
        return [
            name
            for name in self.fields
            if name in concrete and name not in state and not self.fields[name].disabled
        ]

    def save_by(self, *, by, reason: str = ""):
        """Create the record, or save only the fields this form changed; return it."""
        if self.instance.pk is None:
            instance = self.save(commit=False)
            services.record_create(instance=instance, by=by, reason=reason)
            self.save_m2m()
            return instance
        instance = self.save_changes(by=by, reason=reason)
        many = {field.name for field in self._meta.model._meta.many_to_many}
        for name in self.fields:
            if name in many and not self.fields[name].disabled:
                getattr(instance, name).set(self.cleaned_data[name])
        return instance

    def save_changes(self, *, by, reason: str = ""):
        """Write the fields of an existing record that differ from it; return the record.

        Every field of the form is compared with the row read under lock, and
        only those that differ are written: on the version the form was opened
        on, that is exactly what the user changed. Many-to-many fields are the
        caller's (``save_by`` sets them, the admin's ``save_related`` too).
        """
        if self.locked is None and not self.has_changed():
            return self.instance
        return services.record_update(
            instance=self.locked or self.instance,
            changes={name: self.cleaned_data[name] for name in self.edited_fields()},
            by=by,
            version=None if self.locked else self.cleaned_data["version"],
            reason=reason,
            locked=self.locked is not None,
        )


class VersionedAdminForm(VersionedModelForm):
    """The admin's change forms and inline rows: the version is checked while validating.

    The admin validates and saves in one transaction, so the row locked here
    stays locked until the save.
    """

    lock_on_clean = True


class VersionedActionForm(forms.Form):
    """A staff page's action on a follow-up, carrying the version it was shown.

    The service refuses it (``StaleVersion``) when someone changed the
    follow-up since: a snooze or reassignment decided on an old state of the
    work must not silently override a newer one.
    """

    version = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("The form lost track of its version: reload the page."),
        },
    )


class ReasonForm(forms.Form):
    """The reason of a state change, kept in the record's history."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=services.REASON_MAX_LENGTH,
        help_text=_("Kept in the history, with your name and the time."),
    )
