"""Dosing: body-surface area and the doses a patient receives in a phase of an arm.

Rounding, as commonly printed on chemotherapy prescriptions (both are parameters):

- the body-surface area is rounded to 2 decimals (m2) *before* it is used, so the dose can be
  checked by hand from the printed BSA (``bsa_decimals=None`` keeps it exact);
- each dose is rounded half-up to 1 decimal of its absolute unit, mg or ug
  (``dose_decimals=None`` keeps it exact).

A BSA cap (``bsa_cap``, e.g. 2.0 m2) applies after rounding and only to per-m2 doses.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncotrial.protocol.models import Drug, Protocol

BSA_METHODS = ("mosteller", "dubois")


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def body_surface_area(height_cm: float, weight_kg: float, method: str = "mosteller") -> float:
    """Body-surface area in m2 (unrounded).

    Mosteller: sqrt(height_cm * weight_kg / 3600). DuBois & DuBois:
    0.007184 * height_cm**0.725 * weight_kg**0.425.
    """
    h = _positive("height_cm", height_cm)
    w = _positive("weight_kg", weight_kg)
    if method == "mosteller":
        return math.sqrt(h * w / 3600.0)
    if method == "dubois":
        return 0.007184 * h ** 0.725 * w ** 0.425
    raise ValueError(f"bsa_method must be one of {', '.join(BSA_METHODS)}, got {method!r}")


def round_half_up(value: float, decimals: int | None) -> float:
    """Round as a pharmacist would (2.25 -> 2.3), not to even; ``None`` leaves it as is."""
    if decimals is None:
        return value
    if not isinstance(decimals, int) or isinstance(decimals, bool) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer or None, got {decimals!r}")
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class DoseRow:
    """One drug of a prescription: the absolute dose and how and when it is given."""

    drug: str
    dose: float
    unit: str
    route: str
    days: tuple[int, ...]
    infusion_minutes: tuple[float, ...] | None
    prescribed: str
    level: int
    supportive: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
    Supportive care is never reduced. ``cycle`` must be within the phase's maximum cycles.
    """
    regimen = protocol.regimen(arm)
    spec = regimen.phase(phase)
    if isinstance(cycle, bool) or not isinstance(cycle, int) \
            or not 1 <= cycle <= spec.max_cycles:
        raise ValueError(f"cycle must be an integer in 1..{spec.max_cycles} for {arm} "
                         f"{phase}, got {cycle!r}")
    levels = _levels(dose_level, [d.drug for d in spec.drugs])
    bsa = round_half_up(body_surface_area(height_cm, weight_kg, bsa_method), bsa_decimals)
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
            raise ValueError(f"dose_level names drug(s) {unknown} not given in this phase "
                             f"({', '.join(drugs)})")
        return dict(dose_level)
    return {name: dose_level for name in drugs}


def _row(drug: Drug, level: int, bsa: float, weight: float, decimals: int | None,
         *, supportive: bool) -> DoseRow:
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"dose_level must be an integer, got {level!r}")
    permitted = [0] + [-(i + 1) for i in range(len(drug.reductions.levels)
                                               if drug.reductions else 0)]
    if level not in permitted:
        raise ValueError(f"dose_level {level} is not permitted for {drug.drug} "
                         f"(permitted: {', '.join(map(str, permitted))})")
    per_unit = drug.dose
    if level and drug.reductions is not None:
        reduced = drug.reductions.levels[-level - 1]
        per_unit = reduced if drug.reductions.kind == "dose" else drug.dose * reduced / 100
    absolute_unit, _, basis = drug.unit.partition("/")
    scale = {"m2": bsa, "kg": weight, "": 1.0}[basis]
    return DoseRow(drug=drug.drug, dose=round_half_up(per_unit * scale, decimals),
                   unit=absolute_unit, route=drug.route, days=tuple(drug.days),
                   infusion_minutes=(tuple(drug.infusion_minutes)
                                     if drug.infusion_minutes else None),
                   prescribed=f"{per_unit:g} {drug.unit}", level=level,
                   supportive=supportive)
