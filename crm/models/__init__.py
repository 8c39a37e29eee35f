"""The partnership-tracking model of the Togo MCC Compact coordination unit.

Invariants live in the database as named constraints (``crm_<model>_<rule>``) so
that admin, pages, API, fixtures and imports all obey the same rules. One module
per concept; everything is importable from ``crm.models``.
"""

from crm.models.accounts import ApiToken, DigestLog, StaffProfile
from crm.models.agreements import (
    Agreement,
    AgreementAmendment,
    AgreementParty,
    AgreementSignatory,
    AgreementStatusChange,
)
from crm.models.audit import ExportLog
from crm.models.choices import (
    OPEN_FOLLOW_UP_STATUSES,
    AgreementKind,
    AgreementStatus,
    CommitmentKind,
    CommitmentStatus,
    Currency,
    DatePrecision,
    DigestKind,
    DigestStatus,
    DocumentType,
    FollowUpPriority,
    FollowUpStatus,
    ImportKind,
    InteractionKind,
    Language,
    LegalBasis,
    OrganizationKind,
    PartnershipRole,
    PartnershipStage,
    ProgrammeStatus,
    ProjectSector,
    ProjectStatus,
    SourceKind,
)
from crm.models.commitments import Commitment, CommitmentStatusChange, ExchangeRate
from crm.models.directory import Affiliation, Merge, Organization, Person
from crm.models.documents import Document
from crm.models.follow_ups import FollowUp, FollowUpPlan, FollowUpPlanStep, OpenFollowUpCount
from crm.models.imports import ImportJob, PendingImport
from crm.models.jobs import ExportJob
from crm.models.mail import MailDoor, MailMessage, MailStatus
from crm.models.missions import (
    Interaction,
    InteractionOrganization,
    InteractionPerson,
    InteractionProject,
    LastInteraction,
    Mission,
    MissionMember,
)
from crm.models.partnerships import Partnership, StageChange
from crm.models.privacy import PersonRead, PrivacyRequest
from crm.models.programme import Programme, Project
from crm.models.schedule import ScheduledRun
from crm.models.sources import Source

__all__ = [
    "OPEN_FOLLOW_UP_STATUSES",
    "Affiliation",
    "Agreement",
    "AgreementAmendment",
    "AgreementKind",
    "AgreementParty",
    "AgreementSignatory",
    "AgreementStatus",
    "AgreementStatusChange",
    "ApiToken",
    "Commitment",
    "CommitmentKind",
    "CommitmentStatus",
    "CommitmentStatusChange",
    "Currency",
    "DatePrecision",
    "DigestKind",
    "DigestLog",
    "DigestStatus",
    "Document",
    "DocumentType",
    "ExchangeRate",
    "ExportJob",
    "ExportLog",
    "FollowUp",
    "FollowUpPlan",
    "FollowUpPlanStep",
    "FollowUpPriority",
    "FollowUpStatus",
    "ImportJob",
    "ImportKind",
    "Interaction",
    "InteractionKind",
    "InteractionOrganization",
    "InteractionPerson",
    "InteractionProject",
    "Language",
    "LastInteraction",
    "LegalBasis",
    "MailDoor",
    "MailMessage",
    "MailStatus",
    "Merge",
    "Mission",
    "MissionMember",
    "OpenFollowUpCount",
    "Organization",
    "OrganizationKind",
    "Partnership",
    "PartnershipRole",
    "PartnershipStage",
    "PendingImport",
    "Person",
    "PersonRead",
    "PrivacyRequest",
    "Programme",
    "ProgrammeStatus",
    "Project",
    "ProjectSector",
    "ProjectStatus",
    "ScheduledRun",
    "Source",
    "SourceKind",
    "StaffProfile",
    "StageChange",
]
