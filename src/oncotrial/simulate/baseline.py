"""Who enters the trial, when and where: accrual dates, centres and Table 1 characteristics.

* Accrual: randomisation dates are the order statistics of i.i.d. draws from a
  piecewise-constant intensity over the enrolment period (slower while centres open), moved
  to the next weekday. Conditioning a Poisson process on its count gives exactly this.
* Centres: each replica draws the centres' shares from a symmetric Dirichlet, so recruitment
  is uneven, as in any multicentre trial; each centre belongs to one of the scenario's
  countries (in proportion to their numbers of centres).
* Characteristics are drawn independently of the arm (randomisation): the protocol's
  stratification factors first, each from the scenario's shares per level (in the order the
  scenario lists the levels), then the characteristics some strata determine (patients of
  ``all_female`` levels are women, metastatic disease where ``metastatic`` names stratum
  levels, no tumour grade in ``grade_not_applicable`` levels, a fixed primary-tumour location
  in ``primary_location`` levels), ECOG with missing values, metastasis sites among
  metastatic patients (at least one each) and the number of metastases (1 or more). Age
  follows a piecewise-linear quantile function through the published median and quartiles.

Metastasis sites: the published shares are *given at least one site*; independent draws
conditioned on at least one site inflate each share, so :func:`site_probabilities` solves for
the unconditional probabilities that give the published shares after conditioning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.simulate.scenario import Scenario

__all__ = ["LESIONS_PER_SITE", "Patients", "accrual_dates", "draw_baseline", "in_levels",
           "site_probabilities"]

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
    """One entry per patient, in accrual order. ``strata`` maps each stratification factor
    to the patients' levels (text, as the protocol's levels); ``lesions`` holds the number of
    metastatic lesions per site (columns lung, liver, bone, skin, other); ``nmets`` is their
    total. ``ecog`` is -1 and ``grade`` 0 where missing or not applicable;
    ``primary_location`` is the location a stratum fixes, empty where it is drawn."""

    site: np.ndarray
    country: np.ndarray
    age: np.ndarray
    strata: Mapping[str, np.ndarray]
    metastatic: np.ndarray
    female: np.ndarray
    ecog: np.ndarray
    grade: np.ndarray
    lesions: np.ndarray
    nmets: np.ndarray
    primary_in_place: np.ndarray
    primary_location: np.ndarray


def _categorical(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n), side="right"), len(probs) - 1)


def in_levels(strata: Mapping[str, np.ndarray], chosen: Mapping[str, Sequence[object]],
              n: int) -> np.ndarray:
    """Patients whose level of any factor of ``chosen`` is one of its listed levels."""
    out = np.zeros(n, dtype=bool)
    for factor, levels in chosen.items():
        out |= np.isin(strata[factor], [str(v) for v in levels])
    return out


def draw_baseline(scenario: Scenario, rng: np.random.Generator) -> Patients:
    """Centres and baseline characteristics of ``scenario.patients`` patients."""
    n = scenario.patients
    b = scenario.baseline
    weights = rng.dirichlet(np.full(scenario.sites.count, scenario.sites.concentration))
    site = _categorical(rng, n, weights) + 1
    country = np.array(scenario.sites.site_countries(), dtype=object)[site - 1]
    qs = np.array(b.age.quantiles, dtype=float)
    age = np.floor(np.interp(rng.random(n), qs[:, 0], qs[:, 1])).astype(np.int64)
    strata: dict[str, np.ndarray] = {}
    for factor in scenario.protocol_model().stratification:
        shares = b.strata[factor.name]
        names = np.array([str(level) for level in shares], dtype=object)
        strata[factor.name] = names[_categorical(rng, n, np.array(list(shares.values())))]
    metastatic = (rng.random(n) < b.metastatic if isinstance(b.metastatic, float)
                  else in_levels(strata, b.metastatic, n))
    female = in_levels(strata, b.all_female, n) | (rng.random(n) < b.female)
    u = rng.random(n)
    if b.ecog is None:
        ecog = np.full(n, -1, dtype=np.int64)
    else:
        ecog = np.where(u < b.ecog.missing, -1, (rng.random(n) < b.ecog.one).astype(np.int64))
    grade = np.zeros(n, dtype=np.int64)
    if b.grade is not None:
        probs = np.array([b.grade.shares.get(g, 0.0) for g in ("1", "2", "3", "missing")])
        grade = np.array([1, 2, 3, 0])[_categorical(rng, n, probs)]
        grade = np.where(in_levels(strata, b.grade.not_applicable, n), 0, grade)

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
    location = np.full(n, "", dtype=object)
    for name, by_level in b.primary_location.fixed.items():
        for level, where in by_level.items():
            location[strata[name] == str(level)] = where
    return Patients(site, country, age, strata, metastatic, female, ecog, grade, counts,
                    counts.sum(axis=1), primary, location)
