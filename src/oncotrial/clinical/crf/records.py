"""What captured data is made of: one record per form (and key) of a subject, and the subject
facts that come from randomisation rather than from a form."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from oncotrial.core.results import Result

__all__ = ["CaptureRecord", "SubjectInfo"]


@dataclasses.dataclass(frozen=True, repr=False)
class CaptureRecord(Result):
    """One saved form: the subject (USUBJID), the form name, the repeat key
    (:func:`~oncotrial.clinical.crf.forms.record_key`; ``""`` for a form that does not repeat)
    and the validated values (``FormValidation.values``: JSON-safe, dates as ISO text)."""

    subject: str
    form: str
    key: str
    data: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, repr=False)
class SubjectInfo(Result):
    """A subject as the randomisation service knows it. ``arm``/``armcd``/``actarm`` are the
    arm label, code and the arm actually received (``None`` when masked: DM then carries
    empty arms). ``factors`` are the stratification values as randomised (factor name ->
    level). ``extra`` holds further DM columns carried unchanged (``SUBJID``, ``COUNTRY``,
    provenance such as ``SIMFL``/``SIMSEED``), so an import and re-export loses nothing."""

    study_id: str
    site: str | None
    arm: str | None
    armcd: str | None
    actarm: str | None
    randomised_on: dt.date | None
    factors: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
