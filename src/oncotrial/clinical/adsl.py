"""ADSL (subject level analysis dataset) from SDTM DM, DS, EX, CM and RECIST overall responses.

One row per DM subject. Inputs are validated with
:func:`oncotrial.clinical.sdtm.validate_domain` (a no-op on already validated frames), so a bad
record is reported and left out, never silently used. Derivation rules, per column:

* ``USUBJID``, ``SITEID``, ``AGE``, ``SEX``: from DM as validated.
* ``ARM`` / ``ARMCD``: the planned (randomised) arm by the rules of
  :mod:`oncotrial.clinical.consistency`: ``DM.ARMCD`` when it is a protocol arm code and
  ``DM.ARM`` does not name another arm; without ``ARMCD``, the protocol arm whose code or
  label ``DM.ARM`` is. An unknown or conflicting arm is an issue and ``ARMCD`` is left
  empty; an ``ARM`` text that differs from the protocol label is an issue too.
* ``ACTARM``: the arm of the treatment received. A subject's received drugs are the
  lower-cased ``EXTRT`` of EX records with ``EXDOSE > 0``; the arm is the planned arm when
  its regimen (the drugs and supportive care of all its phases) contains all of them, else
  the one protocol arm whose regimen does (e.g. a control-arm subject given the experimental
  drug received the experimental arm); when several arms contain them, the one whose regimen
  is exactly the drugs received. No EX records, or no single such arm (issue): as planned.
* ``RANDDT``: ``DM.RANDDTC`` when DM has that (non-standard) column and the value is a
  complete ISO 8601 date (a partial or invalid one is an issue, never completed), else the ``DS`` record
  ``DSDECOD == "RANDOMIZED"``, else ``DM.RFSTDTC`` (which some exports fill with the
  randomisation date). Missing: issue, and ``ITTFL = "N"``.
* Strata: one column per protocol stratification factor (``protocol.stratification``), named
  as the factor and taken from the DM column of the same name (case-insensitive), i.e. the
  strata *as randomised*. A blank value, or one outside the declared levels, is an issue
  naming the DM row and becomes empty. Values match a declared level through
  :meth:`~oncotrial.protocol.StratificationFactor.level_of` (ECOG ``0``, ``0.0`` and ``"0"``
  are level ``0``) and ADSL holds the declared level, as the protocol writes it.
* ``ITTFL``: ``"Y"`` for every randomised subject (a ``RANDDT``). ``SAFFL``: ``"Y"`` when
  ``CYCLES`` reaches ``protocol.safety_population.min_cycles``.
* ``DTHDT``: earliest of ``DM.DTHDTC`` and the ``DS`` ``DEATH`` record. ``DM.DTHFL``
  disagreeing with it is an issue (:func:`~oncotrial.clinical.consistency.check_death_flags`).
* ``DTHCAUS``: the cause of death, ``DSTERM`` of the earliest ``DS`` ``DEATH`` record (the
  verbatim cause the death form collects, as admiral's ``derive_var_dthcaus`` takes it from
  DS); empty when that record gives none (a blank ``DSTERM``, or one that only repeats
  ``DEATH``).
* ``PDDT``: first ``OVRLRESP == "PD"`` of ``rs_ovr`` after ``RANDDT`` (on/before the cut-off).
* ``NACTDT``: earliest ``CMSTDTC`` after ``RANDDT`` of a CM record whose ``CMCAT`` contains
  ``ANTICANCER``, ``ANTI-CANCER`` or ``ANTINEOPLASTIC`` (case-insensitive). Without a
  ``CMCAT`` column new therapy cannot be identified and ``NACTDT`` is empty (one issue).
* ``WDDT``: earliest DS date with a discontinuation decode (``sdtm.DS_DISCONTINUATION``).
* ``TEAEENDT``: earliest of ``PDDT``, ``DTHDT`` and ``WDDT`` (a treatment-emergent
  window "randomisation to first progression, death or withdrawal").
* ``LSTALVDT``: latest date of any record of the subject (DM, DS, EX, CM, RS and the frames in
  ``others``, death included), capped at the cut-off.
* ``PD2DT``: first ``RS`` record ``RSTESTCD == "PROG2"``, ``RSORRES == "PD"`` after ``RANDDT``
  (on/before the cut-off). One dated before ``PDDT`` is an issue and is not used. The column
  exists only when RS holds ``PROG2`` records (second progression collected), so PFS2 is
  derived only then.
* ``NACTTRT``: ``CMTRT`` of the record giving ``NACTDT`` (subsequent therapy, e.g. the
  experimental drug given second-line in the control arm).
* ``SURGFL`` / ``SURGDT``: ``"Y"`` and the first date when PR holds a procedure after
  ``RANDDT`` whose ``PRCAT`` contains ``SURG`` (every PR record when PR has no ``PRCAT``).
* ``DOSREDFL``: ``"Y"`` when any EX record given has a reduced dose: ``EXADJ`` mentions a
  reduction, or the record's daily amount is below the full daily protocol dose of that drug
  in the subject's actual arm and phase (``EPOCH``; without it, the phase giving the drug at
  its highest dose). ``EXDOSE`` is per administration and ``EXDOSFRQ`` (``QD``, ``BID``...)
  says how many were given a day, the protocol's ``times_per_day`` when absent; a record in
  the absolute unit of a per-m2/per-kg drug is compared with the subject's dose from DM
  ``HEIGHT``/``WEIGHT``; a dose rounded to tablet strengths is not a reduction (rules:
  :mod:`oncotrial.clinical.exposure`). A record in a unit the protocol does not give the
  drug in is not compared, and an implausible dose is excluded
  (:func:`~oncotrial.clinical.consistency.check_doses`). With ``EPOCH`` also per phase as
  ``RED`` + the phase suffix.
* ``RDI`` + the phase suffix (with EX ``EPOCH``): relative dose intensity of the phase in %,
  the mean over its drugs of the dose received relative to the full dose times the cycles
  received over the cycles the time allowed
  (:func:`~oncotrial.clinical.dose_intensity.derive_rdi`).
* Per-phase variables are ``RED``/``EOT``/``CYC``/``RDI`` + the phase's suffix: the first 5 letters
  or digits of the phase name, upper case, so names have <= 8 characters for SAS v5
  (``induction`` -> ``REDINDUC``); a suffix shared with an earlier protocol phase ends in a
  digit instead (:func:`~oncotrial.clinical.exposure.phase_suffixes`). ``EPOCH`` values are
  matched to the protocol's phases ignoring case and punctuation. Open-ended phases (no
  ``max_cycles``) are phases like any other.
* ``EOTSTT`` / ``DCTREAS`` / ``DCTDT``: end-of-treatment status (``COMPLETED``,
  ``DISCONTINUED``, or ``ONGOING`` without a disposition record), the reason (``DSDECOD``)
  and date of the first discontinuation record. With a DS ``EPOCH`` column the disposition
  of each phase is also given as ``EOT`` + the phase suffix: the ``DSDECOD`` of the phase's
  first disposition record.
* Baseline characteristics: every DM column that is neither an accepted DM column nor a
  stratification factor (e.g. ``ECOG``, ``GRADE``, ``NMETS``, and the provenance columns
  ``SIMFL``/``SIMSEED`` of simulated data) is carried to ADSL unchanged, so tables can use
  them without a second merge.
* ``CYCLES``: cycles received, counted from the given EX records so that one record per
  cycle, per day or per administration give the same count: a record dated within the
  arm's dosing days of the current cycle's first record belongs to that cycle
  (:func:`~oncotrial.clinical.exposure.count_cycles`). When EX has ``EPOCH`` (or ``PHASE``)
  the count is also given per phase as ``CYC`` + the phase suffix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from oncotrial.clinical.consistency import check_death_flags, check_doses, planned_arms
from oncotrial.clinical.dose_intensity import derive_rdi, relative_doses
from oncotrial.clinical.exposure import (
    body_sizes,
    count_cycles,
    epoch_suffixes,
    regimen_drugs,
)
from oncotrial.clinical.plausibility import Range, plausible_ranges
from oncotrial.clinical.quality import DataQualityIssue, source_rows
from oncotrial.clinical.sdtm import DS_DISCONTINUATION, SPECS, parse_iso_date, validate_domain

__all__ = ["ANTICANCER_CATEGORIES", "derive_adsl", "derive_dthcaus"]

ANTICANCER_CATEGORIES = ("ANTICANCER", "ANTI-CANCER", "ANTINEOPLASTIC")


def _first(frame: pd.DataFrame, column: str, *, latest: bool = False) -> pd.Series:
    if frame.empty:
        return pd.Series(dtype="datetime64[ns]")
    grouped = frame.dropna(subset=[column]).groupby("USUBJID")[column]
    return grouped.max() if latest else grouped.min()


def derive_dthcaus(ds: pd.DataFrame) -> pd.Series:
    """Cause of death per subject (index ``USUBJID``): ``DSTERM`` of the earliest ``DEATH``
    record. Why DS: the death form's cause is its verbatim term there, and DM holds only the
    date. A blank term, or one that only says ``DEATH``, gives no cause rather than a
    misleading one."""
    if ds.empty or "DSTERM" not in ds.columns:
        return pd.Series(dtype=object)
    deaths = ds[ds["DSDECOD"] == "DEATH"].sort_values("DSSTDTC", kind="stable")
    terms = deaths.drop_duplicates("USUBJID").set_index("USUBJID")["DSTERM"]
    text = terms.astype("string").str.strip()
    return text[text.notna() & (text != "") & (text.str.upper() != "DEATH")].astype(object)


def _arm_drugs(protocol: Any) -> dict[str, set[str]]:
    return {arm.code: regimen_drugs(protocol, arm.code, supportive=True) for arm in protocol.arms}


def _received_arm(
    planned: str, received: set[str], drugs: dict[str, set[str]]
) -> str | None:
    """The arm of the drugs received (rules: module docstring), None when no one arm fits."""
    if not received or (planned in drugs and received <= drugs[planned]):
        return planned
    fitting = [code for code, arm_drugs in drugs.items() if received <= arm_drugs]
    if len(fitting) > 1:
        fitting = [code for code in fitting if drugs[code] == received]
    if len(fitting) == 1:
        return fitting[0]
    return None


def _validated(
    name: str,
    frame: pd.DataFrame | None,
    subjects: pd.Series,
    issues: list[DataQualityIssue],
    ranges: Mapping[tuple[str, str], Range],
) -> pd.DataFrame:
    if frame is None:
        spec = SPECS[name]
        columns = [c.name for c in spec.columns]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    check = validate_domain(name, frame, subjects=subjects, ranges=ranges)
    issues.extend(check.issues)
    return check.valid


def derive_adsl(
    dm: pd.DataFrame,
    ds: pd.DataFrame | None,
    ex: pd.DataFrame | None,
    cm: pd.DataFrame | None,
    rs_ovr: pd.DataFrame | None,
    *,
    protocol: Any,
    cutoff: Any = None,
    others: Mapping[str, pd.DataFrame] | None = None,
    pr: pd.DataFrame | None = None,
    rs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, tuple[DataQualityIssue, ...]]:
    """ADSL, one row per DM subject, and the data-quality issues (rules: module docstring).

    ``rs_ovr``: RS-style records ``USUBJID, RSTESTCD, RSORRES, RSDTC`` (only ``OVRLRESP`` rows
    are used; no ``RSTESTCD`` column means all rows are overall responses). ``others``: further
    validated frames (e.g. ``{"AE": ae, "TR": tr}``) whose dates count for ``LSTALVDT``.
    ``pr``: the PR domain (surgery); ``rs``: the collected RS domain (``PROG2`` records).
    """
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    issues: list[DataQualityIssue] = []
    ranges = plausible_ranges(protocol)
    dm_check = validate_domain("DM", dm, ranges=ranges)
    issues.extend(dm_check.issues)
    dmv = dm_check.valid
    subjects = dmv["USUBJID"].astype(str)
    dsv = _validated("DS", ds, subjects, issues, ranges)
    exv = _validated("EX", ex, subjects, issues, ranges)
    cmv = _validated("CM", cm, subjects, issues, ranges)
    prv = _validated("PR", pr, subjects, issues, ranges)
    rsv = _validated("RS", rs, subjects, issues, ranges)

    adsl = pd.DataFrame({"USUBJID": subjects})
    adsl["STUDYID"] = dmv["STUDYID"]
    adsl["SITEID"] = dmv["SITEID"] if "SITEID" in dmv.columns else None

    # planned arm (rules: oncotrial.clinical.consistency)
    codes = {a.code: a.label for a in protocol.arms}
    armcd, arm_text, arm_issues = planned_arms(dmv, protocol)
    issues.extend(arm_issues)
    adsl["ARMCD"] = armcd
    adsl["ARM"] = arm_text
    dm_rows = source_rows(dmv)
    exv, other_unit, dose_issues = check_doses(exv, protocol, dm=dmv)
    issues.extend(dose_issues)

    # actual arm
    drugs = _arm_drugs(protocol)
    given_ex = (
        exv[pd.to_numeric(exv["EXDOSE"], errors="coerce") > 0] if len(exv) else exv
    )
    received: dict[Any, set[str]] = {}
    for subject, drug in zip(given_ex["USUBJID"], given_ex["EXTRT"], strict=True):
        if not pd.isna(subject):
            received.setdefault(subject, set()).add(str(drug).lower())
    actarm = []
    for subject, planned in zip(adsl["USUBJID"], adsl["ARMCD"], strict=True):
        got = received.get(subject, set())
        code = _received_arm(planned, got, drugs) if planned else None
        if code is None and got:
            issues.append(
                DataQualityIssue(
                    "EX",
                    subject,
                    "EXTRT",
                    ", ".join(sorted(got)),
                    "treatment received matches no protocol arm; ACTARM set as planned",
                )
            )
            code = planned
        actarm.append(code)
    adsl["ACTARMCD"] = actarm
    adsl["ACTARM"] = [codes.get(c, c) if c else None for c in actarm]

    # randomisation date
    randdt = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if "RFSTDTC" in dmv.columns:
        randdt = pd.to_datetime(dmv["RFSTDTC"]).astype("datetime64[ns]")
    ds_rand = (
        _first(dsv[dsv["DSDECOD"] == "RANDOMIZED"], "DSSTDTC") if len(dsv) else None
    )
    if ds_rand is not None and len(ds_rand):
        from_ds = adsl["USUBJID"].map(ds_rand)
        randdt = from_ds.where(from_ds.notna(), randdt)
    if "RANDDTC" in dmv.columns:
        raw = dmv["RANDDTC"]
        parsed_values = []
        for i, value in zip(adsl.index, raw, strict=True):
            date, problem = parse_iso_date(value)
            if problem is not None:
                issues.append(DataQualityIssue(
                    "DM", adsl.at[i, "USUBJID"], "RANDDTC", value,
                    f"not a complete ISO 8601 date ({problem}); randomisation date "
                    "taken from DS or RFSTDTC", dm_rows[i]))
            parsed_values.append(date)
        parsed = pd.Series(parsed_values, index=adsl.index, dtype="datetime64[ns]")
        randdt = parsed.where(parsed.notna(), randdt)
    adsl["RANDDT"] = pd.to_datetime(randdt).astype("datetime64[ns]")
    for i in adsl.index[adsl["RANDDT"].isna()]:
        issues.append(DataQualityIssue("DM", adsl.at[i, "USUBJID"], "RANDDT", None,
                                       "no randomisation date", dm_rows[i]))

    # strata as randomised
    upper = {c.upper(): c for c in dmv.columns}
    for factor in protocol.stratification:
        source = upper.get(factor.name.upper())
        if source is None:
            issues.append(
                DataQualityIssue(
                    "DM",
                    "",
                    factor.name,
                    None,
                    "stratification factor column absent from DM",
                )
            )
            adsl[factor.name] = None
            continue
        values: list[int | str | None] = []
        for i, subject, value in zip(adsl.index, adsl["USUBJID"], dmv[source], strict=True):
            if value is None or pd.isna(value) or not str(value).strip():
                issues.append(DataQualityIssue(
                    "DM", subject, source, None,
                    f"blank stratification value ({factor.name}): the subject is in no "
                    "stratum", dm_rows[i]))
                values.append(None)
            elif factor.level_of(value) is not None:
                values.append(factor.level_of(value))
            else:
                issues.append(
                    DataQualityIssue(
                        "DM",
                        subject,
                        source,
                        value,
                        f"not a declared level of {factor.name} "
                        f"({', '.join(str(level) for level in factor.levels)})",
                        dm_rows[i],
                    )
                )
                values.append(None)
        adsl[factor.name] = values

    adsl["AGE"] = dmv["AGE"] if "AGE" in dmv.columns else None
    adsl["SEX"] = dmv["SEX"] if "SEX" in dmv.columns else None
    adsl["ITTFL"] = adsl["RANDDT"].notna().map({True: "Y", False: "N"})
    min_cycles = getattr(protocol.safety_population, "min_cycles", 1)
    arms = dict(zip(adsl["USUBJID"], adsl["ACTARMCD"], strict=True))
    cycles = (adsl["USUBJID"].map(count_cycles(given_ex, arms, protocol)).fillna(0)
              .astype("int64"))
    adsl["SAFFL"] = (cycles >= min_cycles).map({True: "Y", False: "N"})

    # death
    death = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if "DTHDTC" in dmv.columns:
        death = pd.to_datetime(dmv["DTHDTC"]).astype("datetime64[ns]")
    if len(dsv):
        ds_death = adsl["USUBJID"].map(
            _first(dsv[dsv["DSDECOD"] == "DEATH"], "DSSTDTC")
        )
        death = pd.concat([death, pd.to_datetime(ds_death)], axis=1).min(axis=1)
    adsl["DTHDT"] = pd.to_datetime(death).astype("datetime64[ns]")
    adsl["DTHCAUS"] = adsl["USUBJID"].map(derive_dthcaus(dsv))
    issues.extend(check_death_flags(dmv, adsl["DTHDT"]))

    # first progression
    pddt = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if rs_ovr is not None and len(rs_ovr):
        rs = rs_ovr
        if "RSTESTCD" in rs.columns:
            rs = rs[rs["RSTESTCD"] == "OVRLRESP"]
        rs = rs.assign(
            RSDTC=pd.to_datetime(rs["RSDTC"]), USUBJID=rs["USUBJID"].astype(str)
        )
        rs = rs.merge(adsl[["USUBJID", "RANDDT"]], on="USUBJID")
        rs = rs[(rs["RSORRES"] == "PD") & (rs["RSDTC"] > rs["RANDDT"])]
        if cut is not None:
            rs = rs[rs["RSDTC"] <= cut]
        pddt = adsl["USUBJID"].map(_first(rs, "RSDTC"))
    adsl["PDDT"] = pd.to_datetime(pddt).astype("datetime64[ns]")

    # new anticancer therapy
    nact = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    nact_trt = pd.Series(None, index=adsl.index, dtype=object)
    if cm is not None and "CMCAT" not in cmv.columns:
        issues.append(
            DataQualityIssue(
                "CM",
                "",
                "CMCAT",
                None,
                "no CMCAT: new anticancer therapy not identifiable",
            )
        )
    elif len(cmv) and "CMSTDTC" in cmv.columns:
        cat = cmv["CMCAT"].fillna("").astype(str).str.upper()
        pattern = "|".join(re.escape(c) for c in ANTICANCER_CATEGORIES)
        therapy = cmv[cat.str.contains(pattern)]
        therapy = therapy.merge(adsl[["USUBJID", "RANDDT"]], on="USUBJID")
        therapy = therapy[therapy["CMSTDTC"] > therapy["RANDDT"]]
        nact = adsl["USUBJID"].map(_first(therapy, "CMSTDTC"))
        first = therapy.sort_values("CMSTDTC", kind="stable").drop_duplicates("USUBJID")
        nact_trt = adsl["USUBJID"].map(first.set_index("USUBJID")["CMTRT"])
    adsl["NACTDT"] = pd.to_datetime(nact).astype("datetime64[ns]")
    adsl["NACTTRT"] = nact_trt
    pd2dt = _second_progression(adsl, rsv, cut, issues)
    if pd2dt is not None:
        adsl["PD2DT"] = pd2dt
    adsl["SURGDT"] = _surgery(adsl, prv)
    adsl["SURGFL"] = adsl["SURGDT"].notna().map({True: "Y", False: "N"})

    # withdrawal, treatment-emergent window end
    wd = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if len(dsv):
        wd = adsl["USUBJID"].map(
            _first(dsv[dsv["DSDECOD"].isin(DS_DISCONTINUATION)], "DSSTDTC")
        )
    adsl["WDDT"] = pd.to_datetime(wd).astype("datetime64[ns]")
    adsl["TEAEENDT"] = (
        adsl[["PDDT", "DTHDT", "WDDT"]].min(axis=1).astype("datetime64[ns]")
    )
    _end_of_treatment(adsl, dsv, protocol)

    # last known alive
    frames: dict[str, pd.DataFrame] = {
        "DS": dsv,
        "EX": exv,
        "CM": cmv,
        **dict(others or {}),
    }
    dated = [adsl[["USUBJID", c]].rename(columns={c: "D"}) for c in ("RANDDT", "DTHDT")]
    for c in ("RFSTDTC", "RFENDTC"):
        if c in dmv.columns:
            dated.append(
                pd.DataFrame({"USUBJID": subjects, "D": pd.to_datetime(dmv[c])})
            )
    if rs_ovr is not None and len(rs_ovr):
        dated.append(
            pd.DataFrame(
                {
                    "USUBJID": rs_ovr["USUBJID"].astype(str),
                    "D": pd.to_datetime(rs_ovr["RSDTC"]),
                }
            )
        )
    for name, frame in frames.items():
        spec = SPECS.get(name.upper())
        if spec is None or frame is None or not len(frame):
            continue
        for col in spec.columns:
            if col.kind == "date" and col.name in frame.columns:
                dated.append(
                    pd.DataFrame(
                        {
                            "USUBJID": frame["USUBJID"].astype(str),
                            "D": pd.to_datetime(frame[col.name]),
                        }
                    )
                )
    alldates = pd.concat(dated, ignore_index=True).dropna(subset=["D"])
    latest = alldates.groupby("USUBJID")["D"].max()
    lstalv = adsl["USUBJID"].map(latest)
    if cut is not None:
        lstalv = lstalv.where(lstalv.isna() | (lstalv <= cut), cut)
    adsl["LSTALVDT"] = pd.to_datetime(lstalv).astype("datetime64[ns]")

    # cycles received
    adsl["CYCLES"] = cycles
    phase = next((c for c in ("EPOCH", "PHASE") if c in given_ex.columns), None)
    if len(given_ex) and phase is not None:
        suffixes = epoch_suffixes(protocol, given_ex[phase])
        per = given_ex.assign(_PHASE=given_ex[phase].map(suffixes))
        for suffix, group in per.groupby("_PHASE", sort=False):
            adsl["CYC" + suffix] = (adsl["USUBJID"].map(count_cycles(group, arms, protocol,
                                                                     phase)).fillna(0)
                                    .astype("int64"))
    _dose_variables(adsl, given_ex, protocol, other_unit, body_sizes(dmv))
    # ADaM oncology DCUTDT: every output states the cut-off of the data it was made from
    adsl["DCUTDT"] = pd.Series(cut if cut is not None else pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    for column in _baseline_columns(dmv, protocol):
        if column not in adsl.columns:
            adsl[column] = dmv[column].to_numpy()
    return adsl.reset_index(drop=True), tuple(issues)


def _baseline_columns(dm: pd.DataFrame, protocol: Any) -> list[str]:
    """DM columns carried to ADSL unchanged: neither an accepted DM column nor a factor."""
    accepted = {c.name for c in SPECS["DM"].columns} | {"RANDDTC"}
    factors = {f.name.upper() for f in protocol.stratification}
    return [c for c in dm.columns if c not in accepted and str(c).upper() not in factors]


def _second_progression(adsl: pd.DataFrame, rs: pd.DataFrame, cut: pd.Timestamp | None,
                        issues: list[DataQualityIssue]) -> pd.Series | None:
    """``PD2DT``: first ``PROG2``/``PD`` record after randomisation (see module docstring);
    ``None`` when RS has no ``PROG2`` record at all: second progression was not collected,
    and PFS2 must not be derived as if nobody progressed twice."""
    if not len(rs):
        return None
    prog2 = rs[(rs["RSTESTCD"].astype(str).str.upper() == "PROG2") & (rs["RSORRES"] == "PD")]
    if prog2.empty:
        return None
    prog2 = prog2.merge(adsl[["USUBJID", "RANDDT", "PDDT"]], on="USUBJID")
    prog2 = prog2[prog2["RSDTC"] > prog2["RANDDT"]]
    if cut is not None:
        prog2 = prog2[prog2["RSDTC"] <= cut]
    early = prog2[prog2["PDDT"].notna() & (prog2["RSDTC"] < prog2["PDDT"])]
    for row in early.itertuples(index=False):
        issues.append(DataQualityIssue("RS", row.USUBJID, "RSDTC", row.RSDTC.date().isoformat(),
                                       f"second progression before the first progression "
                                       f"({row.PDDT.date().isoformat()}); not used for PFS2"))
    prog2 = prog2.drop(early.index)
    return pd.to_datetime(adsl["USUBJID"].map(_first(prog2, "RSDTC"))).astype("datetime64[ns]")


def _surgery(adsl: pd.DataFrame, pr: pd.DataFrame) -> pd.Series:
    """``SURGDT``: first surgical procedure after randomisation."""
    if not len(pr):
        return pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    surgical = pr
    if "PRCAT" in pr.columns:
        surgical = pr[pr["PRCAT"].fillna("").astype(str).str.upper().str.contains("SURG")]
    surgical = surgical.merge(adsl[["USUBJID", "RANDDT"]], on="USUBJID")
    surgical = surgical[surgical["PRSTDTC"] > surgical["RANDDT"]]
    return pd.to_datetime(adsl["USUBJID"].map(_first(surgical, "PRSTDTC"))).astype(
        "datetime64[ns]")


def _end_of_treatment(adsl: pd.DataFrame, ds: pd.DataFrame, protocol: Any) -> None:
    """``EOTSTT``, ``DCTREAS``, ``DCTDT`` and, with DS ``EPOCH``, ``EOT<phase>``."""
    stopped = ds[ds["DSDECOD"].isin(DS_DISCONTINUATION)] if len(ds) else ds
    first = (stopped.sort_values("DSSTDTC", kind="stable").drop_duplicates("USUBJID")
             .set_index("USUBJID") if len(stopped) else None)
    completed = set(ds.loc[ds["DSDECOD"] == "COMPLETED", "USUBJID"]) if len(ds) else set()
    if first is None:
        adsl["DCTREAS"] = None
        adsl["DCTDT"] = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    else:
        adsl["DCTREAS"] = adsl["USUBJID"].map(first["DSDECOD"])
        adsl["DCTDT"] = pd.to_datetime(adsl["USUBJID"].map(first["DSSTDTC"])).astype(
            "datetime64[ns]")
    adsl["EOTSTT"] = [
        "DISCONTINUED" if isinstance(reason, str) else
        "COMPLETED" if subject in completed else "ONGOING"
        for subject, reason in zip(adsl["USUBJID"], adsl["DCTREAS"], strict=True)
    ]
    if len(ds) and "EPOCH" in ds.columns:
        phased = ds[ds["EPOCH"].notna() & ds["DSDECOD"].isin(("COMPLETED", *DS_DISCONTINUATION))]
        phased = phased.assign(_PHASE=phased["EPOCH"].map(epoch_suffixes(protocol,
                                                                         phased["EPOCH"])))
        for suffix, group in phased.groupby("_PHASE", sort=False):
            first = group.sort_values("DSSTDTC", kind="stable").drop_duplicates("USUBJID")
            adsl["EOT" + suffix] = adsl["USUBJID"].map(first.set_index("USUBJID")["DSDECOD"])


def _dose_variables(adsl: pd.DataFrame, given: pd.DataFrame, protocol: Any,
                     other_unit: set[Any], sizes: Mapping[str, tuple[float, float]]) -> None:
    """``DOSREDFL``, ``RDI<phase>`` and, with EX ``EPOCH``, ``RED<phase>`` (see module
    docstring); records in ``other_unit`` (index labels; not comparable with the protocol
    dose) are flagged only by ``EXADJ``."""
    if not len(given):
        adsl["DOSREDFL"] = "N"
        return
    phase_column = "EPOCH" if "EPOCH" in given.columns else None
    doses = relative_doses(adsl, given, protocol, other_unit, sizes)
    below = doses["ratio"] < 1 - doses["tolerance"]  # False where the ratio is unknown (NaN)
    flagged = given["EXADJ"].map(lambda adj: isinstance(adj, str) and "REDUC" in adj.upper()) \
        if "EXADJ" in given.columns else pd.Series(False, index=given.index)
    reduced = (flagged.astype(bool) | below).tolist()
    derive_rdi(adsl, given, protocol, doses["ratio"])
    flags = given.assign(_RED=reduced)
    any_red = set(flags.loc[flags["_RED"], "USUBJID"])
    adsl["DOSREDFL"] = adsl["USUBJID"].isin(any_red).map({True: "Y", False: "N"})
    if phase_column:
        flags = flags.assign(_PHASE=flags[phase_column].map(
            epoch_suffixes(protocol, flags[phase_column])))
        for suffix, group in flags.groupby("_PHASE", sort=False):
            exposed = set(group["USUBJID"])
            red = set(group.loc[group["_RED"], "USUBJID"])
            adsl["RED" + suffix] = [("Y" if s in red else "N") if s in exposed else None
                                    for s in adsl["USUBJID"]]
