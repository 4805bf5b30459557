"""RECIST 1.1 response of one tumour assessment at the point of entry, by the engine of
:mod:`oncotrial.clinical.recist` (the same rules the derivations apply to the export)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from oncotrial.clinical.crf.lesions import tumour_rows
from oncotrial.clinical.recist import TR_COLUMNS, TU_COLUMNS, derive_timepoint_responses
from oncotrial.core.errors import InputError

__all__ = ["assessment_response"]

_SUBJECT = "SUBJECT"


def assessment_response(baseline: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]],
                        this: Mapping[str, Any]) -> str:
    """The overall response (``CR``, ``PR``, ``SD``, ``NON-CR/NON-PD``, ``PD`` or ``NE``) of
    ``this`` follow-up assessment, given the subject's baseline assessment and the earlier
    follow-ups (validated ``tumour_assessment`` values; the nadir comes from them). A
    baseline has no response: ``this`` at visit 0 is an :class:`InputError`."""
    if this.get("visit") == 0:
        raise InputError("visit: a baseline assessment (visit 0) has no response", field="visit")
    if baseline.get("visit") != 0:
        raise InputError("baseline: expected the visit-0 assessment", field="baseline")
    others = [a for a in earlier if a.get("visit") not in (0, this.get("visit"))]
    tu_rows, tr_rows = tumour_rows(_SUBJECT, [baseline, *others, this])
    tu = pd.DataFrame(tu_rows, columns=[*TU_COLUMNS, "TUNODE"])
    tr = pd.DataFrame(tr_rows, columns=[*TR_COLUMNS, "TRORRES", "TRSTRESN", "TRSTRESU"])
    responses = derive_timepoint_responses(tu, tr).responses
    when = pd.Timestamp(str(this.get("date")))
    overall = responses[(responses["RSTESTCD"] == "OVRLRESP")
                        & (pd.to_datetime(responses["RSDTC"]) == when)]
    return str(overall["RSORRES"].iloc[0]) if len(overall) else "NE"
