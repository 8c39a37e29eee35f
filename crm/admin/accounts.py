"""User accounts, staff profiles, API tokens and the log of digests sent."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models.constants import LOOKUP_SEP
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import roles
from crm.admin.changelist import BoundedDateHierarchyMixin, IndexedSearchMixin
from crm.models import ApiToken, DigestLog, StaffProfile

User = get_user_model()
admin.site.unregister(User)


class SecretColumnsMixin:
    """Refuse changelist lookups on the columns that hold secrets (400).

    A lookup filters the rows shown, so ``?calendar_token__startswith=a`` tells
    whether someone's secret starts with "a": one character at a time, anyone
    who may see the list could spell it out.
    """

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.register(User)
class StaffUserAdmin(IndexedSearchMixin, UserAdmin):
    """Django's user admin, where Coordination manages accounts without owning the site.

    Coordination adds colleagues and gives them a role (group). A non-superuser
    changes nothing of a superuser's or another coordinator's account, nor of
    one holding a right they lack: not its role, flags, e-mail or password
    (``roles.can_manage_account``, which also guards the password form). They
    give only roles within their own rights; only a superuser may make a
    superuser or grant permissions one by one. So no coordinator can take over
    a peer or raise their own rights.
    """

    SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return readonly
        return (*readonly, *self.SUPERUSER_ONLY_FIELDS)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not roles.can_manage_account(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = roles.grantable_groups(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(StaffProfile)
class StaffProfileAdmin(IndexedSearchMixin, SecretColumnsMixin, admin.ModelAdmin):
    """Each person's CRM preferences; tied to its user for good.

    The user is never changed here (re-linking a profile would hand over its
    calendar address); only Coordination, or the person, changes a profile.
    """

    list_display = ["user", "language", "weekly_summary"]
    list_filter = ["language", "weekly_summary"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    fields = ["user", "language", "weekly_summary"]
    readonly_fields = ["user"]
    secret_fields = ("calendar_token",)

    def has_add_permission(self, request) -> bool:
        # Profiles are made on first use (StaffProfile.for_user), never by hand.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.user_id == request.user.pk or roles.is_coordination(request.user)


# API tokens.


class ApiTokenAdminForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        current = self.instance.expires_at
        if current is not None and (expires_at is None or expires_at > current):
            raise forms.ValidationError(
                _(
                    "The expiry can only be brought forward, to stop the key sooner; "
                    "for more time, its holder makes a new key."
                ),
                code="later",
            )
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(IndexedSearchMixin, SecretColumnsMixin, admin.ModelAdmin):
    """Everyone's API tokens, for Coordination to review and revoke.

    The hash is never shown, and a token is never made here: its key must be
    shown once to its holder, which only their token page does. A key is
    stopped, never revived: its expiry only comes forward, and is read-only once
    it has passed or the key is revoked; its holder makes a new key instead.
    """

    form = ApiTokenAdminForm
    secret_fields = ("key_hash",)

    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username", "user__last_name"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and (obj.is_revoked or obj.is_expired(now=timezone.now())):
            return [*readonly, "expires_at"]
        return readonly

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
class DigestLogAdmin(IndexedSearchMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    """Who got which daily digest or weekly summary, when, and which failed: send_digests only."""

    list_display = [
        "user",
        "kind",
        "digest_on",
        "status",
        "overdue",
        "due_soon",
        "waiting",
        "stale",
        "attempts",
        "sent_at",
    ]
    list_filter = ["kind", "status", "digest_on"]
    list_select_related = ["user"]
    date_hierarchy = "digest_on"
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    fields = [
        "user",
        "kind",
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
