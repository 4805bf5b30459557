"""ADAE (OCCDS) derivation and the per-arm adverse-event summary.

Inputs: the raw SDTM AE and EX domains (validated here with
:func:`oncotrial.clinical.sdtm.validate_domain`, so bad records become data-quality issues)
and a subject-level frame (``adsl_like``) with ``USUBJID``, the treatment arm, and the
treatment-emergent window per subject: ``RANDDT`` (window start) and ``TEAEENDT`` (window
end). For a protocol window "from randomisation to first progression, death or
withdrawal" (the protocol's ``adverse_events.window``) ``TEAEENDT`` is the
earliest of the progression, death and withdrawal dates; the caller derives it because
progression comes from the RECIST engine. A missing ``TEAEENDT`` means none of these has
happened yet: the window is open to the data cut-off. Grades are CTCAE v4.0 as reported
(``AETOXGR``); they are never regraded.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from oncotrial.clinical.quality import DataQualityIssue
from oncotrial.clinical.sdtm import check_columns, validate_domain
from oncotrial.core.errors import DataError
from oncotrial.core.results import Result

__all__ = [
    "AdverseEventSummary",
    "Derived",
    "adverse_event_summary",
    "derive_adae",
    "derive_saffl",
    "derive_var_trtemfl",
    "derive_worst_flag",
]


@dataclasses.dataclass(frozen=True, repr=False)
class Derived(Result):
    """A derived dataset and the data-quality issues met while deriving it."""

    data: pd.DataFrame
    issues: tuple[DataQualityIssue, ...]

    def to_frame(self) -> pd.DataFrame:
        return self.data


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    check_columns(frame, name)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"{name}: required column(s) missing: {', '.join(absent)}",
                        dataset=name, variable=absent[0])


def derive_saffl(
    adsl_like: pd.DataFrame, ex: pd.DataFrame, *, min_cycles: int = 1
) -> Derived:
    """Add ``SAFFL``: ``"Y"`` if the subject has at least ``min_cycles`` EX records with dose > 0.

    For a safety population "patients who received at least one cycle of treatment"
    (protocol ``safety_population.min_cycles == 1``) with EX holding one record per
    administered cycle, a cycle received is a valid EX record with ``EXDOSE > 0`` (ADSL
    counts cycles from any EX layout: :func:`oncotrial.clinical.exposure.count_cycles`). A zero dose is a
    planned but not given cycle. Invalid EX records are reported and do not count.
    """
    _require(adsl_like, "subject frame", ("USUBJID",))
    check = validate_domain("EX", ex, subjects=adsl_like["USUBJID"].astype(str))
    given = check.valid[check.valid["EXDOSE"] > 0]
    cycles = given.groupby("USUBJID").size()
    data = adsl_like.copy()
    counts = data["USUBJID"].astype(str).map(cycles).fillna(0)
    data["SAFFL"] = (counts >= min_cycles).map({True: "Y", False: "N"})
    return Derived(data, check.issues)


def derive_var_trtemfl(
    adae: pd.DataFrame, *, start: str = "RANDDT", end: str = "TEAEENDT"
) -> pd.Series:
    """``TRTEMFL = "Y"`` when ``start <= ASTDT <= end`` (both inclusive), else ``"N"``.

    A missing ``end`` leaves the window open (no progression, death or withdrawal yet); the
    AE start date ``ASTDT`` is always present because validation excludes AEs without it.
    """
    after_start = adae["ASTDT"] >= adae[start]
    before_end = adae[end].isna() | (adae["ASTDT"] <= adae[end])
    return (after_start & before_end).map({True: "Y", False: "N"})


def derive_worst_flag(adae: pd.DataFrame, by: list[str]) -> pd.Series:
    """``"Y"`` on the one treatment-emergent record with the worst grade within ``by``.

    Order (admiral ``derive_var_extreme_flag``): highest ``ATOXGR``, then earliest ``ASTDT``,
    then input order; so each subject is counted once at their worst grade per group
    (CTCAE checklist T1). Records that are not treatment emergent are never flagged.
    """
    teae = adae[adae["TRTEMFL"] == "Y"]
    ordered = teae.assign(_order=range(len(teae))).sort_values(
        ["ATOXGR", "ASTDT", "_order"], ascending=[False, True, True]
    )
    worst = ordered.drop_duplicates(subset=by).index
    return pd.Series("N", index=adae.index).where(~adae.index.isin(worst), "Y")


def derive_adae(
    ae: pd.DataFrame,
    adsl_like: pd.DataFrame,
    *,
    window_start: str = "RANDDT",
    window_end: str = "TEAEENDT",
) -> Derived:
    """ADAE: validated AE records with analysis dates, grade and flags.

    Added columns: ``ASTDT``/``AENDT`` (AE start/end), ``ATOXGR`` (= ``AETOXGR``),
    ``TRTEMFL`` (:func:`derive_var_trtemfl`), ``AOCCPFL`` (first TEAE of the term per subject,
    by ``ASTDT``), ``AWRSTFL``/``AWRSTSFL``/``AWRSTPFL`` (worst-grade TEAE per subject overall,
    per ``AEBODSYS``, per ``AEDECOD``; :func:`derive_worst_flag`), ``GRGE3FL`` (grade >= 3),
    ``GR34FL`` (grade 3-4: the published "grade 3-4" row excludes grade 5, CTCAE checklist T2)
    and ``GR5FL``. Seriousness is ``AESER`` as validated (``Y``/``N``). AEs of subjects not
    in ``adsl_like`` or with no ``window_start`` date are reported and excluded: their
    treatment-emergent status cannot be decided.
    """
    _require(adsl_like, "subject frame", ("USUBJID", window_start, window_end))
    subjects = adsl_like[["USUBJID", window_start, window_end]].copy()
    subjects["USUBJID"] = subjects["USUBJID"].astype(str)
    for column in (window_start, window_end):
        subjects[column] = pd.to_datetime(subjects[column])
    check = validate_domain("AE", ae, subjects=subjects["USUBJID"])
    no_start = set(subjects.loc[subjects[window_start].isna(), "USUBJID"])
    issues = list(check.issues)
    for row in check.valid[check.valid["USUBJID"].isin(no_start)].to_dict(
        orient="records"
    ):
        problem = f"subject has no {window_start}: treatment emergence undecidable"
        issues.append(
            DataQualityIssue("AE", row["USUBJID"], window_start, None, problem)
        )
    valid = check.valid[~check.valid["USUBJID"].isin(no_start)].reset_index(drop=True)
    adae = valid.merge(subjects, on="USUBJID", how="left")
    adae["ASTDT"] = adae["AESTDTC"]
    adae["AENDT"] = adae["AEENDTC"] if "AEENDTC" in adae.columns else pd.NaT
    adae["ATOXGR"] = adae["AETOXGR"]
    adae["TRTEMFL"] = derive_var_trtemfl(adae, start=window_start, end=window_end)
    teae = adae[adae["TRTEMFL"] == "Y"]
    first = teae.sort_values("ASTDT", kind="stable").drop_duplicates(
        ["USUBJID", "AEDECOD"]
    )
    adae["AOCCPFL"] = pd.Series("N", index=adae.index).where(
        ~adae.index.isin(first.index), "Y"
    )
    adae["AWRSTFL"] = derive_worst_flag(adae, ["USUBJID"])
    adae["AWRSTSFL"] = derive_worst_flag(adae, ["USUBJID", "AEBODSYS"])
    adae["AWRSTPFL"] = derive_worst_flag(adae, ["USUBJID", "AEBODSYS", "AEDECOD"])
    grade = adae["ATOXGR"].astype(int)
    adae["GRGE3FL"] = (grade >= 3).map({True: "Y", False: "N"})
    adae["GR34FL"] = grade.isin([3, 4]).map({True: "Y", False: "N"})
    adae["GR5FL"] = (grade == 5).map({True: "Y", False: "N"})
    return Derived(adae, tuple(issues))


@dataclasses.dataclass(frozen=True, repr=False)
class AdverseEventSummary(Result):
    """Per-arm AE incidence over the safety population.

    ``overall``: one row per arm -- ``N`` (safety population) and ``n``/``pct`` for any TEAE,
    grade 3-4, grade >= 3, grade 5 and serious. ``by_term``: one row per arm x ``AEBODSYS`` x
    ``AEDECOD`` with any-grade and grade 3-4 ``n``/``pct``. ``to_frame()`` is ``overall``.
    """

    overall: pd.DataFrame
    by_term: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.overall


def _percent(n: pd.Series, total: pd.Series) -> pd.Series:
    return (100.0 * n / total).where(total > 0)


def adverse_event_summary(
    adae: pd.DataFrame, adsl_like: pd.DataFrame, *, arm: str = "ARM"
) -> AdverseEventSummary:
    """Subjects with TEAEs per arm, counted once each, as ``n`` and percent of the arm's ``N``.

    Denominator: subjects with ``SAFFL == "Y"`` in ``adsl_like`` (:func:`derive_saffl`),
    by ``arm``. Numerators: distinct subjects of the safety population with at least one
    ``TRTEMFL == "Y"`` record meeting the row's condition; AEs of subjects outside the safety
    population are not counted, by definition of the safety analysis.
    """
    _require(adsl_like, "subject frame", ("USUBJID", "SAFFL", arm))
    safety = adsl_like.loc[adsl_like["SAFFL"] == "Y", ["USUBJID", arm]].copy()
    safety["USUBJID"] = safety["USUBJID"].astype(str)
    totals = safety.groupby(arm).size().rename("N")
    teae = adae[adae["TRTEMFL"] == "Y"].drop(columns=[arm], errors="ignore")
    teae = teae.merge(safety, on="USUBJID", how="inner")
    conditions = {
        "any": pd.Series(True, index=teae.index),
        "gr34": teae["GR34FL"] == "Y",
        "grge3": teae["GRGE3FL"] == "Y",
        "gr5": teae["GR5FL"] == "Y",
        "serious": teae["AESER"] == "Y",
    }
    overall = totals.to_frame()
    for name, condition in conditions.items():
        n = teae[condition].groupby(arm)["USUBJID"].nunique()
        overall[f"{name}_n"] = n.reindex(overall.index, fill_value=0).astype(int)
        overall[f"{name}_pct"] = _percent(overall[f"{name}_n"], overall["N"])
    keys = [arm, "AEBODSYS", "AEDECOD"]
    any_grade = teae.groupby(keys)["USUBJID"].nunique().rename("any_n")
    gr34 = teae[conditions["gr34"]].groupby(keys)["USUBJID"].nunique().rename("gr34_n")
    by_term = pd.concat([any_grade, gr34], axis=1).fillna(0).astype(int).reset_index()
    by_term["N"] = by_term[arm].map(totals)
    by_term["any_pct"] = _percent(by_term["any_n"], by_term["N"])
    by_term["gr34_pct"] = _percent(by_term["gr34_n"], by_term["N"])
    by_term = by_term[[*keys, "N", "any_n", "any_pct", "gr34_n", "gr34_pct"]]
    return AdverseEventSummary(overall.reset_index(), by_term)
