"""SDTM domains -> captured records: the inverse of
:func:`~oncotrial.clinical.crf.to_sdtm.records_to_sdtm`, so that existing or simulated data
can be loaded through the capture service and exported again.

Each record's data is what :func:`~oncotrial.clinical.crf.validate.validate_form` would
return for it (typed, JSON-safe), so an import is checked by the same rules as an entry.
What the forms cannot hold is not imported: collected overall responses (RS ``OVRLRESP``;
the response is derived from TU/TR), concomitant medication other than anticancer therapy
is imported as subsequent therapy, and a second disposition record of the same phase is
left out. DM columns no form holds are kept in :attr:`SubjectInfo.extra`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from oncotrial.clinical.crf.forms import FieldSpec, drug_field, form_specs, record_key
from oncotrial.clinical.crf.records import CaptureRecord, SubjectInfo
from oncotrial.clinical.crf.to_sdtm import line_label
from oncotrial.core.errors import InputError
from oncotrial.core.results import json_safe
from oncotrial.protocol.base import level_key

__all__ = ["sdtm_to_records"]

_DM_OWN = ("STUDYID", "USUBJID", "SITEID", "ARM", "ARMCD", "ACTARM", "RFSTDTC",
           "RFENDTC", "DTHDTC", "DTHFL")
_LINES = {line_label(n): n for n in range(1, 11)}


def _value(value: Any) -> Any:
    """A cell as plain Python; missing (None, NaN, NaT, blank text) as None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, (list, tuple, dict)) and pd.isna(value):
        return None
    return json_safe(value)


def _day(value: Any) -> str | None:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()[:10]
    return None if _value(value) is None else str(value).strip()


def _rows(domains: Mapping[str, pd.DataFrame], name: str) -> Iterator[dict[str, Any]]:
    frame = domains.get(name)
    if frame is None:
        return iter(())
    return iter(frame.to_dict(orient="records"))


def _typed(spec: FieldSpec, value: Any) -> Any:
    value = _value(value)
    if value is None:
        return None
    if spec.kind == "flag":
        return str(value).strip().upper() == "Y" if isinstance(value, str) else bool(value)
    if spec.kind == "choice":
        for choice, _ in spec.choices or ():
            if level_key(choice) == level_key(value):
                return choice
        return value
    if spec.kind == "integer" and isinstance(value, (int, float)):
        return int(value)
    if spec.kind == "number" and isinstance(value, (int, float)):
        return float(value)
    return value


def _line(value: Any) -> int | None:
    text = str(_value(value) or "").strip().upper()
    if text in _LINES:
        return _LINES[text]
    digits = re.search(r"\d+", text)
    return int(digits.group()) if digits else None


class _Builder:
    """Collects the records of every subject, keyed as the capture service keys them."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.specs = form_specs(protocol)
        self.records: list[CaptureRecord] = []
        self.seq: dict[tuple[str, str], int] = {}
        self.phases = {drug_field(p): p for r in protocol.regimens.values()
                       for p in r.phase_names}

    def add(self, subject: str, form: str, data: dict[str, Any]) -> None:
        spec = self.specs[form]
        if "seq" in spec.key_fields:
            n = self.seq.get((subject, form), 0) + 1
            self.seq[(subject, form)] = n
            data = {"seq": n, **data}
        clean = {k: v for k, v in data.items() if v is not None}
        self.records.append(CaptureRecord(subject, form, record_key(spec, clean), clean))

    def phase(self, epoch: Any) -> str | None:
        return self.phases.get(drug_field(str(epoch))) if _value(epoch) is not None else None


def _subject(row: Mapping[str, Any], protocol: Any, randomised: dict[str, str],
             builder: _Builder) -> tuple[str, SubjectInfo]:
    subject = str(row["USUBJID"])
    upper = {str(c).upper(): c for c in row}
    used = {upper[c] for c in _DM_OWN if c in upper}
    baseline: dict[str, Any] = {}
    factors: dict[str, Any] = {}
    for factor in protocol.stratification:
        column = upper.get(factor.name.upper())
        if column is not None:
            used.add(column)
            level = factor.level_of(_value(row[column]))
            if level is not None:
                factors[factor.name] = baseline[factor.name] = level
    for spec in builder.specs["baseline"].fields:
        column = upper.get(spec.column.upper()) if spec.column else None
        if column is None or column in used:
            continue
        used.add(column)
        baseline[spec.name] = _typed(spec, row[column])
    extra = {str(c): _value(v) for c, v in row.items()
             if c not in used and _value(v) is not None}
    start = randomised.get(subject) or _day(row.get("RFSTDTC"))
    if _day(row.get("RFSTDTC")) not in (None, start):
        extra["RFSTDTC"] = _day(row.get("RFSTDTC"))
    info = SubjectInfo(
        study_id=str(row.get("STUDYID") or protocol.id), site=_value(row.get("SITEID")),
        arm=_value(row.get("ARM")), armcd=_value(row.get("ARMCD")),
        actarm=_value(row.get("ACTARM")),
        randomised_on=dt.date.fromisoformat(start) if start else None,
        factors=factors, extra=extra)
    if any(v is not None for v in baseline.values()):
        builder.add(subject, "baseline", baseline)
    if _day(row.get("RFENDTC")):
        builder.add(subject, "follow_up", {"date": _day(row.get("RFENDTC"))})
    return subject, info


def _dispositions(domains: Mapping[str, pd.DataFrame], dm: pd.DataFrame,
                  builder: _Builder) -> None:
    deaths = {str(r["USUBJID"]): _day(r.get("DTHDTC")) for r in dm.to_dict(orient="records")
              if _day(r.get("DTHDTC"))}
    causes: dict[str, tuple[str | None, str | None]] = {}
    seen: set[tuple[str, str]] = set()
    for row in _rows(domains, "DS"):
        subject, decode = str(row["USUBJID"]), str(_value(row.get("DSDECOD")) or "")
        when = _day(row.get("DSSTDTC"))
        if decode == "RANDOMIZED":
            continue
        if decode == "DEATH":
            causes.setdefault(subject, (_value(row.get("DSTERM")), when))
            continue
        phase = builder.phase(row.get("EPOCH"))
        form = "end_of_treatment" if phase else "end_of_study"
        if (subject, phase or form) in seen:
            continue
        seen.add((subject, phase or form))
        builder.add(subject, form, {"phase": phase, "date": when, "reason": decode})
    for subject in sorted(set(deaths) | set(causes)):
        cause, when = causes.get(subject, (None, None))
        builder.add(subject, "death", {"date": deaths.get(subject) or when,
                                       "cause": cause or "UNKNOWN"})


def _cycles(domains: Mapping[str, pd.DataFrame], protocol: Any, arms: dict[str, Any],
            builder: _Builder) -> None:
    cycles: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in _rows(domains, "EX"):
        subject = str(row["USUBJID"])
        phase = builder.phase(row.get("EPOCH"))
        if phase is None:
            code = arms.get(subject)
            regimen = protocol.regimens.get(code) or next(iter(protocol.regimens.values()))
            phase = regimen.phases[0].name
        when = _day(row.get("EXSTDTC"))
        data = cycles.setdefault((subject, phase), {}).setdefault(
            str(when), {"phase": phase, "date": when})
        stem = drug_field(str(row["EXTRT"]))
        if f"{stem}_dose" in data:
            continue
        data[f"{stem}_dose"] = None if _value(row.get("EXDOSE")) is None else float(
            row["EXDOSE"])
        reason = _value(row.get("EXADJ"))
        if reason is not None:
            data[f"{stem}_reduced"] = "REDUC" in str(reason).upper()
            data[f"{stem}_reason"] = str(reason)
    for (subject, _phase), by_date in cycles.items():
        for n, when in enumerate(sorted(by_date), start=1):
            data = by_date[when]
            builder.add(subject, "cycle", {"phase": data.pop("phase"), "cycle": n, **data})


def _events(domains: Mapping[str, pd.DataFrame], builder: _Builder) -> None:
    action = builder.specs["adverse_event"].field("action")
    for r in _rows(domains, "AE"):
        related = str(_value(r.get("AEREL")) or "").upper()
        term, verbatim = _value(r.get("AEDECOD")), _value(r.get("AETERM"))
        grade = _value(r.get("AETOXGR"))
        builder.add(str(r["USUBJID"]), "adverse_event", {
            "term": term, "verbatim": verbatim if verbatim != term else None,
            "system_organ_class": _value(r.get("AEBODSYS")),
            "grade": int(grade) if isinstance(grade, (int, float)) else grade,
            "start_date": _day(r.get("AESTDTC")), "end_date": _day(r.get("AEENDTC")),
            "serious": str(_value(r.get("AESER")) or "").upper() == "Y",
            "related": {"RELATED": True, "Y": True, "NOT RELATED": False, "N": False
                        }.get(related),
            "action": _typed(action, r.get("AEACN"))})
    for r in _rows(domains, "CM"):
        builder.add(str(r["USUBJID"]), "subsequent_therapy", {
            "date": _day(r.get("CMSTDTC")), "therapy": _value(r.get("CMTRT")),
            "line": _line(r.get("CMSCAT")), "end_date": _day(r.get("CMENDTC"))})
    for r in _rows(domains, "PR"):
        builder.add(str(r["USUBJID"]), "surgery", {
            "date": _day(r.get("PRSTDTC")), "procedure": _value(r.get("PRTRT")),
            "location": _value(r.get("PRLOC"))})
    done: set[str] = set()
    for r in _rows(domains, "RS"):
        subject = str(r["USUBJID"])
        if _value(r.get("RSTESTCD")) == "PROG2" and subject not in done:
            done.add(subject)
            builder.add(subject, "second_progression", {"date": _day(r.get("RSDTC"))})


def _assessments(domains: Mapping[str, pd.DataFrame], builder: _Builder) -> None:
    lesions: dict[str, dict[str, dict[str, Any]]] = {}
    for r in _rows(domains, "TU"):
        lesions.setdefault(str(r["USUBJID"]), {}).setdefault(str(r["TULNKID"]), r)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in _rows(domains, "TR"):
        day = _day(r.get("TRDTC"))
        results.setdefault(str(r["USUBJID"]), {}).setdefault(str(day), []).append(r)
    for subject in sorted(set(lesions) | set(results)):
        known = lesions.get(subject, {})
        by_date = results.get(subject, {})
        new = {k: v for k, v in known.items() if v.get("TUORRES") == "NEW"}
        old = {k: v for k, v in known.items() if v.get("TUORRES") != "NEW"}
        base_day = min((str(_day(v.get("TUDTC"))) for v in old.values()), default=None)
        dates = sorted(set(by_date) | {str(_day(v.get("TUDTC"))) for v in new.values()}
                       | ({base_day} if base_day else set()))
        for visit, day in enumerate(d for d in dates if base_day is None or d >= base_day):
            items = [_lesion(r, known) for r in by_date.get(day, [])]
            if day == base_day:
                measured = {i["id"]: i for i in items}
                items = [{**_identity(v), **measured.get(k, {})} for k, v in old.items()]
            items.extend(_identity(v) for k, v in new.items() if _day(v.get("TUDTC")) == day)
            builder.add(subject, "tumour_assessment",
                        {"visit": visit, "date": day, "lesions": items})


def _identity(tu: Mapping[str, Any]) -> dict[str, Any]:
    out = {"id": str(tu["TULNKID"]), "role": _value(tu.get("TUORRES")),
           "location": _value(tu.get("TULOC")),
           "node": str(_value(tu.get("TUNODE")) or "").upper() == "Y"}
    return {k: v for k, v in out.items() if v is not None}


def _lesion(tr: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(tr["TRLNKID"])}
    if str(_value(tr.get("TRTESTCD")) or "").upper() == "TUMSTATE":
        state = _value(tr.get("TRORRES"))
        if state is not None:
            out["state"] = str(state).upper()
        return out
    value = _value(tr.get("TRSTRESN"))
    if value is None:
        try:
            value = float(str(_value(tr.get("TRORRES"))))
        except ValueError:
            value = None
    if value is not None:
        out["diameter_mm"] = float(value)
    return out


def sdtm_to_records(domains: Mapping[str, pd.DataFrame], protocol: Any,
                    ) -> tuple[list[CaptureRecord], dict[str, SubjectInfo]]:
    """The records and subjects (USUBJID -> :class:`SubjectInfo`, in DM order) that
    :func:`records_to_sdtm` turns back into ``domains`` (see the module docstring)."""
    upper = {str(k).upper(): v for k, v in domains.items()}
    if "DM" not in upper:
        raise InputError("domains: the DM domain is required", field="DM")
    dm = upper["DM"]
    builder = _Builder(protocol)
    randomised = {str(r["USUBJID"]): str(_day(r.get("DSSTDTC")))
                  for r in _rows(upper, "DS")
                  if r.get("DSDECOD") == "RANDOMIZED" and _day(r.get("DSSTDTC"))}
    subjects: dict[str, SubjectInfo] = {}
    for row in dm.to_dict(orient="records"):
        subject, info = _subject(row, protocol, randomised, builder)
        subjects[subject] = info
    _dispositions(upper, dm, builder)
    _cycles(upper, protocol, {s: i.armcd for s, i in subjects.items()}, builder)
    _events(upper, builder)
    _assessments(upper, builder)
    return builder.records, subjects
