"""Demonstration users, one per role, and who else is given follow-ups."""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError

from crm import roles
from crm.models import StaffProfile

# Who gets a follow-up: COORDINATION and STAFF are demo users; YOU is --assignee,
# else the first superuser, else the demo coordinator. Nothing is given to the
# read-only user, who cannot act on it.
COORDINATION, STAFF, READ_ONLY, YOU = "coordination", "staff", "read_only", "you"

# A domain reserved for examples (RFC 2606): a digest "sent" there reaches nobody.
DEMO_EMAIL_DOMAIN = "@example.org"

DEMO_USERS = [
    (COORDINATION, "demo-coordination", roles.COORDINATION),
    (STAFF, "demo-staff", roles.STAFF),
    (READ_ONLY, "demo-lecture", roles.READ_ONLY),
]


def load_users(*, write: Callable[[str], None]) -> dict:
    """Create the demo users once (each in its role's group); return them by key."""
    User = get_user_model()
    users, created = {}, []
    for key, username, role in DEMO_USERS:
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist as error:
            raise CommandError(f"Group {role!r} is missing: run manage.py migrate.") from error
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name="Démo",
                last_name=role,
                email=f"{username}{DEMO_EMAIL_DOMAIN}",
                is_staff=True,
            )
            # No password in git: an admin sets one to log in as this user.
            user.set_unusable_password()
            user.save()
            created.append(username)
        elif not user.email:
            # Demo users made before they had addresses get one, so that
            # send_digests has someone to write to; a real address stays.
            user.email = f"{username}{DEMO_EMAIL_DOMAIN}"
            user.save(update_fields=["email"])
        user.groups.add(group)
        StaffProfile.objects.update_or_create(user=user, defaults={"is_demo": True})
        users[key] = user
    if created:
        write(
            f"Demo users created: {', '.join(created)}. They have no usable password: "
            "an admin can set one (manage.py changepassword USERNAME, or in the admin)."
        )
    else:
        write("Demo users: already there.")
    return users


def find_you(username: str | None):
    """Return the user named ``username`` (or refuse), else the first active superuser.

    A superuser without an e-mail is passed over: its digest could reach nobody,
    and the demo coordinator takes its share instead.
    """
    User = get_user_model()
    if username:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist as error:
            raise CommandError(f"No user named {username!r}.") from error
    return (
        User.objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .first()
    )
