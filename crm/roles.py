"""The roles of the unit and the permissions each one holds.

The groups themselves are created by a data migration; their permissions are
recomputed from the rules below after every ``migrate``, so that new models are
covered and no grant drifts.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

COORDINATION = "Coordination"
STAFF = "Staff"
READ_ONLY = "Read-only"
# The data-protection officer: given, on top of their own role, to the members
# of Coordination who answer people's requests under law n° 2019-014.
DATA_PROTECTION = "Data protection"
ROLES = [COORDINATION, STAFF, READ_ONLY, DATA_PROTECTION]

# How each role is called on screen; the group's name in the database stays.
ROLE_LABELS = {
    COORDINATION: _("Coordination"),
    STAFF: _("Staff"),
    READ_ONLY: _("Read-only"),
    DATA_PROTECTION: _("Data protection"),
}


def role_label(group: Group) -> str:
    """Return a group's name as shown to people: translated for the three roles."""
    return str(ROLE_LABELS.get(group.name, group.name))


# Everyone manages their own API tokens on their token page; in the admin, where
# all users' tokens are listed, only Coordination sees and revokes them.
# The export log is an audit of everyone, for Coordination alone as well; so are
# the export jobs in the admin (each requester follows their own on its page).
COORDINATION_ONLY_MODELS = ["apitoken", "exportlog", "exportjob", "importjob", "scheduledrun"]
# Everyone reads these; only Coordination enters or changes them (exchange
# rates convert every total, so they are the unit's figures, not anyone's).
COORDINATION_WRITES_MODELS = ["exchangerate"]
# Who asked for their data or their erasure is the data-protection officer's
# to know, and answering is theirs alone.
DATA_PROTECTION_MODELS = ["privacyrequest", "personread"]
DATA_PROTECTION_CODENAMES = ["answer_privacy_requests"]


def role_permissions(role: str):
    """Return the permissions a role should hold."""
    crm = Permission.objects.filter(content_type__app_label="crm")
    if role == DATA_PROTECTION:
        return crm.filter(
            Q(codename__in=DATA_PROTECTION_CODENAMES)
            | Q(content_type__model__in=DATA_PROTECTION_MODELS)
            | Q(codename="view_person")
        )
    crm = crm.exclude(codename__in=DATA_PROTECTION_CODENAMES).exclude(
        content_type__model__in=DATA_PROTECTION_MODELS
    )
    # Everyone picks colleagues as assignees and owners: the admin's user
    # autocomplete needs the permission to view users.
    view_users = Permission.objects.filter(content_type__app_label="auth", codename="view_user")
    if role == COORDINATION:
        # Accounts and their roles, never the permissions themselves: with
        # change_group or add_permission a coordinator could grant anything.
        accounts = Permission.objects.filter(
            content_type__app_label="auth",
            codename__in=["view_user", "add_user", "change_user", "view_group"],
        )
        # Login lock-outs (django-axes): see them, and unlock by deleting them.
        logins = Permission.objects.filter(
            content_type__app_label="axes",
            codename__in=["view_accessattempt", "delete_accessattempt", "view_accesslog"],
        )
        # The job queue (django-tasks-db's read-only admin): what runs, waits
        # and failed, with the error.
        tasks = Permission.objects.filter(
            content_type__app_label="django_tasks_database", codename="view_dbtaskresult"
        )
        return crm | accounts | logins | tasks
    crm = crm.exclude(content_type__model__in=COORDINATION_ONLY_MODELS)
    if role == STAFF:
        # Staff keep records up to date but delete nothing: organisations, people
        # and partnerships carry history; a follow-up is cancelled, not deleted.
        editable = (
            crm.filter(
                Q(codename__startswith="view_")
                | Q(codename__startswith="add_")
                | Q(codename__startswith="change_")
            )
            .exclude(codename__startswith="add_historical")
            .exclude(codename__startswith="change_historical")
            .exclude(
                Q(content_type__model__in=COORDINATION_WRITES_MODELS)
                & ~Q(codename__startswith="view_")
            )
        )
        # Mail bodies and attachments are Staff's and Coordination's; Read-only
        # sees a message's subject, date and parties only.
        mail_bodies = crm.filter(codename="read_mail_body")
        return editable | view_users | mail_bodies
    if role == READ_ONLY:
        return crm.filter(codename__startswith="view_") | view_users
    raise ValueError(f"Unknown role {role!r}")


def sync_role_permissions(**kwargs) -> None:
    """Give each existing role group exactly the permissions of its rules."""
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.set(role_permissions(group.name))


def is_data_protection_officer(user) -> bool:
    """Tell whether ``user`` answers data-protection requests."""
    return user.is_active and user.has_perm("crm.answer_privacy_requests")


def is_coordination(user) -> bool:
    """Tell whether ``user`` sees the whole team's work (Coordination or superuser)."""
    return user.is_superuser or user.groups.filter(name=COORDINATION).exists()


def _permissions_of(user):
    # From the database, active or not: Django's has_perm() says nothing for an
    # inactive account, whose rights come back with its active flag.
    return Permission.objects.filter(Q(user=user) | Q(group__user=user))


def can_manage_account(actor, target) -> bool:
    """Tell whether ``actor`` may change ``target``'s account (role, flags, password).

    A superuser may change any; anyone else their own, and neither a superuser's
    nor a Coordination member's, nor one holding a right they lack (granted by
    a superuser): whoever sets its password acts with its rights. Decided from
    what the target holds now, which only a superuser can take away, so no
    sequence of a non-superuser's requests gets round it (demote, then reset
    the password, then restore the role).
    """
    if actor.is_superuser or actor.pk == target.pk:
        return True
    if is_coordination(target):
        return False
    return not _permissions_of(target).exclude(pk__in=_permissions_of(actor)).exists()


def grantable_groups(actor):
    """Return the groups ``actor`` may give: none holding a right the actor lacks."""
    if actor.is_superuser:
        return Group.objects.all()
    beyond = Permission.objects.exclude(pk__in=_permissions_of(actor))
    return Group.objects.exclude(permissions__in=beyond)


def staff_members():
    """Return the active users who may be given work: Coordination, Staff, superusers."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[COORDINATION, STAFF]))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
