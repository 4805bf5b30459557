"""Electronic data capture: case report forms from the protocol, their validation, the
RECIST response at entry, captured records <-> SDTM, and the planned visits.

Pure functions (no I/O): the web service stores the records and calls these. Layering: as
:mod:`oncotrial.clinical` (core, protocol, stats only).
"""

from oncotrial.clinical.crf.context import (
    FieldIssue,
    FormValidation,
    SubjectContext,
    computed_doses,
    protocol_doses,
)
from oncotrial.clinical.crf.forms import (
    LESION_ROLES,
    LESION_STATES,
    DoseRule,
    FieldSpec,
    FormSpec,
    drug_field,
    form_specs,
    record_key,
)
from oncotrial.clinical.crf.from_sdtm import sdtm_to_records
from oncotrial.clinical.crf.records import CaptureRecord, SubjectInfo
from oncotrial.clinical.crf.response import assessment_response
from oncotrial.clinical.crf.schedule import PlannedVisit, planned_visits
from oncotrial.clinical.crf.to_sdtm import records_to_sdtm
from oncotrial.clinical.crf.validate import validate_form

__all__ = [
    "LESION_ROLES",
    "LESION_STATES",
    "CaptureRecord",
    "DoseRule",
    "FieldIssue",
    "FieldSpec",
    "FormSpec",
    "FormValidation",
    "PlannedVisit",
    "SubjectContext",
    "SubjectInfo",
    "assessment_response",
    "computed_doses",
    "protocol_doses",
    "drug_field",
    "form_specs",
    "planned_visits",
    "record_key",
    "records_to_sdtm",
    "sdtm_to_records",
    "validate_form",
]
