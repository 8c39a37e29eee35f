"""Forms: the admin's model forms, its action pages' forms, and the staff pages' forms.

One module per concept, as in ``crm.models``; ``base`` holds the versioned
forms that several share and ``widgets`` the staff pages' inputs. Everything is
importable from ``crm.forms``.

Rules that the database enforces with a CheckConstraint are repeated here as
field errors, so that a user who breaks one reads what to fix next to the field
instead of a generic "constraint violated" message (or worse, a server error).
"""

from crm.forms.agreements import (
    AgreementEditForm,
    AgreementForm,
    AgreementStatusForm,
    ObligationForm,
    PartySignatureForm,
)
from crm.forms.base import ReasonForm, VersionedActionForm, VersionedAdminForm, VersionedModelForm
from crm.forms.commitments import (
    CommitmentDeliveryForm,
    CommitmentEditForm,
    CommitmentFollowUpForm,
    CommitmentForm,
    CommitmentStatusForm,
)
from crm.forms.directory import (
    AffiliationAdminForm,
    AffiliationForm,
    AffiliationInlineFormSet,
    NewPersonForm,
    OrganizationAdminForm,
    OrganizationForm,
    PersonForm,
)
from crm.forms.documents import DocumentForm
from crm.forms.follow_ups import (
    CompleteFollowUpsForm,
    FollowUpAdminForm,
    FollowUpDoneForm,
    FollowUpEditForm,
    FollowUpForm,
    FollowUpInlineForm,
    FollowUpReassignForm,
    FollowUpSnoozeForm,
    FollowUpWaitingForm,
    ReassignFollowUpsForm,
    SnoozeForm,
)
from crm.forms.imports import ImportUploadForm, importable_kinds
from crm.forms.mail import MailDiscardForm, MailFileForm, MailUploadForm
from crm.forms.meetings import (
    ApplyPlanForm,
    FollowUpRowForm,
    FollowUpRowFormSet,
    InteractionEditForm,
    InteractionForm,
)
from crm.forms.missions import MissionAdminForm
from crm.forms.partnerships import (
    AssignOwnerForm,
    ChangeStageForm,
    PartnershipAdminForm,
    PartnershipCadenceForm,
    PartnershipEditForm,
    PartnershipForm,
    PartnershipInlineForm,
    PartnershipOwnerForm,
    PartnershipStageForm,
)
from crm.forms.widgets import (
    CHOOSER_ATTRS,
    DateInput,
    SearchableSelect,
    SearchableSelectMultiple,
    StaffChoiceField,
    StaffMultipleChoiceField,
)

__all__ = [
    "CHOOSER_ATTRS",
    "AffiliationAdminForm",
    "AffiliationForm",
    "AffiliationInlineFormSet",
    "AgreementEditForm",
    "AgreementForm",
    "AgreementStatusForm",
    "ApplyPlanForm",
    "AssignOwnerForm",
    "ChangeStageForm",
    "CommitmentDeliveryForm",
    "CommitmentEditForm",
    "CommitmentFollowUpForm",
    "CommitmentForm",
    "CommitmentStatusForm",
    "CompleteFollowUpsForm",
    "DateInput",
    "DocumentForm",
    "FollowUpAdminForm",
    "FollowUpDoneForm",
    "FollowUpEditForm",
    "FollowUpForm",
    "FollowUpInlineForm",
    "FollowUpReassignForm",
    "FollowUpRowForm",
    "FollowUpRowFormSet",
    "FollowUpSnoozeForm",
    "FollowUpWaitingForm",
    "ImportUploadForm",
    "InteractionEditForm",
    "InteractionForm",
    "MailDiscardForm",
    "MailFileForm",
    "MailUploadForm",
    "MissionAdminForm",
    "NewPersonForm",
    "ObligationForm",
    "OrganizationAdminForm",
    "OrganizationForm",
    "PartnershipAdminForm",
    "PartnershipCadenceForm",
    "PartnershipEditForm",
    "PartnershipForm",
    "PartnershipInlineForm",
    "PartnershipOwnerForm",
    "PartnershipStageForm",
    "PartySignatureForm",
    "PersonForm",
    "ReasonForm",
    "ReassignFollowUpsForm",
    "SearchableSelect",
    "SearchableSelectMultiple",
    "SnoozeForm",
    "StaffChoiceField",
    "StaffMultipleChoiceField",
    "VersionedActionForm",
    "VersionedAdminForm",
    "VersionedModelForm",
    "importable_kinds",
]
