"""Between the stored rows and the pure case-report-form functions of
:mod:`oncotrial.clinical.crf`: the specs of a trial, the context a form is checked in, the
responses computed at entry, and the records and subjects an export is made of.

What a subject's context holds comes from the database: the randomisation date and the
arm from the allocation (the arm only when the trial is open label: in a masked trial the
checks use every arm's doses, so a form says nothing about the arm), height and weight
from the baseline form, and the baseline tumour assessment's lesions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.clinical import crf
from oncotrial.core.errors import InputError
from oncotrial.server.db.models import Allocation, FormRecord, Site, Subject, Trial
from oncotrial.server.services.subjects import trial_protocol

__all__ = ["BASELINE_FORM", "BASELINE_VISIT", "arm_drugs", "assessment_form", "capture_records",
           "context", "responses", "spec", "spec_dicts", "subject_infos", "today",
           "clock"]

#: the form holding height and weight, and the visit key of the baseline tumour assessment
BASELINE_FORM = "baseline"
BASELINE_VISIT = "0"


def today() -> dt.date:
    """Today's date (UTC): no captured date may be later."""
    return dt.datetime.now(dt.UTC).date()


#: the clock of the checks (a replay of past data sets it to the day the data were entered)
clock: Callable[[], dt.date] = today


def spec_dicts(protocol: Any) -> dict[str, dict[str, Any]]:
    """Every form of the protocol as plain data (no arm codes)."""
    return {name: s.to_dict() for name, s in crf.form_specs(protocol).items()}


def spec(protocol: Any, form: str) -> crf.FormSpec:
    """The spec of ``form``; an unknown form is an :class:`InputError` on ``form``."""
    specs = crf.form_specs(protocol)
    if form not in specs:
        raise InputError(f"form: expected one of {', '.join(specs)}, got {form!r}", field="form")
    return specs[form]


def assessment_form(form_spec: crf.FormSpec) -> bool:
    """Whether records of the form get a computed response: forms with lesions."""
    return any(f.kind == "lesions" for f in form_spec.fields)


def arm_drugs(protocol: Any, arm: str) -> set[str]:
    """The drugs the regimen of ``arm`` gives, in any phase."""
    return {d.drug for phase in protocol.regimens[arm].phases for d in phase.drugs}


def _visit(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (10 ** 9, key)


def _rows(session: Session, subject_id: int) -> list[FormRecord]:
    return list(session.scalars(select(FormRecord).where(FormRecord.subject_id == subject_id)
                                .order_by(FormRecord.id)))


def context(session: Session, trial: Trial, subject: Subject, *, masked: bool,
            replacing: tuple[str, str] | None = None,
            data: Mapping[str, Any] | None = None) -> crf.SubjectContext:
    """The context of a form of ``subject``; ``replacing``/``data``: the record being
    saved, whose values count instead of the stored ones (height entered with the
    baseline form itself)."""
    allocation = session.scalars(select(Allocation).where(
        Allocation.subject_id == subject.id, Allocation.status == "active")).one_or_none()
    stored = {(r.form, r.repeat_key): json.loads(r.data_json) for r in _rows(session, subject.id)}
    if replacing is not None and data is not None:
        stored[replacing] = dict(data)
    baseline = stored.get((BASELINE_FORM, ""), {})
    lesions = None
    for (_, key), values in stored.items():
        if key == BASELINE_VISIT and isinstance(values.get("lesions"), list):
            lesions = values["lesions"]
    return crf.SubjectContext(
        today=clock(),
        randomised_on=allocation.allocated_at.date() if allocation is not None else None,
        height_cm=_number(baseline.get("height_cm")), weight_kg=_number(baseline.get("weight_kg")),
        arm=None if masked or allocation is None else allocation.arm,
        baseline_lesions=lesions)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def responses(records: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, str | None]:
    """Key -> the overall response of each assessment of one subject and form (``records``:
    (key, values)), in visit order; the baseline has none."""
    ordered = sorted(records, key=lambda r: _visit(r[0]))
    baseline = next((v for k, v in ordered if k == BASELINE_VISIT), None)
    out: dict[str, str | None] = {}
    earlier: list[Mapping[str, Any]] = []
    for key, values in ordered:
        if key == BASELINE_VISIT or baseline is None:
            out[key] = None
            continue
        out[key] = crf.assessment_response(baseline, list(earlier), values)
        earlier.append(values)
    return out


def capture_records(rows: Sequence[tuple[FormRecord, str]]) -> list[crf.CaptureRecord]:
    """The pure records of stored rows ((row, subject code))."""
    return [crf.CaptureRecord(code, r.form, r.repeat_key, json.loads(r.data_json))
            for r, code in rows]


def subject_infos(session: Session, trial: Trial, *, masked: bool,
                  cutoff: dt.date | None = None) -> dict[str, crf.SubjectInfo]:
    """The randomised subjects of ``trial`` (active allocations; randomised up to
    ``cutoff`` if given), arms left out when ``masked``."""
    protocol_arms = {a.code: a.label for a in trial_protocol(trial).arms}
    out: dict[str, crf.SubjectInfo] = {}
    for s, site, allocation in session.execute(
            select(Subject, Site, Allocation).join(Site, Subject.site_id == Site.id)
            .join(Allocation, Allocation.subject_id == Subject.id)
            .where(Subject.trial_id == trial.id, Allocation.status == "active")
            .order_by(Subject.code)).all():
        if cutoff is not None and allocation.allocated_at.date() > cutoff:
            continue
        label = None if masked else protocol_arms.get(allocation.arm, allocation.arm)
        out[s.code] = crf.SubjectInfo(
            study_id=trial.code, site=site.code, arm=label,
            armcd=None if masked else allocation.arm, actarm=label,
            randomised_on=allocation.allocated_at.date(),
            factors=json.loads(allocation.stratum_json),
            extra={"COUNTRY": site.country} if site.country else {})
    return out
