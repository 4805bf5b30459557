"""The dose received relative to the protocol: per EX record (:func:`relative_doses`) and per
phase as relative dose intensity (:func:`derive_rdi`).

Both read the full dose of each record from the protocol (:func:`~oncotrial.clinical.exposure.full_dose`),
so the dose-reduction flags of ADSL and its dose intensity cannot disagree about what a full
dose is.

Relative dose intensity (RDI) is the dose intensity received over the planned one (Hryniuk
and Bush, J Clin Oncol 1984;2:1281; Lyman, J Natl Compr Canc Netw 2009;7:99): a full dose
given on schedule is 100%, a dose reduced by a quarter or a cycle delayed by a third of its
length both lower it. Per subject, phase and drug of the phase (supportive care excluded)::

    RDI = 100 × mean(day's amount / full daily dose) × cycles with the drug / cycles the time allowed

where *cycles the time allowed* is ``(last cycle start − first cycle start) / cycle length + 1``
(cycles as :func:`~oncotrial.clinical.exposure.cycle_numbers` delimits them), so that the
time after the last cycle does not count against it. A phase's RDI is the mean over its
drugs. A drug of the phase the subject never received in it counts 0%; a drug one of whose
records cannot be compared with the protocol dose (another unit, no body size) is left out
of the mean, and the phase has no RDI when none of its drugs can be compared. Records count
equally, so a day missed within a cycle recorded once per cycle is not seen: RDI measures
reductions and delays, the two a CRF records.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.exposure import (
    FullDose,
    administrations_per_day,
    cycle_numbers,
    epoch_suffixes,
    full_dose,
    phase_of,
    unit_of,
)
from oncotrial.clinical.sdtm_parse import boxed

__all__ = ["derive_rdi", "relative_doses"]


def relative_doses(adsl: pd.DataFrame, given: pd.DataFrame, protocol: Any, other_unit: Set[Any],
                   sizes: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """Per given EX record (the index of ``given``): ``ratio``, the record's daily amount
    over the full daily dose of its drug in the subject's actual arm (ADSL ``ACTARMCD``) and
    phase (``EPOCH``), NaN when it cannot be compared (no arm, a drug the arm does not give,
    another unit, a record in ``other_unit``, no body size for an absolute dose); and
    ``tolerance``, the relative shortfall that is not a reduction (rules:
    :mod:`oncotrial.clinical.exposure`)."""
    arm = dict(zip(adsl["USUBJID"], adsl["ACTARMCD"], strict=True))
    phase_column = "EPOCH" if "EPOCH" in given.columns else None

    def column(name: str | None) -> list[Any]:
        if name is None or name not in given.columns:
            return [None] * len(given)
        return list(boxed(given[name]))

    ratios, tolerances = [], []
    full: dict[tuple[Any, ...], FullDose | None] = {}
    for index, subject, drug, dose, unit, frequency, epoch in zip(
            given.index, *(column(c) for c in ("USUBJID", "EXTRT", "EXDOSE", "EXDOSU",
                                               "EXDOSFRQ", phase_column)), strict=True):
        code = arm.get(subject)
        ratio, tolerance = np.nan, 0.0
        if code is not None and index not in other_unit:
            key = (code, epoch if isinstance(epoch, str) else None, str(drug).lower(),
                   unit_of(unit), sizes.get(str(subject)))
            if key not in full:
                full[key] = full_dose(protocol, *key)
            expected = full[key]
            if expected is not None and expected.amount:
                per_day = (administrations_per_day(frequency) if isinstance(frequency, str)
                           and frequency.strip() else None) or expected.per_day
                ratio = float(dose) * per_day / (expected.amount * expected.per_day)
                tolerance = expected.tolerance
        ratios.append(ratio)
        tolerances.append(tolerance)
    return pd.DataFrame({"ratio": ratios, "tolerance": tolerances}, index=given.index, dtype=float)


def derive_rdi(adsl: pd.DataFrame, given: pd.DataFrame, protocol: Any, ratios: pd.Series) -> None:
    """Add ``RDI`` + the phase suffix to ``adsl`` for each phase of EX ``EPOCH`` that is a
    protocol phase: the relative dose intensity in % (module docstring), missing for a
    subject without a record of the phase. ``ratios``: :func:`relative_doses` ``ratio`` of
    ``given``. Without ``EPOCH`` nothing is added: the planned schedule is a phase's."""
    if "EPOCH" not in given.columns or not len(given):
        return
    arms = dict(zip(adsl["USUBJID"].astype(str), adsl["ACTARMCD"], strict=True))
    records = given.assign(USUBJID=given["USUBJID"].astype(str), _RATIO=ratios,
                           _UNKNOWN=ratios.isna(),
                           _DRUG=given["EXTRT"].astype(str).str.lower(),
                           _PHASE=given["EPOCH"].map(epoch_suffixes(protocol, given["EPOCH"])))
    for suffix, group in records.groupby("_PHASE", sort=False):
        cycles = cycle_numbers(group, arms, protocol, "EPOCH")
        group = group.assign(_CYCLE=cycles["cycle"], _START=cycles["start"]).dropna(subset=["_START"])
        span = group.groupby("USUBJID", sort=False)["_START"].agg(["min", "max"])
        epoch = group.groupby("USUBJID", sort=False)["EPOCH"].first()
        drugs = group.groupby(["USUBJID", "_DRUG"], sort=False).agg(
            ratio=("_RATIO", "mean"), unknown=("_UNKNOWN", "any"),
            cycles=("_CYCLE", "nunique"))
        by_drug = drugs.to_dict("index")
        values: dict[str, float] = {}
        for subject, first, last in span.itertuples(index=True, name=None):
            regimen = protocol.regimens.get(arms.get(subject))
            phase = None if regimen is None else phase_of(regimen, epoch[subject])
            if phase is None:
                continue
            allowed = (last - first).days / phase.cycle_length_days + 1
            per_drug = []
            for drug in phase.drugs:
                mine = by_drug.get((subject, drug.drug.lower()))
                if mine is None:
                    per_drug.append(0.0)
                elif not mine["unknown"]:
                    per_drug.append(100 * float(mine["ratio"]) * int(mine["cycles"]) / allowed)
            values[subject] = float(np.mean(per_drug)) if per_drug else np.nan
        if values:
            adsl["RDI" + str(suffix)] = adsl["USUBJID"].astype(str).map(values).astype(float)
