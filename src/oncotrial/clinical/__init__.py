"""Clinical data derivations (raw SDTM-style trial data -> analysis datasets).

Building blocks so far: the ADTTE time-to-event derivations with FDA censoring rules
(:mod:`~oncotrial.clinical.adtte`), and the RECIST 1.1 engine (Eisenhauer et al., Eur J Cancer
2009;45:228-247) -- time-point responses from TU/TR, best overall response with or
without confirmation, response rates with exact CIs and duration-of-response dates.
Layering: may import ``oncotrial.protocol`` and ``oncotrial.stats`` only.
"""

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
from oncotrial.clinical.quality import DataQualityIssue, issues_frame
from oncotrial.clinical.recist import (
    TimepointResult,
    derive_nontarget_response,
    derive_overall_response,
    derive_target_response,
    derive_timepoint_responses,
)
from oncotrial.clinical.recist_bor import derive_best_overall_response, response_rates

__all__ = [
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
