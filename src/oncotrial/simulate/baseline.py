"""Who enters the trial, when and where: accrual dates, centres and Table 1 characteristics.

* Accrual: randomisation dates are the order statistics of i.i.d. draws from a
  piecewise-constant intensity over the enrolment period (slower while centres open), moved
  to the next weekday. Conditioning a Poisson process on its count gives exactly this.
* Centres: each replica draws the centres' shares from a symmetric Dirichlet, so recruitment
  is uneven, as in any multicentre trial (LMS04: 20 French Sarcoma Group centres).
* Characteristics are drawn independently of the arm (randomisation), matching the pooled
  Table 1 shares: uterine origin, metastatic stage, sex (every uterine patient is a woman),
  ECOG 0/1 with missing values, grade for soft-tissue tumours only (missing for some),
  metastasis sites among metastatic patients (at least one each) and the number of
  metastases (1 or more). Age follows a piecewise-linear quantile function through the
  published median and quartiles.

Metastasis sites: the published shares are *given at least one site*; independent draws
conditioned on at least one site inflate each share, so :func:`site_probabilities` solves for
the unconditional probabilities that give the published shares after conditioning.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.simulate.scenario import Grade, Scenario

__all__ = ["LESIONS_PER_SITE", "STRATA", "Patients", "accrual_dates", "draw_baseline",
           "site_probabilities"]

#: stratification factors a replica draws (protocol factor name -> levels)
STRATA = {"origin": ("uterine", "soft_tissue"), "stage": ("locally_advanced", "metastatic")}
#: inclusive range of metastatic lesions per involved site (lung, liver, bone, skin, other)
LESIONS_PER_SITE = np.array([[1, 4], [1, 3], [1, 2], [1, 1], [1, 2]])


def site_probabilities(shares: np.ndarray, tol: float = 1e-12) -> tuple[np.ndarray | None, float]:
    """Unconditional site probabilities ``p`` with ``p / P(any site) = shares``, and the
    probability of exactly one site given at least one.

    Fixed point ``p = shares * (1 - prod(1 - p))``, started at ``shares``; it converges
    when the shares add up to more than one site per patient (a patient has at least one),
    otherwise no solution exists and ``(None, 0.0)`` is returned.
    """
    shares = np.asarray(shares, dtype=float)
    if shares.sum() <= 1.0:
        return None, 0.0
    p = shares.copy()
    for _ in range(10_000):
        new = np.minimum(shares * (1.0 - np.prod(1.0 - p)), 1.0)
        if np.max(np.abs(new - p)) < tol:
            p = new
            break
        p = new
    none = np.prod(1.0 - p)
    exactly_one = sum(p[j] * np.prod(np.delete(1.0 - p, j)) for j in range(len(p)))
    return p, float(exactly_one / (1.0 - none))


def accrual_dates(scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Randomisation dates (``datetime64[D]``), in accrual order (sorted)."""
    acc = scenario.accrual
    start = np.datetime64(acc.start, "D")
    length = float((np.datetime64(acc.end, "D") - start).astype(np.int64))
    u = np.sort(rng.random(scenario.patients))
    if acc.ramp_up is None:
        days = u * length
    else:
        ramp = min(acc.ramp_up.months * 30.4375, length)
        rel = acc.ramp_up.relative_intensity
        mass = ramp * rel + (length - ramp)
        x = u * mass
        days = np.where(x < ramp * rel, x / rel, ramp + (x - ramp * rel))
    dates = start + np.floor(days).astype(np.int64)
    if acc.weekdays_only:
        dates = np.busday_offset(dates, 0, roll="forward")
    return dates.astype("datetime64[D]")


@dataclasses.dataclass(frozen=True, repr=False)
class Patients(Result):
    """One entry per patient, in accrual order. ``lesions`` holds the number of metastatic
    lesions per site (columns lung, liver, bone, skin, other); ``nmets`` is their total.
    ``ecog`` is -1 and ``grade`` 0 where missing or not applicable."""

    site: np.ndarray
    age: np.ndarray
    uterine: np.ndarray
    metastatic: np.ndarray
    female: np.ndarray
    ecog: np.ndarray
    grade: np.ndarray
    lesions: np.ndarray
    nmets: np.ndarray
    primary_in_place: np.ndarray


def _categorical(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n), side="right"), len(probs) - 1)


def draw_baseline(scenario: Scenario, rng: np.random.Generator) -> Patients:
    """Centres and baseline characteristics of ``scenario.patients`` patients."""
    n = scenario.patients
    b = scenario.baseline
    weights = rng.dirichlet(np.full(scenario.sites.count, scenario.sites.concentration))
    site = _categorical(rng, n, weights) + 1
    qs = np.array(b.age.quantiles, dtype=float)
    age = np.floor(np.interp(rng.random(n), qs[:, 0], qs[:, 1])).astype(np.int64)
    uterine = rng.random(n) < b.uterine
    metastatic = rng.random(n) < b.metastatic
    female = uterine | (rng.random(n) < b.female_soft_tissue)
    u = rng.random(n)
    ecog = np.where(u < b.ecog_missing, -1, (rng.random(n) < b.ecog_1).astype(np.int64))
    grades: list[Grade] = ["1", "2", "3", "missing"]
    probs = np.array([b.grade_soft_tissue.get(g, 0.0) for g in grades])
    grade = np.array([1, 2, 3, 0])[_categorical(rng, n, probs)]
    grade = np.where(uterine, 0, grade)

    fitted = scenario.fitted
    p = np.array(list(fitted.site_probabilities.values()))
    has = rng.random((n, len(p))) < p
    empty = metastatic & ~has.any(axis=1)
    while empty.any():  # condition on at least one site: redraw the empty rows
        has[empty] = rng.random((int(empty.sum()), len(p))) < p
        empty = metastatic & ~has.any(axis=1)
    has &= metastatic[:, None]
    low, high = LESIONS_PER_SITE[:, 0], LESIONS_PER_SITE[:, 1]
    counts = np.where(has, rng.integers(low, high + 1, size=has.shape), 0)
    one_site = has.sum(axis=1) == 1
    single = one_site & (rng.random(n) < fitted.single_given_one_site)
    # one site but not a single metastasis: at least two lesions at that site
    more = one_site & ~single
    counts = np.where(more[:, None] & has, np.maximum(counts, 2), counts)
    counts = np.where(single[:, None] & has, 1, counts)
    primary = ~metastatic | (rng.random(n) < b.primary_in_place)
    measurable = (counts[:, [0, 1, 4]] > 0).any(axis=1)  # lung, liver, other (bone and skin: non-target)
    primary |= ~measurable
    return Patients(site, age, uterine, metastatic, female, ecog, grade, counts,
                    counts.sum(axis=1), primary)
