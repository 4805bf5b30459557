"""Clinical data derivations (raw SDTM-style trial data -> analysis datasets).

Building blocks so far: SDTM input validation (:mod:`~oncotrial.clinical.sdtm`), ADAE with
CTCAE worst-grade flags (:mod:`~oncotrial.clinical.adae`), the ADTTE time-to-event derivations with FDA censoring rules
(:mod:`~oncotrial.clinical.adtte`), and the RECIST 1.1 engine (Eisenhauer et al., Eur J Cancer
2009;45:228-247) -- time-point responses from TU/TR, best overall response with or
without confirmation, response rates with exact CIs and duration-of-response dates.
Layering: may import ``oncotrial.protocol`` and ``oncotrial.stats`` only.
"""

from oncotrial.clinical.adae import (
    AdverseEventSummary,
    adverse_event_summary,
    derive_adae,
    derive_saffl,
)
from oncotrial.clinical.adsl import derive_adsl
from oncotrial.clinical.adtte import (
    CENSORING_CODES,
    AdtteResult,
    derive_adtte,
    derive_dor,
    derive_first_progression,
    derive_last_adequate_assessment,
    derive_os,
    derive_pfs,
    derive_pfs2,
    scheduled_assessments,
)
from oncotrial.clinical.derive import DerivedData, derive_all
from oncotrial.clinical.quality import DataQualityIssue, issues_frame
from oncotrial.clinical.recist import (
    TimepointResult,
    derive_nontarget_response,
    derive_overall_response,
    derive_target_response,
    derive_timepoint_responses,
)
from oncotrial.clinical.recist_bor import derive_best_overall_response, response_rates
from oncotrial.clinical.sdtm import SPECS, DomainCheck, check_dates, validate_domain

__all__ = [
    "DerivedData",
    "derive_adsl",
    "derive_all",
    "AdverseEventSummary",
    "DomainCheck",
    "SPECS",
    "adverse_event_summary",
    "check_dates",
    "derive_adae",
    "derive_saffl",
    "validate_domain",
    "CENSORING_CODES",
    "AdtteResult",
    "derive_adtte",
    "derive_dor",
    "derive_first_progression",
    "derive_last_adequate_assessment",
    "derive_os",
    "derive_pfs",
    "derive_pfs2",
    "scheduled_assessments",
    "DataQualityIssue",
    "TimepointResult",
    "derive_best_overall_response",
    "derive_nontarget_response",
    "derive_overall_response",
    "derive_target_response",
    "derive_timepoint_responses",
    "issues_frame",
    "response_rates",
]
