"""SDTM -> ADaM in one call: :func:`derive_all` and the :class:`DerivedData` it returns.

Steps: every SDTM domain given is validated (:func:`~oncotrial.clinical.sdtm.validate_domain`,
DM first so other domains are checked against its subjects) and the cross-domain date checks
run (:func:`~oncotrial.clinical.sdtm.check_dates`); every problem is kept as a
:class:`DataQualityIssue` and only the bad record is left out. Then:

* ADRS: time-point responses from TU/TR by the RECIST 1.1 engine
  (:func:`~oncotrial.clinical.recist.derive_timepoint_responses`); without TU/TR the
  validated RS ``OVRLRESP`` records are used as given. ``PARAMCD = "OVRLRESP"`` rows
  (``ADT`` = assessment date, ``AVALC`` = response, ``ANL01FL = "Y"`` when on/before the
  cut-off: later records are kept for traceability but not analysed) plus one
  ``PARAMCD = "BOR"`` row per randomised subject
  (:func:`~oncotrial.clinical.recist_bor.derive_best_overall_response` with the protocol's
  ``assessments.response`` rules: confirmation, its minimum interval, minimum SD duration;
  new therapy and death dates from ADSL; ``ADT`` = date of the assessment giving the BOR).
* ADSL: :func:`~oncotrial.clinical.adsl.derive_adsl` (PR gives surgery, RS ``PROG2`` records
  the second progression).
* ADTTE: :func:`~oncotrial.clinical.adtte.derive_adtte` on ADSL and the OVRLRESP records:
  PFS, DOR (confirmed responders when the protocol requires confirmation), OS, and PFS2 (from
  ``PD2DT``). The "event after missed assessments" rule uses each subject's scheduled
  assessment dates from the protocol and ``assessments.response.missed_assessments`` /
  ``window_days``.
* ADAE: :func:`~oncotrial.clinical.adae.derive_adae` with window ``RANDDT``..``TEAEENDT``.

:meth:`DerivedData.write` writes each dataset as CSV, Parquet and SAS v5 transport (XPT).
SAS v5 allows names of at most 8 characters and labels of at most 40: ADaM names already fit;
a longer (pass-through) column name is upper-cased and cut to 8 characters (made unique with
a digit) in the XPT only, its original name kept as the label, and the renaming is returned.
Dates are written as SAS dates (numeric, ``DATE9.`` format).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.adae import derive_adae
from oncotrial.clinical.adsl import derive_adsl
from oncotrial.clinical.adtte import derive_adtte, scheduled_assessments
from oncotrial.clinical.plausibility import plausible_ranges
from oncotrial.clinical.quality import DataQualityIssue, issues_frame
from oncotrial.clinical.recist import derive_timepoint_responses
from oncotrial.clinical.recist_bor import derive_best_overall_response
from oncotrial.clinical.sdtm import SPECS, check_columns, check_dates, validate_domain
from oncotrial.core.errors import InputError
from oncotrial.core.results import Result

__all__ = ["DATASETS", "LABELS", "DerivedData", "derive_all"]

DATASETS = ("adsl", "adtte", "adrs", "adae")
LABELS: Mapping[str, str] = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SITEID": "Study Site Identifier",
    "ARM": "Description of Planned Arm",
    "ARMCD": "Planned Arm Code",
    "ACTARM": "Description of Actual Arm",
    "ACTARMCD": "Actual Arm Code",
    "RANDDT": "Date of Randomization",
    "AGE": "Age",
    "SEX": "Sex",
    "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag",
    "DTHDT": "Date of Death",
    "LSTALVDT": "Date Last Known Alive",
    "PDDT": "Date of First Progression",
    "NACTDT": "Date of New Anticancer Therapy",
    "WDDT": "Date of Withdrawal",
    "TEAEENDT": "End Date of TEAE Window",
    "CYCLES": "Number of Cycles Received",
    "PD2DT": "Date of Second Progression",
    "NACTTRT": "First New Anticancer Therapy",
    "SURGFL": "Surgery of Residual Disease Flag",
    "SURGDT": "Date of Surgery",
    "DOSREDFL": "Dose Reduction Flag",
    "EOTSTT": "End of Treatment Status",
    "DCTREAS": "Reason for Discontinuation of Treatment",
    "DCTDT": "Date of Discontinuation of Treatment",
    "ANL01FL": "Analysis Flag 01",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "STARTDT": "Time-to-Event Origin Date",
    "ADT": "Analysis Date",
    "AVAL": "Analysis Value",
    "AVALC": "Analysis Value (C)",
    "AVALM": "Analysis Value in Months",
    "CNSR": "Censor",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
    "SRCDOM": "Source Domain",
    "ASTDT": "Analysis Start Date",
    "AENDT": "Analysis End Date",
    "ATOXGR": "Analysis Toxicity Grade",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
}
# order: DM first (subjects), the rest as listed in SPECS
_ORDER = ("DM", *[d for d in SPECS if d != "DM"])


@dataclasses.dataclass(frozen=True, repr=False)
class DerivedData(Result):
    """ADSL, ADTTE, ADRS and ADAE frames plus every data-quality issue met."""

    adsl: pd.DataFrame
    adtte: pd.DataFrame
    adrs: pd.DataFrame
    adae: pd.DataFrame
    issues: tuple[DataQualityIssue, ...]
    #: extra XPT variable labels (the protocol's stratification factor labels)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.adsl

    def data_quality(self) -> pd.DataFrame:
        """All issues, columns ``domain, usubjid, field, value, problem``."""
        return issues_frame(self.issues)

    def summary(self) -> dict[str, Any]:
        """Subjects (all / ITT / safety), events per ADTTE parameter, problems per domain."""
        events = (
            self.adtte.assign(EVENT=self.adtte["CNSR"] == 0)
            .groupby("PARAMCD")["EVENT"]
            .agg(["size", "sum"])
        )
        dq = self.data_quality()
        return {
            "subjects": len(self.adsl),
            "itt": int((self.adsl["ITTFL"] == "Y").sum()),
            "safety": int((self.adsl["SAFFL"] == "Y").sum()),
            "events": {
                str(p): {"subjects": int(r["size"]), "events": int(r["sum"])}
                for p, r in events.iterrows()
            },
            "problems": len(dq),
            "problems_by_domain": {
                str(k): int(v) for k, v in dq.groupby("domain").size().items()
            },
        }

    def write(self, out_dir: str | Path) -> dict[str, dict[str, str]]:
        """Write ``<name>.csv``, ``<name>.parquet`` and ``<name>.xpt`` for each dataset and
        ``data_quality.csv``; returns, per dataset, the XPT renaming of names > 8 characters."""
        import pyreadstat

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        renamed: dict[str, dict[str, str]] = {}
        for name in DATASETS:
            frame: pd.DataFrame = getattr(self, name)
            frame.to_csv(out / f"{name}.csv", index=False)
            _for_parquet(frame).to_parquet(out / f"{name}.parquet", index=False)
            xpt, mapping = _for_xpt(frame)
            known = {**LABELS, **self.labels}
            labels = [
                known.get(mapping.get(c, c), mapping.get(c, c))[:40]
                for c in xpt.columns
            ]
            formats = {
                c: "DATE9."
                for c in xpt.columns
                if _is_date_column(frame[mapping.get(c, c)])
            }
            pyreadstat.write_xport(
                xpt,
                str(out / f"{name}.xpt"),
                file_format_version=5,
                table_name=name.upper(),
                column_labels=labels,
                variable_format=formats,
            )
            renamed[name] = mapping
        self.data_quality().to_csv(out / "data_quality.csv", index=False)
        return renamed


def _is_date_column(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series)


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing types (pass-through raw values) are written as text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            kinds = {type(v) for v in out[column] if v is not None and not pd.isna(v)}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                out[column] = out[column].map(
                    lambda v: None if v is None or pd.isna(v) else str(v)
                )
    return out


def _for_xpt(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    out = _for_parquet(frame)
    for column in out.columns:
        series = out[column]
        if _is_date_column(series) and series.isna().all():
            out[column] = series.isna().map({True: float("nan")}).astype("float64")
        elif _is_date_column(series):
            out[column] = [None if pd.isna(v) else v.date() for v in series]
        elif pd.api.types.is_bool_dtype(series):
            out[column] = series.map({True: "Y", False: "N"})
        elif pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype("float64")
        else:
            out[column] = series.map(
                lambda v: "" if v is None or pd.isna(v) else str(v)
            )
    mapping: dict[str, str] = {}
    names: list[str] = []
    for column in out.columns:
        name = str(column)
        if len(name) > 8:
            base = name.upper()[:8]
            k, candidate = 1, base
            while candidate in names or candidate in out.columns:
                candidate = base[:7] + str(k)
                k += 1
            mapping[candidate] = name
            name = candidate
        names.append(name)
    out.columns = names
    return out, mapping


def _adrs(responses: pd.DataFrame, bor: pd.DataFrame, cutoff: pd.Timestamp | None,
          confirmed: bool) -> pd.DataFrame:
    ovr = responses[responses["RSTESTCD"] == "OVRLRESP"]
    kept = ovr["RSDTC"].notna() if cutoff is None else ovr["RSDTC"] <= cutoff
    rows = pd.DataFrame(
        {
            "USUBJID": ovr["USUBJID"].astype(str),
            "PARAMCD": "OVRLRESP",
            "PARAM": "Overall Response by Investigator (RECIST 1.1)",
            "ADT": pd.to_datetime(ovr["RSDTC"]),
            "AVALC": ovr["RSORRES"],
            "ANL01FL": kept.map({True: "Y", False: None}),
        }
    )
    best = pd.DataFrame(
        {
            "USUBJID": bor["USUBJID"].astype(str),
            "PARAMCD": "BOR",
            "PARAM": "Best Overall Response (RECIST 1.1, "
                     f"{'confirmed' if confirmed else 'unconfirmed'})",
            "ADT": pd.to_datetime(bor["BORDT"]),
            "AVALC": bor["BOR"],
            "ANL01FL": "Y",
        }
    )
    out = pd.concat([rows, best], ignore_index=True)
    out["ADT"] = out["ADT"].astype("datetime64[ns]")
    return out.sort_values(
        ["USUBJID", "PARAMCD", "ADT"], kind="stable", ignore_index=True
    )


def _assessment_schedules(adsl: pd.DataFrame, protocol: Any,
                          ) -> tuple[dict[str, np.ndarray], list[DataQualityIssue]]:
    """Each randomised subject's scheduled tumour-assessment dates from the protocol, so that
    the "event after two or more missed assessments" censoring rule of ``derive_pfs``
    applies. A subject without a protocol arm gets an empty schedule — the rule cannot be
    applied to them — and an issue saying so; subjects without a randomisation date are
    reported by ADTTE itself."""
    arms = {a.code for a in protocol.arms}
    schedules: dict[str, np.ndarray] = {}
    issues: list[DataQualityIssue] = []
    # a schedule depends only on arm and randomisation date, which many subjects share
    made: dict[tuple[str, pd.Timestamp], np.ndarray] = {}
    for row in adsl.itertuples(index=False):
        if pd.isna(row.RANDDT):
            continue
        if row.ARMCD in arms:
            key = (row.ARMCD, row.RANDDT)
            if key not in made:
                made[key] = scheduled_assessments(protocol, row.ARMCD, row.RANDDT)
                made[key].flags.writeable = False
            schedules[row.USUBJID] = made[key]
        else:
            schedules[row.USUBJID] = np.array([], dtype="datetime64[ns]")
            issues.append(DataQualityIssue("DM", str(row.USUBJID), "ARMCD", row.ARMCD,
                                           "no protocol arm: the missed-assessment censoring rule "
                                           "of PFS/DOR was not applied"))
    return schedules, issues


def derive_all(
    sdtm: Mapping[str, pd.DataFrame], protocol: Any, *, cutoff: Any = None
) -> DerivedData:
    """Validate ``sdtm`` (domain name -> raw frame; DM required) and derive ADSL, ADTTE, ADRS
    and ADAE (see the module docstring). Unknown domain names are ignored with an issue."""
    if not isinstance(sdtm, Mapping):
        raise TypeError(f"sdtm: expected a mapping of domain name to DataFrame, "
                        f"got {type(sdtm).__name__}")
    domains = {str(k).upper(): v for k, v in sdtm.items()}
    if "DM" not in domains:
        raise InputError("sdtm: the DM domain is required", field="sdtm")
    for name, frame in domains.items():
        check_columns(frame, name)
    ranges = plausible_ranges(protocol)
    issues: list[DataQualityIssue] = []
    valid: dict[str, pd.DataFrame] = {}
    subjects = None
    for name in [n for n in domains if n not in SPECS]:
        issues.append(
            DataQualityIssue(name, "", "", None, "unknown SDTM domain ignored")
        )
    for name in _ORDER:
        if name not in domains:
            continue
        check = validate_domain(name, domains[name], subjects=subjects, ranges=ranges)
        issues.extend(check.issues)
        valid[name] = check.valid
        if name == "DM":
            subjects = check.valid["USUBJID"].astype(str).tolist()
    if "DS" in valid:
        others: dict[str, pd.DataFrame] = {k: valid[k] for k in ("AE", "EX", "CM", "TR", "RS")
                                           if k in valid}
        issues.extend(check_dates(valid["DM"], valid["DS"], others))

    if "TU" in valid and "TR" in valid:
        tp = derive_timepoint_responses(valid["TU"], valid["TR"])
        issues.extend(tp.issues)
        responses = tp.responses
    elif "RS" in valid:
        responses = valid["RS"][["USUBJID", "RSDTC", "RSTESTCD", "RSORRES"]]
    else:
        responses = pd.DataFrame(columns=["USUBJID", "RSDTC", "RSTESTCD", "RSORRES"])
    responses = responses.assign(RSDTC=pd.to_datetime(responses["RSDTC"]))
    ovr = responses[responses["RSTESTCD"] == "OVRLRESP"]

    adsl_others: dict[str, pd.DataFrame] = {k: valid[k] for k in ("AE", "TU", "TR", "RS", "PR")
                                            if k in valid}
    adsl, adsl_issues = derive_adsl(
        valid["DM"],
        valid.get("DS"),
        valid.get("EX"),
        valid.get("CM"),
        ovr,
        protocol=protocol,
        cutoff=cutoff,
        others=adsl_others,
        pr=valid.get("PR"),
        rs=valid.get("RS"),
    )
    issues.extend(adsl_issues)

    randomised = adsl[adsl["RANDDT"].notna()]
    refs = dict(zip(randomised["USUBJID"], randomised["RANDDT"], strict=True))
    unref = ovr[~ovr["USUBJID"].isin(refs)]
    for subject in sorted(set(unref["USUBJID"])):
        issues.append(
            DataQualityIssue(
                "RS",
                subject,
                "USUBJID",
                subject,
                "responses of a subject without RANDDT not analysed",
            )
        )
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    ovr_bor = ovr[ovr["USUBJID"].isin(refs)]
    if cut is not None:
        ovr_bor = ovr_bor[ovr_bor["RSDTC"] <= cut]
    nact = randomised.dropna(subset=["NACTDT"]).set_index("USUBJID")["NACTDT"]
    dth = randomised.dropna(subset=["DTHDT"]).set_index("USUBJID")["DTHDT"]
    rules = protocol.assessments.response
    bor = derive_best_overall_response(
        ovr_bor, refs, confirm=rules.confirmation, confirm_days=rules.confirmation_days,
        min_sd_days=rules.min_sd_days, nact_dates=nact, death_dates=dth)
    adrs = _adrs(ovr, bor, cut, rules.confirmation)
    responders = (bor.loc[bor["BOR"].isin(("CR", "PR")), "USUBJID"].tolist()
                  if rules.confirmation else None)

    schedules, schedule_issues = _assessment_schedules(adsl, protocol)
    issues.extend(schedule_issues)
    adtte = derive_adtte(adsl, ovr, cutoff=cutoff, schedule=schedules,
                         missed_assessments=rules.missed_assessments,
                         window_days=rules.window_days, responders=responders)
    issues.extend(adtte.issues)

    if "AE" in valid:
        adae = derive_adae(
            valid["AE"], adsl[["USUBJID", "ARM", "ACTARM", "RANDDT", "TEAEENDT"]]
        )
        issues.extend(adae.issues)
        adae_frame = adae.data
    else:
        adae_frame = pd.DataFrame(columns=["USUBJID", "ASTDT", "TRTEMFL"])
    labels = {f.name: (f.label or f.name) for f in protocol.stratification}
    return DerivedData(adsl, adtte.frame, adrs, adae_frame, tuple(issues), labels)
