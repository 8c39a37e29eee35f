"""E-mails to staff: shared helpers, and the notice that a follow-up was assigned.

Every e-mail is rendered in its recipient's language (``StaffProfile.language``,
French unless they chose otherwise), as plain text with an HTML alternative, and
links with absolute URLs under ``settings.CRM_BASE_URL``.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.models import FollowUp, Language, Partnership

logger = logging.getLogger(__name__)

# Assignment notices go out while the user who saved waits for the page.
NOTICE_TIMEOUT_SECONDS = 5


def absolute_url(path: str) -> str:
    """Return ``path`` (a site path such as "/projects/x/") as an absolute URL."""
    return settings.CRM_BASE_URL + path


def language_of(user) -> str:
    """Return the language of ``user``'s e-mails, without creating a profile."""
    try:
        return user.crm_profile.language
    except ObjectDoesNotExist:
        return Language.FRENCH


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def subject_line(text: str) -> str:
    # Translated like the rest, so that French inboxes read "[CRM Compact] …";
    # on one line, since a title typed with a line break must not break a header.
    prefix = _("[Compact CRM]")
    return " ".join(f"{prefix} {text}".split())


def build_message(*, to, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    """Render ``templates/emails/<template>.txt`` and ``.html`` into one e-mail.

    Call inside ``translation.override`` of the recipient's language. The HTML
    part escapes user text (autoescape); the text part is plain.
    """
    context = {**context, "base_url": settings.CRM_BASE_URL}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, to=[to.email])
    message.attach_alternative(html, "text/html")
    return message


# Assignment notices.


def notify_assignment(*, follow_ups: Iterable[FollowUp], by: AbstractBaseUser | None) -> None:
    """Tell each assignee, once the transaction commits, of follow-ups given to them.

    Call it where a follow-up gets a new assignee: the services and the
    admin's save paths do. No notice goes to someone who assigned themselves,
    nor for a write that is rolled back; follow-ups given to one person in
    one go (a meeting logged with three follow-ups, a plan applied) make one
    e-mail, not three.
    """
    by_id = by.pk if by is not None else None
    per_assignee: dict[int, list[int]] = defaultdict(list)
    for follow_up in follow_ups:
        if follow_up.assignee_id is not None and follow_up.assignee_id != by_id:
            per_assignee[follow_up.assignee_id].append(follow_up.pk)
    if per_assignee:
        transaction.on_commit(lambda: _send_assignment_notices(per_assignee, by_id))


def _send_assignment_notices(per_assignee: dict[int, list[int]], by_id: int | None) -> None:
    # Runs after the commit, in the request: a mail server that is down must
    # not turn a saved form into an error page. The failure is logged, and the
    # follow-up still shows in the next morning's digest.
    User = get_user_model()
    users = User.objects.select_related("crm_profile").in_bulk(
        [*per_assignee, *([by_id] if by_id else [])]
    )
    by = users.get(by_id)
    follow_ups = FollowUp.objects.select_related("project", "organization").in_bulk(
        [pk for pks in per_assignee.values() for pk in pks]
    )
    # One short-timeout connection for all notices of this write: the user who
    # saved waits for it, so a mail server that hangs costs seconds, not minutes.
    connection = get_connection(timeout=NOTICE_TIMEOUT_SECONDS)
    for assignee_id, pks in per_assignee.items():
        assignee = users.get(assignee_id)
        if assignee is None or not assignee.is_active or not assignee.email:
            continue
        items = sorted((follow_ups[pk] for pk in pks if pk in follow_ups), key=_by_due_date)
        if not items:
            continue
        try:
            message = assignment_message(assignee=assignee, follow_ups=items, by=by)
            message.connection = connection
            message.send()
        except Exception:
            logger.exception("Assignment notice to %s failed", assignee.get_username())


def _by_due_date(follow_up: FollowUp):
    return (follow_up.due_on, follow_up.pk)


def assignment_message(*, assignee, follow_ups: list[FollowUp], by) -> EmailMultiAlternatives:
    """Return the notice telling ``assignee`` that ``by`` gave them ``follow_ups``."""
    with translation.override(language_of(assignee)):
        who = display_name(by) if by is not None else _("Someone")
        if len(follow_ups) == 1:
            subject = _("%(who)s assigned you: %(title)s") % {
                "who": who,
                "title": follow_ups[0].title,
            }
        else:
            subject = ngettext(
                "%(who)s assigned you %(count)d follow-up",
                "%(who)s assigned you %(count)d follow-ups",
                len(follow_ups),
            ) % {"who": who, "count": len(follow_ups)}
        return build_message(
            to=assignee,
            subject=subject_line(subject),
            template="assignment",
            context={"assignee": assignee, "by": who, "follow_ups": follow_ups},
        )


# Ownership notices.


def notify_ownership(*, partnerships: Iterable[Partnership], by: AbstractBaseUser | None) -> None:
    """Tell each new owner, once the transaction commits, of partnerships given to them.

    The partnership counterpart of ``notify_assignment``: nobody is told of a
    partnership they gave themselves, nor of a write that is rolled back.
    """
    by_id = by.pk if by is not None else None
    per_owner: dict[int, list[int]] = defaultdict(list)
    for partnership in partnerships:
        if partnership.owner_id is not None and partnership.owner_id != by_id:
            per_owner[partnership.owner_id].append(partnership.pk)
    if per_owner:
        transaction.on_commit(lambda: _send_ownership_notices(per_owner, by_id))


def _send_ownership_notices(per_owner: dict[int, list[int]], by_id: int | None) -> None:
    # As for assignments: after the commit, a short timeout, failures logged.
    User = get_user_model()
    users = User.objects.select_related("crm_profile").in_bulk(
        [*per_owner, *([by_id] if by_id else [])]
    )
    by = users.get(by_id)
    partnerships = Partnership.objects.select_related("organization", "project").in_bulk(
        [pk for pks in per_owner.values() for pk in pks]
    )
    connection = get_connection(timeout=NOTICE_TIMEOUT_SECONDS)
    for owner_id, pks in per_owner.items():
        owner = users.get(owner_id)
        items = [partnerships[pk] for pk in pks if pk in partnerships]
        if owner is None or not owner.is_active or not owner.email or not items:
            continue
        try:
            message = ownership_message(owner=owner, partnerships=items, by=by)
            message.connection = connection
            message.send()
        except Exception:
            logger.exception("Ownership notice to %s failed", owner.get_username())


def ownership_message(*, owner, partnerships: list[Partnership], by) -> EmailMultiAlternatives:
    """Return the notice telling ``owner`` that ``by`` gave them ``partnerships``."""
    with translation.override(language_of(owner)):
        who = display_name(by) if by is not None else _("Someone")
        subject = ngettext(
            "%(who)s made you the owner of %(count)d partnership",
            "%(who)s made you the owner of %(count)d partnerships",
            len(partnerships),
        ) % {"who": who, "count": len(partnerships)}
        return build_message(
            to=owner,
            subject=subject_line(subject),
            template="ownership",
            context={"owner": owner, "by": who, "partnerships": partnerships},
        )
