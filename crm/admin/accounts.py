"""User accounts, staff profiles, API tokens and the log of digests sent."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import roles
from crm.admin.changelist import BoundedDateHierarchyMixin
from crm.models import ApiToken, DigestLog, StaffProfile

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin, where Coordination manages accounts without owning the site.

    Coordination adds colleagues and gives them a role (group); only a superuser
    may make a superuser, grant permissions one by one, or touch a superuser's
    account (its password included), so no coordinator can raise their own rights.
    """

    SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")

    # Whoever changes these of an account can take it over (a password reset
    # goes to the e-mail address), so they are guarded like the password.
    IDENTITY_FIELDS = ("username", "email")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return readonly
        readonly = (*readonly, *self.SUPERUSER_ONLY_FIELDS)
        if obj is not None and obj.pk != request.user.pk and roles.is_coordination(obj):
            readonly = (*readonly, *self.IDENTITY_FIELDS)
        return readonly

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        """Refuse to set a coordinator's or superuser's password for them.

        Whoever sets it can log in as them, and every change they then make is
        recorded under the victim's name: only a superuser, or the person, may.
        """
        user = self.get_object(request, unquote(id))
        if (
            user is not None
            and user.pk != request.user.pk
            and not request.user.is_superuser
            and (user.is_superuser or roles.is_coordination(user))
        ):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    """Each person's CRM preferences; tied to its user for good.

    The user is never changed here (re-linking a profile would hand over its
    calendar address); only Coordination, or the person, changes a profile.
    """

    list_display = ["user", "language"]
    list_filter = ["language"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    fields = ["user", "language"]
    readonly_fields = ["user"]

    def has_add_permission(self, request) -> bool:
        # Profiles are made on first use (StaffProfile.for_user), never by hand.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.user_id == request.user.pk or roles.is_coordination(request.user)


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
class DigestLogAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
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
