"""Plausible ranges of physical quantities in SDTM data, and the check against them.

A value outside its range is almost always a unit or typing mistake (a height in inches,
a weight in pounds, an age of 640, a lesion of 3000 mm, a dose typed ten times too big),
and it gives results that look like results. Each such value is reported naming the
value, the subject and the row, and is never used.

Defaults, used when the protocol declares none:

=====  =========  =====================  ===========================================
Domain Column     Range                  Why
=====  =========  =====================  ===========================================
DM     AGE        0-120 years            oldest documented humans
DM     HEIGHT     100-250 cm             as the protocol's dosing defaults
DM     WEIGHT     20-350 kg              as the protocol's dosing defaults
TR     TRSTRESN   0-500 mm               a lesion diameter; 50 cm exceeds any organ
EX     EXDOSE     0 to 3 x protocol dose a dose > 0 was given; 0 is a dose not given
=====  =========  =====================  ===========================================

The height and weight ranges are those of :mod:`oncotrial.protocol.dosing` (the same range
refuses a body-surface area); a protocol that declares its own (``dosing.height_cm``,
``dosing.weight_kg``) is used instead. The dose ceiling is :data:`DOSE_CEILING` times the
highest dose the protocol gives that drug; drugs the protocol does not name only have to
be >= 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from oncotrial.protocol.dosing import HEIGHT_CM, WEIGHT_KG

__all__ = ["DEFAULT_RANGES", "DOSE_CEILING", "Range", "plausible_ranges"]

#: a recorded dose above this multiple of the protocol dose of the drug is implausible
DOSE_CEILING = 3.0


@dataclasses.dataclass(frozen=True)
class Range:
    """Closed plausible range ``[low, high]`` of a quantity in ``unit``."""

    low: float
    high: float
    unit: str

    def describe(self) -> str:
        return f"{self.low:g}-{self.high:g} {self.unit}"


#: (domain, column) -> plausible range when the protocol declares none
DEFAULT_RANGES: Mapping[tuple[str, str], Range] = {
    ("DM", "AGE"): Range(0.0, 120.0, "years"),
    ("DM", "HEIGHT"): Range(*HEIGHT_CM, "cm"),
    ("DM", "WEIGHT"): Range(*WEIGHT_KG, "kg"),
    ("TR", "TRSTRESN"): Range(0.0, 500.0, "mm"),
}


def _declared(protocol: Any, name: str) -> tuple[float, float] | None:
    dosing = getattr(protocol, "dosing", None)
    value = getattr(dosing, name, None) if dosing is not None else None
    if value is None:
        return None
    low, high = (float(v) for v in value)
    return low, high


def plausible_ranges(protocol: Any = None) -> dict[tuple[str, str], Range]:
    """The ranges to apply: the defaults, with the protocol's own height and weight ranges
    when it declares them."""
    ranges = dict(DEFAULT_RANGES)
    for column, name, unit in (("HEIGHT", "height_cm", "cm"), ("WEIGHT", "weight_kg", "kg")):
        declared = _declared(protocol, name) if protocol is not None else None
        if declared is not None:
            ranges[("DM", column)] = Range(*declared, unit)
    return ranges
