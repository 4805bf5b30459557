"""Exposure rules read from the protocol: phases, per-phase variable names, cycles received
and the full dose an EX record is compared with.

Nothing here knows a particular trial: arms, phases, drugs, doses, dosing days, frequencies
and tablet strengths all come from the protocol's regimens.

* Phases. An ``EPOCH`` value is a protocol phase when it equals a phase name ignoring case
  and everything but letters and digits (``COMBINATION``, ``Combination`` -> ``combination``).
  Per-phase ADSL variables are a prefix (``RED``, ``EOT``, ``CYC``) plus the phase's
  *suffix*: the first 5 letters/digits of its name, upper case, so names fit SAS v5 (<= 8
  characters). Suffixes are given to the distinct phase names in protocol order (arms in
  order, then their phases); a suffix already taken by an earlier phase keeps its first
  4 characters (or fewer) and ends in the smallest digit from 2 that makes it unique
  (``treatment_a``, ``treatment_b`` -> ``TREAT``, ``TREA2``). ``EPOCH`` values that are not
  protocol phases (``FOLLOW-UP``) come after, in sorted order, by the same rule. A name
  without letters or digits gets ``PHASE``.
* Cycles received. A subject's given records (``EXDOSE > 0``) are taken in date order; the
  first starts cycle 1 and a record starts a new cycle when it is dated more days after the
  current cycle's first record than the last dosing day of the arm's phase allows (day 14 of
  a drug given on days 1-14: 13 days). So one record per cycle, one per day and one per
  administration all count the same cycles, and a drug given on day 1 only makes every
  distinct date a cycle. Without ``EPOCH`` the window is that of the arm's whole regimen;
  without an arm, every distinct date is a cycle.
* Doses. ``EXDOSE`` is the amount per administration (the CDISC definition) and
  ``EXDOSFRQ`` how often it was given that day; the amount a record stands for per dosing
  day is ``EXDOSE`` times the administrations per day of ``EXDOSFRQ`` (``QD`` 1, ``BID`` 2,
  ``TID`` 3, ``QID`` 4, ``Q12H`` 2, ``Q8H`` 3, ``Q6H`` 4, ``ONCE``, ``QOD`` and
  ``Q<n>D``/``Q<n>W``/``Q<n>M`` 1). Without ``EXDOSFRQ`` the protocol's ``times_per_day``
  is assumed, i.e. the record holds one administration. So a drug given twice daily may be
  recorded as one record per administration or per day with the single dose (no
  ``EXDOSFRQ`` or ``BID``), or one record per day with the day's total (``QD``: once a day,
  the whole daily amount). An ``EXDOSFRQ`` not in that list is an issue and the record is
  not compared. The day's amount is compared with the full daily dose of the drug: the
  protocol dose times ``times_per_day`` in the protocol's unit, or, for a record in the
  absolute unit (``MG``) of a per-m2 or per-kg drug, the subject's own dose computed from
  DM ``HEIGHT`` and ``WEIGHT`` (:meth:`~oncotrial.protocol.Protocol.doses`: Mosteller
  body-surface area rounded to 2 decimals, doses to 0.1 mg, oral drugs rounded to what their
  tablet strengths make). Such a record is a reduction only when more than
  :data:`BODY_SIZE_TOLERANCE` below (sites compute the body-surface area with other
  formulas and round otherwise), or half the gap to the first reduction level when that is
  closer. A dose equal to the dose rounded to tablet strengths is never a reduction, also
  in the per-m2 unit when the subject's body size is known. ``MCG`` is read as ``UG``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError

__all__ = ["BODY_SIZE_TOLERANCE", "FullDose", "administrations_per_day", "body_sizes",
           "count_cycles", "cycle_numbers", "epoch_suffixes", "full_dose", "phase_key", "phase_of",
           "phase_suffixes", "regimen_drugs", "unit_of"]

#: relative shortfall of a dose computed from the subject's body size that is not a reduction
BODY_SIZE_TOLERANCE = 0.05

_ONE_A_DAY = re.compile(r"^(ONCE|QD|QOD|Q\d*[DWM])$")
_EVERY_HOURS = re.compile(r"^Q(\d+)H$")
_PER_DAY = {"QD": 1, "BID": 2, "TID": 3, "QID": 4}


def phase_key(value: Any) -> str:
    """The comparable form of a phase name or ``EPOCH`` value: letters and digits, lower case."""
    return re.sub(r"[^0-9a-z]", "", str(value).casefold())


def _suffix(name: Any, taken: set[str]) -> str:
    base = re.sub(r"[^A-Z0-9]", "", str(name).upper())[:5] or "PHASE"
    candidate, k = base, 2
    while candidate in taken:
        digit = str(k)
        candidate = base[:5 - len(digit)] + digit
        k += 1
    taken.add(candidate)
    return candidate


def phase_suffixes(protocol: Any) -> dict[str, str]:
    """Phase name -> suffix of its per-phase ADSL variables (rule: module docstring)."""
    out: dict[str, str] = {}
    keys: set[str] = set()
    taken: set[str] = set()
    for arm in protocol.arms:
        regimen = protocol.regimens.get(arm.code)
        for name in regimen.phase_names if regimen is not None else []:
            if phase_key(name) not in keys:
                keys.add(phase_key(name))
                out[name] = _suffix(name, taken)
    return out


def epoch_suffixes(protocol: Any, epochs: Iterable[Any]) -> dict[Any, str]:
    """``EPOCH`` value -> variable suffix: a protocol phase's suffix, else the same rule
    applied after the protocol's phases (sorted values)."""
    phases = phase_suffixes(protocol)
    by_key = {phase_key(name): suffix for name, suffix in phases.items()}
    taken = set(phases.values())
    out: dict[Any, str] = {}
    others: dict[str, str] = {}
    for value in sorted({v for v in epochs if isinstance(v, str) and v.strip()}):
        key = phase_key(value)
        if key in by_key:
            out[value] = by_key[key]
        else:
            if key not in others:
                others[key] = _suffix(value, taken)
            out[value] = others[key]
    return out


def regimen_drugs(protocol: Any, arm: str, *, supportive: bool = False) -> set[str]:
    """Lower-cased drugs of ``arm``'s regimen over all its phases (and supportive care)."""
    regimen = protocol.regimens.get(arm)
    drugs: set[str] = set()
    for phase in regimen.phases if regimen is not None else []:
        drugs |= {d.drug.lower() for d in phase.drugs}
        if supportive:
            drugs |= {d.drug.lower() for d in phase.supportive_care}
    return drugs


def phase_of(regimen: Any, epoch: Any) -> Any:
    """The phase of ``regimen`` an ``EPOCH`` value names (rule: module docstring), else None."""
    if not isinstance(epoch, str):
        return None
    key = phase_key(epoch)
    return next((p for p in regimen.phases if phase_key(p.name) == key), None)


def _window(regimen: Any, epoch: Any) -> int:
    """Days after a cycle's first record that still belong to the cycle."""
    phase = phase_of(regimen, epoch)
    phases = [phase] if phase is not None else list(regimen.phases)
    last = [d.days[-1] - d.days[0] for p in phases for d in (*p.drugs, *p.supportive_care)]
    return max(last, default=0)


def cycle_numbers(given: pd.DataFrame, arms: Mapping[str, Any], protocol: Any,
                  phase_column: str | None = None) -> pd.DataFrame:
    """Per given EX record (the index of ``given``): ``cycle``, its cycle number (1, 2, ...)
    among its subject's records, and ``start``, that cycle's first dosing date (rule: module
    docstring); missing for an undated record. With ``phase_column`` the records are those
    of one phase. One pass over the records in date order, so a whole trial takes
    milliseconds."""
    subjects = given["USUBJID"].astype(str)
    dates = pd.to_datetime(given["EXSTDTC"], errors="coerce").dt.normalize()
    first_epoch = (given[phase_column].groupby(subjects, sort=False).first() if phase_column
                   else pd.Series(None, index=subjects.unique(), dtype=object))
    windows = {}
    for subject, epoch in first_epoch.items():
        regimen = protocol.regimens.get(arms.get(subject))
        windows[subject] = _window(regimen, epoch) if regimen is not None else 0
    dated = pd.DataFrame({"subject": subjects, "date": dates}).dropna(subset=["date"])
    dated = dated.sort_values(["subject", "date"], kind="stable")
    # the walk is sequential (a cycle starts where the previous one's window ends), so it runs
    # on Python ints (nanoseconds), several times faster than on numpy datetime scalars
    day = 86_400_000_000_000
    cycle = np.zeros(len(dated), dtype=np.int64)
    start = np.empty(len(dated), dtype=np.int64)
    current, number, first, window = None, 0, 0, 0
    for i, (subject, date) in enumerate(zip(dated["subject"].tolist(),
                                            dated["date"].to_numpy(dtype="datetime64[ns]").view(np.int64).tolist(),
                                            strict=True)):
        if subject != current:
            current, number, first, window = subject, 1, date, windows[subject] * day
        elif date - first > window:
            number, first = number + 1, date
        cycle[i], start[i] = number, first
    out = pd.DataFrame({"cycle": pd.array(cycle, dtype="Int64"),
                        "start": start.view("datetime64[ns]")}, index=dated.index)
    return out.reindex(given.index)


def count_cycles(given: pd.DataFrame, arms: Mapping[str, Any], protocol: Any,
                 phase_column: str | None = None) -> pd.Series:
    """Cycles received per subject (index ``USUBJID``) from given EX records (rule: module
    docstring); with ``phase_column`` the records are those of one phase."""
    cycles = cycle_numbers(given, arms, protocol, phase_column)["cycle"]
    per = cycles.groupby(given["USUBJID"].astype(str), sort=False).max()
    return per.fillna(0).astype("int64")


def administrations_per_day(frequency: Any) -> int | None:
    """Administrations per dosing day of a CDISC ``EXDOSFRQ`` term; None if not known."""
    text = re.sub(r"\s+", "", str(frequency)).upper()
    if text in _PER_DAY:
        return _PER_DAY[text]
    if _ONE_A_DAY.match(text):
        return 1
    hours = _EVERY_HOURS.match(text)
    if hours and int(hours.group(1)) and 24 % int(hours.group(1)) == 0:
        return 24 // int(hours.group(1))
    return None


def unit_of(value: Any) -> str | None:
    """A dose unit compared upper case, ``MCG`` read as ``UG``; None when not given."""
    return _unit_text(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=256)
def _unit_text(value: str) -> str | None:
    """:func:`unit_of` of a text, remembered: a trial's EX records repeat a few unit texts."""
    if not value.strip():
        return None
    return re.sub(r"^MCG", "UG", value.strip().upper())


def body_sizes(dm: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Subject -> (height cm, weight kg) from DM ``HEIGHT``/``WEIGHT`` (any case), when both
    are numbers (validation has already emptied implausible ones)."""
    upper = {str(c).upper(): c for c in dm.columns}
    if "HEIGHT" not in upper or "WEIGHT" not in upper:
        return {}
    out = {}
    for subject, height, weight in zip(dm["USUBJID"], dm[upper["HEIGHT"]], dm[upper["WEIGHT"]],
                                       strict=True):
        h, w = pd.to_numeric(height, errors="coerce"), pd.to_numeric(weight, errors="coerce")
        if pd.notna(h) and pd.notna(w):
            out[str(subject)] = (float(h), float(w))
    return out


class FullDose(NamedTuple):
    """The full dose per administration of (arm, phase, drug) in a record's unit, the
    protocol's administrations per day and the relative tolerance of the comparison;
    ``amount`` is None when it cannot be known (no body size for an absolute record)."""

    amount: float | None
    per_day: int
    tolerance: float


def _drug_in(protocol: Any, arm: str, epoch: Any, drug: str) -> tuple[Any, Any] | None:
    """(phase, drug spec) of ``drug`` in ``arm``: in the ``EPOCH`` phase when known, else the
    phase giving it at its highest dose."""
    regimen = protocol.regimens.get(arm)
    if regimen is None:
        return None
    phase = phase_of(regimen, epoch)
    phases = [phase] if phase is not None else list(regimen.phases)
    found = [(p, d) for p in phases for d in p.drugs if d.drug.lower() == drug]
    if not found:
        return None
    return max(found, key=lambda pair: float(pair[1].dose))


def full_dose(protocol: Any, arm: str, epoch: Any, drug: str, unit: str | None,
              body: tuple[float, float] | None) -> FullDose | None:
    """The full dose a record of ``drug`` (lower case) in ``unit`` is compared with (rules:
    module docstring); None when the arm does not give the drug or the unit is another."""
    found = _drug_in(protocol, arm, epoch, drug)
    if found is None:
        return None
    phase, spec = found
    protocol_unit = spec.unit.upper()
    absolute, _, basis = protocol_unit.partition("/")
    unit = unit or protocol_unit
    if unit not in (protocol_unit, absolute):
        return None
    row = None
    if body is not None and (basis or spec.strengths):
        try:
            rows = protocol.doses(arm, phase.name, height_cm=body[0], weight_kg=body[1])
        except InputError:
            rows = []
        row = next((r for r in rows if r.drug == spec.drug and not r.supportive), None)
    if unit == protocol_unit:
        amount = float(spec.dose)
        if row is not None and row.tablets and basis:
            scale = row.calculated / amount if row.calculated else None
            if scale:
                amount = min(amount, row.dose / scale)
        elif row is not None and row.tablets:
            amount = min(amount, row.dose)
        return FullDose(amount, spec.times_per_day, 1e-9)
    if row is None:
        return FullDose(None, spec.times_per_day, 0.0)
    tolerance = BODY_SIZE_TOLERANCE
    if spec.reductions is not None:
        first = spec.reductions.levels[0]
        level = first if spec.reductions.kind == "dose" else spec.dose * first / 100
        tolerance = min(tolerance, (1 - level / spec.dose) / 2)
    return FullDose(float(row.dose), spec.times_per_day, tolerance)
