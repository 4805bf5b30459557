"""The randomisation view of a protocol: arms and ratios, factors and strata.

Every method in :mod:`oncotrial.randomise` reads the protocol through :class:`Design`, which
duck-types against ``protocol.arms`` (``.code``, ``.ratio``), ``protocol.stratification``
(``.name``, ``.levels``) and ``protocol.randomisation``. Keeping this in one place means the
allocation list, the live allocation service and the simulation agree on the stratum order
and the stratum labels, which are part of the list's SHA-256.

Strata are the Cartesian product of the factor levels, in factor order then level order
(the last factor varies fastest). A stratum is labelled ``region=europe|ecog=0``.

Levels may be declared and recorded as numbers (ECOG 0/1) or text; a recorded value is
matched to the declared levels through one method, :meth:`Design.level`, which compares
the canonical text forms of :func:`oncotrial.protocol.level_key`, the function every
package compares levels with: integers and integral floats as ``"0"`` (so ``0``, ``0.0``,
``"0"`` and ``np.int64(0)`` are the same level), other numbers as their shortest ``repr``,
text stripped of surrounding spaces; booleans and missing values are never levels.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oncotrial.core.errors import InputError
from oncotrial.protocol import level_key

__all__ = ["Design", "stratum_label"]

_FORBIDDEN = re.compile(r'[,|="\r\n]')


def stratum_label(factors: Sequence[str], levels: Sequence[str]) -> str:
    """Canonical label of a stratum: ``factor=level`` pairs joined by ``|`` in factor order."""
    return "|".join(f"{f}={lv}" for f, lv in zip(factors, levels, strict=True))


@dataclass(frozen=True)
class Design:
    """Arms, allocation ratio and stratification factors of a protocol, validated."""

    protocol_id: str
    arms: tuple[str, ...]
    ratios: tuple[int, ...]
    factors: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]

    @classmethod
    def from_protocol(cls, protocol: Any) -> Design:
        arms = tuple(str(a.code) for a in protocol.arms)
        ratios = tuple(a.ratio for a in protocol.arms)
        if len(arms) < 2:
            raise InputError(f"protocol.arms must declare at least two arms, got {list(arms)}",
                             field="protocol")
        if len(set(arms)) != len(arms):
            raise InputError(f"protocol.arms codes must be unique, got {list(arms)}",
                             field="protocol")
        for code, r in zip(arms, ratios, strict=True):
            if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
                raise InputError(f"protocol.arms ratio of {code!r} must be a positive integer, "
                                 f"got {r!r}", field="protocol")
        g = math.gcd(*ratios)
        factors = tuple(str(f.name) for f in protocol.stratification)
        levels = tuple(tuple(str(level_key(lv)) for lv in f.levels) for f in protocol.stratification)
        if len(set(factors)) != len(factors):
            raise InputError(f"protocol.stratification factor names must be unique, "
                             f"got {list(factors)}", field="protocol")
        for name, lv in zip(factors, levels, strict=True):
            if not lv or len(set(lv)) != len(lv):
                raise InputError(f"protocol.stratification factor {name!r} must have distinct "
                                 f"levels, got {list(lv)}", field="protocol")
        for what, names in (("arm code", arms), ("factor name", factors),
                            ("level", [lv for lv_ in levels for lv in lv_])):
            for name in names:
                if not name or _FORBIDDEN.search(name) or name != name.strip() or name.startswith("#"):
                    raise InputError(f"protocol {what} {name!r} must be non-empty, without "
                                     "surrounding spaces, a leading '#' or any of , | = \" and "
                                     "line breaks (they delimit stratum labels and the "
                                     "allocation-list CSV)", field="protocol")
        return cls(str(protocol.id), arms, tuple(int(r) // g for r in ratios), factors, levels)

    @property
    def ratio_sum(self) -> int:
        return sum(self.ratios)

    @property
    def strata(self) -> list[tuple[str, ...]]:
        """All strata as tuples of levels (one empty stratum if the trial is unstratified)."""
        return list(itertools.product(*self.levels))

    @property
    def stratum_labels(self) -> list[str]:
        return [stratum_label(self.factors, s) for s in self.strata]

    @property
    def level_labels(self) -> list[str]:
        """``factor=level`` for every level of every factor, in order (minimisation counts)."""
        return [f"{f}={lv}" for f, lv_ in zip(self.factors, self.levels, strict=True) for lv in lv_]

    def level_offsets(self) -> np.ndarray:
        """Index of each factor's first level in :attr:`level_labels`."""
        return np.concatenate([[0], np.cumsum([len(lv) for lv in self.levels])[:-1]]).astype(np.int64)

    def level(self, factor: str, value: Any) -> str:
        """The declared level of ``factor`` that a recorded ``value`` denotes.

        The one place where recorded values meet declared levels: ``1``, ``1.0``, ``"1"``
        and ``np.int64(1)`` all denote a declared level ``1`` (or ``"1"``). Raises
        :class:`~oncotrial.core.errors.InputError` (``field="stratum"``) naming the
        declared levels for an unknown factor or level.
        """
        if factor not in self.factors:
            raise InputError(f"stratum has unknown factor {factor!r}; declared factors: "
                             f"{list(self.factors)}", field="stratum")
        levels = self.levels[self.factors.index(factor)]
        key = level_key(value)
        if key is None or key not in levels:
            raise InputError(f"stratum factor {factor!r} has unknown level {value!r}; "
                             f"declared levels: {list(levels)}", field="stratum")
        return key

    def canonical(self, stratum: Mapping[str, Any]) -> dict[str, str]:
        """``stratum`` with every value replaced by its declared level, in factor order."""
        return {f: self.levels[i][k] for i, (f, k) in enumerate(zip(self.factors, self.stratum_levels(stratum),
                                                                     strict=True))}

    def stratum_levels(self, stratum: Mapping[str, Any]) -> tuple[int, ...]:
        """Level index per factor of a patient's stratum, with a precise error on bad input."""
        if not isinstance(stratum, Mapping):
            raise TypeError(f"stratum: expected a mapping factor -> level, "
                            f"got {type(stratum).__name__}")
        extra = sorted(set(stratum) - set(self.factors), key=str)
        if extra:
            raise InputError(f"stratum has unknown factor(s) {extra}; declared factors: "
                             f"{list(self.factors)}", field="stratum")
        out = []
        for name, lv in zip(self.factors, self.levels, strict=True):
            if stratum.get(name) is None:
                what = "is missing factor" if name not in stratum else "has no value for factor"
                raise InputError(f"stratum {what} {name!r} (declared levels: {list(lv)})",
                                 field="stratum")
            out.append(lv.index(self.level(name, stratum[name])))
        return tuple(out)

    def stratum_index(self, stratum: Mapping[str, Any]) -> int:
        """Position of the stratum in :attr:`strata` (row-major over the factor levels)."""
        idx = 0
        for k, n in zip(self.stratum_levels(stratum), (len(lv) for lv in self.levels), strict=True):
            idx = idx * n + k
        return idx

    def strata_level_matrix(self) -> np.ndarray:
        """``(n_strata, n_factors)`` level indices of every stratum."""
        if not self.factors:
            return np.zeros((1, 0), dtype=np.int64)
        return np.array([[lv.index(x) for lv, x in zip(self.levels, s, strict=True)] for s in self.strata],
                        dtype=np.int64)
