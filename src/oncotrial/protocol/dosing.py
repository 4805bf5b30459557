"""Dosing: body-surface area and the doses a patient receives in a phase of an arm.

Rounding, as commonly printed on chemotherapy prescriptions (both are parameters):

- the body-surface area is rounded to 2 decimals (m2) *before* it is used, so the dose can be
  checked by hand from the printed BSA (``bsa_decimals=None`` keeps it exact);
- each dose is rounded half-up to 1 decimal of its absolute unit, mg or ug
  (``dose_decimals=None`` keeps it exact).

A BSA cap (``bsa_cap``, e.g. 2.0 m2) applies after rounding and only to per-m2 doses.

An oral drug with tablet ``strengths`` is given as whole tablets: its computed dose is
replaced by the nearest total the strengths can make (:func:`tablets`; ties go to the lower
total, then to the fewest tablets), which is within half the smallest strength of it.

Height and weight must lie in plausible ranges (default 100-250 cm and 20-350 kg; a
protocol may declare its own in its ``dosing`` section). A height typed in inches or metres,
or a weight in pounds, gives a dose that looks like a dose; refusing it, naming the value
and the range, is the only safe answer in a prescription.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from oncotrial.core.errors import InputError

if TYPE_CHECKING:
    from oncotrial.protocol.models import Protocol
    from oncotrial.protocol.treatment import Drug

BSA_METHODS = ("mosteller", "dubois")
#: plausible height (cm) and weight (kg) of a patient when the protocol declares none
HEIGHT_CM = (100.0, 250.0)
WEIGHT_KG = (20.0, 350.0)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{name}: expected a finite number, got {value!r}", field=name)
    return float(value)


def _positive(name: str, value: Any) -> float:
    number = _number(name, value)
    if number <= 0:
        raise InputError(f"{name}: expected a positive number, got {value!r}", field=name)
    return number


def _plausible(name: str, value: Any, limits: tuple[float, float], unit: str) -> float:
    number = _number(name, value)
    low, high = limits
    if not low <= number <= high:
        raise InputError(f"{name}: {number:g} {unit} is outside the plausible range {low:g} "
                         f"to {high:g} {unit}; check the value and its unit (a protocol "
                         f"declares its own range as dosing.{name})", field=name)
    return number


def body_surface_area(height_cm: float, weight_kg: float, method: str = "mosteller", *,
                      height_range: tuple[float, float] = HEIGHT_CM,
                      weight_range: tuple[float, float] = WEIGHT_KG) -> float:
    """Body-surface area in m2 (unrounded).

    Mosteller: sqrt(height_cm * weight_kg / 3600). DuBois & DuBois:
    0.007184 * height_cm**0.725 * weight_kg**0.425. A height or weight outside
    ``height_range``/``weight_range`` raises :class:`~oncotrial.core.errors.InputError`
    (see the module docstring); :meth:`Protocol.body_surface_area` uses the protocol's.
    """
    h = _plausible("height_cm", height_cm, height_range, "cm")
    w = _plausible("weight_kg", weight_kg, weight_range, "kg")
    if method == "mosteller":
        return math.sqrt(h * w / 3600.0)
    if method == "dubois":
        return 0.007184 * h ** 0.725 * w ** 0.425
    raise InputError(f"bsa_method: expected one of {', '.join(BSA_METHODS)}, got {method!r}",
                     field="bsa_method")


def round_half_up(value: float, decimals: int | None, name: str = "decimals") -> float:
    """Round as a pharmacist would (2.25 -> 2.3), not to even; ``None`` leaves it as is."""
    if decimals is None:
        return value
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"{name}: expected a non-negative integer or None, got {decimals!r}")
    if decimals < 0:
        raise InputError(f"{name}: expected a non-negative integer or None, got {decimals!r}",
                         field=name)
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def tablets(target: float, strengths: Sequence[float]) -> tuple[tuple[float, int], ...]:
    """Whole tablets making the total nearest ``target`` (same unit as ``strengths``).

    Rule: among every total that non-negative numbers of tablets can make, the one nearest
    the target; on a tie the lower total (never more drug than prescribed when in doubt);
    among the combinations making it, the fewest tablets. The multiples of the smallest
    strength are achievable, so the total is within half the smallest strength of the
    target. Returns ``((strength, count), ...)`` by decreasing strength, counts > 0 only
    (empty for a target below half the smallest strength).
    """
    goal = _positive("target", target)
    sizes = sorted({_positive("strengths", s) for s in strengths}, reverse=True)
    if not sizes:
        raise InputError("strengths: expected at least one tablet strength", field="strengths")
    smallest = sizes[-1]
    upper = goal + smallest
    best: tuple[float, float, int, tuple[int, ...]] | None = None

    def search(i: int, total: float, counts: tuple[int, ...]) -> None:
        nonlocal best
        if i == len(sizes) - 1:
            for n in {max(0, math.floor((goal - total) / smallest)),
                      max(0, math.ceil((goal - total) / smallest))}:
                amount = total + n * smallest
                key = (round(abs(amount - goal), 9), round(amount, 9), sum(counts) + n,
                       counts + (n,))
                if best is None or key[:3] < best[:3]:
                    best = key
            return
        n = 0
        while total + n * sizes[i] <= upper:
            search(i + 1, total + n * sizes[i], counts + (n,))
            n += 1

    search(0, 0.0, ())
    assert best is not None
    return tuple((s, n) for s, n in zip(sizes, best[3], strict=True) if n > 0)


def _days_text(days: Sequence[int]) -> str:
    """``1-14`` for a run of days, ``1, 8`` for separate days."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


_FREQUENCY = {1: "once daily", 2: "twice daily", 3: "three times daily"}


@dataclass(frozen=True)
class DoseRow:
    """One drug of a prescription: the absolute dose and how and when it is given.

    ``dose`` is per administration, given ``times_per_day`` times on each of ``days``;
    for a drug dispensed as tablets it is the tablets' total, ``calculated`` the dose
    before rounding to tablets, and ``tablets`` the ``(strength, count)`` pairs.
    """

    drug: str
    dose: float
    unit: str
    route: str
    days: tuple[int, ...]
    infusion_minutes: tuple[float, ...] | None
    prescribed: str
    level: int
    supportive: bool
    times_per_day: int = 1
    calculated: float | None = None
    tablets: tuple[tuple[float, int], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """``1650 mg = 3 x 500 mg + 1 x 150 mg, twice daily, days 1-14``."""
        text = f"{self.dose:g} {self.unit}"
        if self.tablets:
            text += " = " + " + ".join(f"{n} x {s:g} {self.unit}" for s, n in self.tablets)
        if self.times_per_day > 1 or len(self.days) > 1:
            text += ", " + _FREQUENCY.get(self.times_per_day, f"{self.times_per_day} times daily")
        word = "day" if len(self.days) == 1 else "days"
        return f"{text}, {word} {_days_text(self.days)}"

    def __repr__(self) -> str:
        infusion = ""
        if self.infusion_minutes:
            infusion = f" over {'-'.join(f'{m:g}' for m in self.infusion_minutes)} min"
        level = f" (level {self.level})" if self.level else ""
        return (f"DoseRow({self.drug} {self.dose:g} {self.unit} {self.route}{infusion} "
                f"days {list(self.days)}; {self.prescribed}{level})")


def doses(protocol: Protocol, arm: str, phase: str, *, height_cm: float, weight_kg: float,
          dose_level: int | Mapping[str, int] = 0, bsa_cap: float | None = None,
          bsa_method: str = "mosteller", cycle: int = 1, bsa_decimals: int | None = 2,
          dose_decimals: int | None = 1) -> list[DoseRow]:
    """Doses of ``arm``'s ``phase``: the phase's drugs, then its supportive care.

    ``dose_level`` is 0 (full dose) or a permitted reduction level (-1, -2, ...): an int
    applies to every drug of the phase, a mapping drug -> level to the named drugs only.
    Supportive care is never reduced. ``cycle`` must be within the phase's maximum cycles
    (any cycle from 1 in an open-ended phase).
    """
    regimen = protocol.regimen(arm)
    spec = regimen.phase(phase)
    if isinstance(cycle, bool) or not isinstance(cycle, int):
        raise TypeError(f"cycle: expected an integer, got {cycle!r}")
    if cycle < 1 or (spec.max_cycles is not None and cycle > spec.max_cycles):
        upper = f"1 to {spec.max_cycles}" if spec.max_cycles is not None else "1 or more"
        raise InputError(f"cycle: expected {upper} (the cycles of {arm} {phase}), "
                         f"got {cycle!r}", field="cycle")
    levels = _levels(dose_level, [d.drug for d in spec.drugs])
    bsa = round_half_up(protocol.body_surface_area(height_cm, weight_kg, bsa_method),
                        bsa_decimals, "bsa_decimals")
    if bsa_cap is not None:
        bsa = min(bsa, _positive("bsa_cap", bsa_cap))
    weight = float(weight_kg)
    rows = [_row(d, levels.get(d.drug, 0), bsa, weight, dose_decimals, supportive=False)
            for d in spec.drugs]
    rows += [_row(d, 0, bsa, weight, dose_decimals, supportive=True)
             for d in spec.supportive_care]
    return rows


def _levels(dose_level: int | Mapping[str, int], drugs: list[str]) -> dict[str, int]:
    if isinstance(dose_level, Mapping):
        unknown = [name for name in dose_level if name not in drugs]
        if unknown:
            raise InputError(f"dose_level: names drug(s) {unknown} not given in this "
                             f"phase ({', '.join(drugs)})", field="dose_level")
        return dict(dose_level)
    return {name: dose_level for name in drugs}


def _row(drug: Drug, level: int, bsa: float, weight: float, decimals: int | None,
         *, supportive: bool) -> DoseRow:
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError(f"dose_level: expected an integer, got {level!r}")
    permitted = [0] + [-(i + 1) for i in range(len(drug.reductions.levels)
                                               if drug.reductions else 0)]
    if level not in permitted:
        raise InputError(f"dose_level: {level} is not a level of {drug.drug} in the "
                         f"protocol (permitted: {', '.join(map(str, permitted))})",
                         field="dose_level")
    per_unit = drug.dose
    if level and drug.reductions is not None:
        reduced = drug.reductions.levels[-level - 1]
        per_unit = reduced if drug.reductions.kind == "dose" else drug.dose * reduced / 100
    absolute_unit, _, basis = drug.unit.partition("/")
    scale = {"m2": bsa, "kg": weight, "": 1.0}[basis]
    calculated = per_unit * scale
    dose = round_half_up(calculated, decimals, "dose_decimals")
    packs = None
    if drug.strengths:
        packs = tablets(calculated, drug.strengths)
        dose = round_half_up(sum(s * n for s, n in packs), 6)
    return DoseRow(drug=drug.drug, dose=dose, unit=absolute_unit, route=drug.route,
                   days=tuple(drug.days),
                   infusion_minutes=(tuple(drug.infusion_minutes)
                                     if drug.infusion_minutes else None),
                   prescribed=f"{per_unit:g} {drug.unit}", level=level,
                   supportive=supportive, times_per_day=drug.times_per_day,
                   calculated=round_half_up(calculated, decimals, "dose_decimals")
                   if packs is not None else None, tablets=packs)
