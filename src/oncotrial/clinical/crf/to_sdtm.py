"""Captured records -> SDTM domains, as :func:`oncotrial.clinical.derive_all` reads them.

Mapping (form -> domain):

* the subject (:class:`SubjectInfo`) and ``baseline`` -> DM: ``ARM``/``ARMCD``/``ACTARM``
  (empty when masked), ``RFSTDTC`` = randomisation, one column per stratification factor
  (as randomised), ``AGE`` (or randomisation year - year of birth) with ``AGEU``, ``SEX``,
  ``ECOG``, ``HEIGHT``, ``WEIGHT`` and the Table 1 characteristics under their column
  names (flags as ``Y``/``N``); ``follow_up`` -> ``RFENDTC``; ``death`` -> ``DTHDTC``,
  ``DTHFL``; the subject's ``extra`` columns unchanged;
* randomisation, ``end_of_treatment`` (``EPOCH`` = the phase), ``end_of_study`` (``EPOCH``
  ``FOLLOW-UP``) and ``death`` (``DSTERM`` = the cause) -> DS;
* ``cycle`` -> one EX record per drug given (``EXDOSE`` in the protocol's unit, ``EPOCH``
  the phase, ``EXADJ`` the reason for a changed dose);
* ``adverse_event`` -> AE; ``subsequent_therapy`` -> CM (``CMCAT`` ``ANTICANCER THERAPY``,
  ``CMSCAT`` the line); ``surgery`` -> PR (``PRCAT`` ``SURGERY``); ``second_progression``
  -> RS ``PROG2``; ``tumour_assessment`` -> TU/TR (:mod:`~oncotrial.clinical.crf.lesions`).

Optional columns no record fills (e.g. ``ECOG`` when no subject has it) are left out, so
the export holds what was collected. Records of subjects not in ``subjects`` are an
:class:`~oncotrial.core.errors.InputError`: a record must belong to a registered subject.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from oncotrial.clinical.crf.forms import FormSpec, form_specs
from oncotrial.clinical.crf.lesions import tumour_rows
from oncotrial.clinical.crf.records import CaptureRecord, SubjectInfo
from oncotrial.core.errors import InputError

__all__ = ["COLUMNS", "line_label", "records_to_sdtm"]

#: the columns of each domain written, in order (optional ones only when some row has them)
COLUMNS: dict[str, tuple[str, ...]] = {
    "DS": ("STUDYID", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH", "DSSTDTC"),
    "EX": ("STUDYID", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC", "EPOCH",
           "EXADJ"),
    "PR": ("STUDYID", "USUBJID", "PRSEQ", "PRTRT", "PRCAT", "PRLOC", "PRSTDTC"),
    "CM": ("STUDYID", "USUBJID", "CMSEQ", "CMTRT", "CMCAT", "CMSCAT", "CMSTDTC", "CMENDTC"),
    "AE": ("STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESER",
           "AEREL", "AESTDTC", "AEENDTC", "AEACN"),
    "TU": ("STUDYID", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUNODE",
           "TUDTC"),
    "TR": ("STUDYID", "USUBJID", "TRSEQ", "TRLNKID", "TRTESTCD", "TRORRES", "TRSTRESN",
           "TRSTRESU", "TRDTC"),
    "RS": ("STUDYID", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSORRES", "RSDTC"),
}
_OPTIONAL = {"AEACN"}
_ORDINALS = ("FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH",
             "NINTH", "TENTH")
_ANTICANCER = "ANTICANCER THERAPY"


def line_label(line: int) -> str:
    """``CMSCAT`` of a line of therapy: ``SECOND LINE`` ... ``TENTH LINE``, then ``LINE 11``."""
    return f"{_ORDINALS[line - 1]} LINE" if 1 <= line <= len(_ORDINALS) else f"LINE {line}"


def _frame(domain: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = [c for c in COLUMNS[domain]
               if c not in _OPTIONAL or any(r.get(c) is not None for r in rows)]
    frame = pd.DataFrame(rows, columns=columns)
    seq = f"{domain}SEQ"
    if len(frame):
        frame[seq] = frame.groupby("USUBJID", sort=False).cumcount() + 1
    return frame.astype({seq: "int64"})


def _by(records: Sequence[CaptureRecord], subjects: Mapping[str, SubjectInfo],
        ) -> dict[str, dict[str, list[CaptureRecord]]]:
    grouped: dict[str, dict[str, list[CaptureRecord]]] = {s: defaultdict(list) for s in subjects}
    for record in records:
        if record.subject not in grouped:
            raise InputError(f"records: subject {record.subject!r} of a {record.form} record "
                             "is not a registered subject", field="subject")
        grouped[record.subject][record.form].append(record)
    for forms in grouped.values():
        for items in forms.values():
            items.sort(key=lambda r: _sort_key(r.key))
    return grouped


def _sort_key(key: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.split(":"))


def _one(forms: Mapping[str, list[CaptureRecord]], name: str) -> Mapping[str, Any]:
    items = forms.get(name) or []
    return items[0].data if items else {}


def _dm_row(subject: str, info: SubjectInfo, forms: Mapping[str, list[CaptureRecord]],
            protocol: Any, baseline_spec: FormSpec) -> dict[str, Any]:
    base = _one(forms, "baseline")
    death = _one(forms, "death")
    age = base.get("age")
    if age is None and base.get("birth_year") is not None and info.randomised_on is not None:
        age = info.randomised_on.year - int(base["birth_year"])
    row: dict[str, Any] = {
        "STUDYID": info.study_id, "USUBJID": subject, "SITEID": info.site, "ARM": info.arm,
        "ARMCD": info.armcd, "ACTARM": info.actarm, "AGE": age,
        "AGEU": "YEARS" if age is not None else None, "SEX": base.get("sex"),
        "RFSTDTC": _iso(info.randomised_on), "RFENDTC": _one(forms, "follow_up").get("date"),
        "DTHDTC": death.get("date"), "DTHFL": "Y" if death.get("date") else None,
    }
    for factor in protocol.stratification:
        value = info.factors.get(factor.name, base.get(factor.name))
        row[factor.name] = factor.level_of(value) if value is not None else None
    for spec in baseline_spec.fields:
        if spec.column is None or spec.column in row:
            continue
        value = base.get(spec.name)
        if spec.kind == "flag" and value is not None:
            value = "Y" if value else "N"
        row[spec.column] = value
    row.update(info.extra)
    return row


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _dm(grouped: Mapping[str, Mapping[str, list[CaptureRecord]]],
        subjects: Mapping[str, SubjectInfo], protocol: Any, spec: FormSpec) -> pd.DataFrame:
    rows = [_dm_row(s, subjects[s], grouped[s], protocol, spec) for s in subjects]
    frame = pd.DataFrame(rows)
    always = {"STUDYID", "USUBJID", "ARM", "ARMCD", "ACTARM", "SITEID", "AGE", "SEX",
              "RFSTDTC", "RFENDTC", "DTHDTC", "DTHFL"}
    keep = [c for c in frame.columns if c in always or frame[c].notna().any()]
    frame = frame[keep]
    for spec_field in spec.fields:
        column = spec_field.column
        if column in frame.columns and spec_field.kind in ("integer", "choice"):
            values = frame[column].dropna()
            if len(values) and all(isinstance(v, int) and not isinstance(v, bool)
                                   for v in values):
                frame[column] = frame[column].astype("Int64" if frame[column].isna().any()
                                                     else "int64")
    return frame


def _phase_epoch(cycles: list[CaptureRecord], ends: list[CaptureRecord], when: str) -> str:
    """The phase under way on ``when`` (death): the last phase with a cycle whose end of
    treatment is not recorded before then; ``FOLLOW-UP`` after all treatment ended."""
    ended = {r.data.get("phase"): r.data.get("date") for r in ends}
    started = [r.data.get("phase") for r in cycles if str(r.data.get("date")) <= when]
    for phase in reversed(started):
        if ended.get(phase) is None or str(ended[phase]) >= when:
            return str(phase).upper()
    return "FOLLOW-UP"


def _ds(subject: str, info: SubjectInfo,
        forms: Mapping[str, list[CaptureRecord]]) -> list[dict[str, Any]]:
    base = {"STUDYID": info.study_id, "USUBJID": subject}
    rows: list[dict[str, Any]] = []
    if info.randomised_on is not None:
        rows.append({**base, "DSTERM": "RANDOMIZED", "DSDECOD": "RANDOMIZED",
                     "DSCAT": "PROTOCOL MILESTONE", "EPOCH": "SCREENING",
                     "DSSTDTC": info.randomised_on.isoformat()})
    event = {**base, "DSCAT": "DISPOSITION EVENT"}
    for record in forms.get("end_of_treatment", []):
        reason = record.data.get("reason")
        rows.append({**event, "DSTERM": reason, "DSDECOD": reason,
                     "EPOCH": str(record.data.get("phase")).upper(),
                     "DSSTDTC": record.data.get("date")})
    for record in forms.get("end_of_study", []):
        reason = record.data.get("reason")
        rows.append({**event, "DSTERM": reason, "DSDECOD": reason, "EPOCH": "FOLLOW-UP",
                     "DSSTDTC": record.data.get("date")})
    death = _one(forms, "death")
    if death.get("date"):
        when = str(death["date"])
        rows.append({**event, "DSTERM": death.get("cause"), "DSDECOD": "DEATH",
                     "EPOCH": _phase_epoch(forms.get("cycle", []),
                                           forms.get("end_of_treatment", []), when),
                     "DSSTDTC": when})
    first, rest = rows[:1], sorted(rows[1:], key=lambda r: str(r["DSSTDTC"]))
    return first + rest


def _ex(subject: str, info: SubjectInfo, forms: Mapping[str, list[CaptureRecord]],
        cycle: FormSpec) -> list[dict[str, Any]]:
    drugs: dict[str, tuple[str, str]] = {}
    for rule in cycle.doses:
        drugs.setdefault(rule.field, (rule.drug, rule.unit))
    order = [r.field for r in cycle.doses if r.arm == info.armcd]
    stems = list(dict.fromkeys([*order, *drugs]))
    rows: list[dict[str, Any]] = []
    records = sorted(forms.get("cycle", []), key=lambda r: str(r.data.get("date")))
    for record in records:
        data = record.data
        for stem in stems:
            dose = data.get(f"{stem}_dose")
            if dose is None:
                continue
            reason = data.get(f"{stem}_reason")
            if reason is None and data.get(f"{stem}_reduced"):
                reason = "DOSE REDUCED"
            drug, unit = drugs[stem]
            rows.append({"STUDYID": info.study_id, "USUBJID": subject, "EXTRT": drug,
                         "EXDOSE": float(dose), "EXDOSU": unit, "EXSTDTC": data.get("date"),
                         "EPOCH": str(data.get("phase")).upper(), "EXADJ": reason})
    return rows


def _events(subject: str, info: SubjectInfo, forms: Mapping[str, list[CaptureRecord]],
            out: dict[str, list[dict[str, Any]]]) -> None:
    base = {"STUDYID": info.study_id, "USUBJID": subject}
    for r in forms.get("adverse_event", []):
        d = r.data
        related = d.get("related")
        out["AE"].append({**base, "AETERM": d.get("verbatim") or d.get("term"),
                          "AEDECOD": d.get("term"), "AEBODSYS": d.get("system_organ_class"),
                          "AETOXGR": d.get("grade"), "AESER": "Y" if d.get("serious") else "N",
                          "AEREL": None if related is None else
                          ("RELATED" if related else "NOT RELATED"),
                          "AESTDTC": d.get("start_date"), "AEENDTC": d.get("end_date"),
                          "AEACN": d.get("action")})
    for r in forms.get("subsequent_therapy", []):
        d = r.data
        line = d.get("line")
        out["CM"].append({**base, "CMTRT": d.get("therapy"), "CMCAT": _ANTICANCER,
                          "CMSCAT": None if line is None else line_label(int(line)),
                          "CMSTDTC": d.get("date"), "CMENDTC": d.get("end_date")})
    for r in forms.get("surgery", []):
        out["PR"].append({**base, "PRTRT": r.data.get("procedure"), "PRCAT": "SURGERY",
                          "PRLOC": r.data.get("location"), "PRSTDTC": r.data.get("date")})
    for r in forms.get("second_progression", []):
        out["RS"].append({**base, "RSTESTCD": "PROG2", "RSTEST": "Second Disease Progression",
                          "RSORRES": "PD", "RSDTC": r.data.get("date")})
    tu, tr = tumour_rows(subject, [r.data for r in forms.get("tumour_assessment", [])])
    out["TU"].extend({"STUDYID": info.study_id, **row} for row in tu)
    out["TR"].extend({"STUDYID": info.study_id, **row} for row in tr)


def records_to_sdtm(records: Sequence[CaptureRecord], protocol: Any,
                    subjects: Mapping[str, SubjectInfo]) -> dict[str, pd.DataFrame]:
    """DM, DS, EX, AE, CM, TU, TR, RS and PR (see the module docstring) from the validated
    ``records`` of ``subjects`` (USUBJID -> :class:`SubjectInfo`, in DM order)."""
    specs = form_specs(protocol)
    grouped = _by(records, subjects)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
    for subject, info in subjects.items():
        forms = grouped[subject]
        out["DS"].extend(_ds(subject, info, forms))
        out["EX"].extend(_ex(subject, info, forms, specs["cycle"]))
        _events(subject, info, forms, out)
    domains = {"DM": _dm(grouped, subjects, protocol, specs["baseline"])}
    domains.update({name: _frame(name, rows) for name, rows in out.items()})
    if len(domains["AE"]):
        domains["AE"]["AETOXGR"] = domains["AE"]["AETOXGR"].astype("int64")
    return domains

