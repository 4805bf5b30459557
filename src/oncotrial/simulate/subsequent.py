"""Therapy after progression (SDTM CM) and the observed second progression.

After the first progression is seen on a scan, a patient starts a second line of therapy
(``second_line`` probability, ``start_days`` after the scan, if alive and before the
cut-off); the regimen is drawn from the arm's shares (a cross-over to the experimental drug
is one of them). Second progression is *observed* on that line:
its date is the latent second progression of :mod:`.disease`, but never before six weeks of
the new line (the first evaluation), so a fast latent second progression is seen at that
first evaluation; if death comes first, PFS2 ends with the death. After the second
progression a third line may start, never repeating the second-line regimen. Without a
second progression (an overall survival curve of its own, :mod:`.disease`) there is no third
line.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.simulate.scenario import Scenario

__all__ = ["FIRST_EVALUATION_DAYS", "Subsequent", "simulate_subsequent"]

#: days from the start of a new line to its first tumour evaluation
FIRST_EVALUATION_DAYS = 42


@dataclasses.dataclass(frozen=True, repr=False)
class Subsequent(Result):
    """``cm``: rows ``patient, CMTRT, CMSCAT, day, end_day`` (days from randomisation);
    ``second_progression_day``: observed second progression (NaN if none by the cut-off);
    ``second_line`` / ``third_line``: regimen per patient (empty if none)."""

    cm: pd.DataFrame
    second_progression_day: np.ndarray
    second_line: np.ndarray
    third_line: np.ndarray


def _draw(rng: np.random.Generator, options: dict[str, float], n: int,
          exclude: np.ndarray | None = None) -> np.ndarray:
    names = np.array(list(options), dtype=object)
    weights = np.tile(np.array(list(options.values()), dtype=float), (n, 1))
    if exclude is not None:
        weights[exclude[:, None] == names[None, :]] = 0.0
    total = weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(np.divide(weights, total, out=np.zeros_like(weights), where=total > 0), axis=1)
    pick = (rng.random(n)[:, None] >= cum).sum(axis=1)
    return names[np.minimum(pick, len(names) - 1)]


def simulate_subsequent(scenario: Scenario, arms: np.ndarray, *, progression_day: np.ndarray,
                        second_progression_day: np.ndarray, death_day: np.ndarray,
                        cutoff_day: np.ndarray, rng: np.random.Generator) -> Subsequent:
    """Second and third lines and the observed second progression (days from randomisation;
    ``progression_day``: first PD scan, inf if none; ``second_progression_day``: latent,
    NaN if never; ``death_day``: latent death)."""
    n = len(arms)
    spec = scenario.subsequent_therapy
    lo, hi = spec.start_days
    u = rng.random((2, n))
    delay = rng.integers(lo, hi + 1, (2, n)).astype(float)
    p2 = np.array([spec.arms[a].second_line for a in arms])
    p3 = np.array([spec.arms[a].third_line for a in arms])
    second = np.full(n, "", dtype=object)
    third = np.full(n, "", dtype=object)
    for code, arm in spec.arms.items():
        on = np.flatnonzero(arms == code)
        second[on] = _draw(rng, arm.second_line_regimens, len(on))
        third[on] = _draw(rng, arm.third_line_regimens, len(on), exclude=second[on])
    limit = np.minimum(death_day, cutoff_day + 1.0)  # a start on the cut-off day is recorded
    start2 = progression_day + delay[0]
    line2 = np.isfinite(progression_day) & (u[0] < p2) & (start2 < limit)
    anchor = np.where(line2, start2, progression_day)
    pd2 = np.maximum(second_progression_day, anchor + FIRST_EVALUATION_DAYS)
    seen = np.isfinite(progression_day) & ~np.isnan(second_progression_day) & (pd2 < limit)
    pd2 = np.where(seen, np.floor(pd2), np.nan)
    start3 = pd2 + delay[1]
    line3 = line2 & seen & (u[1] < p3) & (start3 < limit)
    cm = pd.concat([
        pd.DataFrame({"patient": np.flatnonzero(line2), "CMTRT": second[line2],
                      "CMSCAT": "SECOND LINE", "day": np.floor(start2[line2]),
                      "end_day": pd2[line2]}),
        pd.DataFrame({"patient": np.flatnonzero(line3), "CMTRT": third[line3],
                      "CMSCAT": "THIRD LINE", "day": np.floor(start3[line3]), "end_day": np.nan}),
    ], ignore_index=True).sort_values(["patient", "day"], kind="stable", ignore_index=True)
    return Subsequent(cm, pd2, np.where(line2, second, ""), np.where(line3, third, ""))
