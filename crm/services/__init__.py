"""Writes that touch more than one row, each in one transaction.

Admin, staff pages and API call these functions so that each rule lives in one
place. Bad input raises ``ValidationError`` keyed by field, which forms and
serializers turn into field errors.

One module per concept, as in ``crm.models``; ``base`` holds what they share
(saving with history, row locks, version checks, reasons). Every service is
importable from here: ``from crm import services; services.follow_up_complete(…)``.
"""

from crm.services.agreements import (
    agreement_change_status,
    agreement_create,
    agreement_obligation_create,
    agreement_party_sign,
    agreement_update,
)
from crm.services.base import (
    REASON_MAX_LENGTH,
    STATE_FIELDS,
    clean_reason,
    lock_for_update,
    record_create,
    record_update,
    save_with_history,
    set_related,
    update_with_links,
)
from crm.services.commitments import (
    commitment_change_status,
    commitment_create,
    commitment_deliver,
    commitment_update,
)
from crm.services.directory import person_create
from crm.services.documents import document_create, documents_create_many
from crm.services.erasure import OWN_DOCUMENTS_LISTED, own_documents, person_erase
from crm.services.follow_ups import (
    follow_up_cancel,
    follow_up_complete,
    follow_up_create,
    follow_up_mark_waiting,
    follow_up_plan_apply,
    follow_up_reassign,
    follow_up_reopen,
    follow_up_snooze,
)
from crm.services.mail import (
    MailReceipt,
    MailRefused,
    mail_create_sender,
    mail_discard,
    mail_file,
    mail_purge_bodies,
    mail_receive,
    mail_receive_many,
    mail_record_failure,
)
from crm.services.meetings import (
    interaction_create,
    interaction_log,
    interaction_update,
    interactions_record,
)
from crm.services.merges import links_to, organization_merge, person_merge
from crm.services.partnerships import (
    lock_partnerships_of,
    partnership_assign_owner,
    partnership_change_stage,
    partnership_create,
)

__all__ = [
    "OWN_DOCUMENTS_LISTED",
    "REASON_MAX_LENGTH",
    "STATE_FIELDS",
    "MailReceipt",
    "MailRefused",
    "agreement_change_status",
    "agreement_create",
    "agreement_obligation_create",
    "agreement_party_sign",
    "agreement_update",
    "clean_reason",
    "commitment_change_status",
    "commitment_create",
    "commitment_deliver",
    "commitment_update",
    "document_create",
    "documents_create_many",
    "follow_up_cancel",
    "follow_up_complete",
    "follow_up_create",
    "follow_up_mark_waiting",
    "follow_up_plan_apply",
    "follow_up_reassign",
    "follow_up_reopen",
    "follow_up_snooze",
    "interaction_create",
    "interaction_log",
    "interaction_update",
    "interactions_record",
    "links_to",
    "lock_for_update",
    "lock_partnerships_of",
    "mail_create_sender",
    "mail_discard",
    "mail_file",
    "mail_purge_bodies",
    "mail_receive",
    "mail_receive_many",
    "mail_record_failure",
    "organization_merge",
    "own_documents",
    "partnership_assign_owner",
    "partnership_change_stage",
    "partnership_create",
    "person_create",
    "person_erase",
    "person_merge",
    "record_create",
    "record_update",
    "save_with_history",
    "set_related",
    "update_with_links",
]
