"""The disease course: a multi-state model of progression, second progression and death.

States and transitions (times in months, clock reset at each transition: semi-Markov)::

    progression-free --(PFS)--> progressed --(sojourn 1)--> second progression --(sojourn 2)--> dead
           |                         |
           +--> dead (death_share)   +--> dead (death_share)

* Progression-free time: a piecewise-exponential distribution through survival landmarks
  (:class:`PiecewiseExponential`); a share of its events are deaths without progression,
  the rest first progressions. The landmarks are targets, reproduced exactly.
* From first progression, a Weibull sojourn ends in second progression or (a share) death;
  from second progression a Weibull sojourn ends in death.

So PFS <= PFS2 <= OS holds for every patient by construction, and most deaths follow
progression (as in most advanced cancers, where deaths are due to the disease). OS and PFS2 are not
targets of their own: they follow from the progression-free time and the post-progression
sojourns, whose parameters are calibrated to the published medians, 24-month rates and
hazard ratios (``benchmarks/calibrate_replica.py``).

Overall survival as a target of its own (an arm with an ``overall_survival`` curve, for a
trial steered by its OS): the death time is drawn from that piecewise-exponential curve and
the progression time from the progression-free curve; a patient whose progression would come
after the death dies without progression (so PFS is the earlier of the two and PFS <= OS
still holds). The OS curve is then reproduced exactly; the PFS curve is exactly its target
where the two latent times never cross (PFS curve well below the OS curve, or loadings close
to 1), otherwise a little lower. There is no second progression in this model.

Why a latent factor: the three times of one patient are coupled through a Gaussian copula on
a latent *indolence* ``z ~ N(0, 1)`` (each time's uniform is ``Phi(rho z + sqrt(1 - rho^2) e)``),
so a patient whose disease progresses slowly also tends to live long after progression, and
responders (:mod:`.tumours`) tend to be the long-PFS patients. The copula leaves every
margin unchanged; it only makes OS heavier-tailed than independent sojourns would, as the
published OS curves are (24 and 33 months medians with 21 % and 36 % of patients alive
near five years).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.simulate.scenario import Scenario

__all__ = ["DiseaseCourse", "PiecewiseExponential", "simulate_disease", "weibull_quantile"]


@dataclasses.dataclass(frozen=True, repr=False)
class PiecewiseExponential(Result):
    """Survival ``S(t) = exp(-H(t))`` with ``H`` linear between knots (months from 0).

    ``cumulative_hazard[i]`` is ``H(times[i])``; past the last knot the hazard of the last
    piece continues (``tail_hazard``).
    """

    times: np.ndarray
    cumulative_hazard: np.ndarray
    tail_hazard: float

    @classmethod
    def from_points(cls, points: Sequence[tuple[float, float]]) -> PiecewiseExponential:
        """Through ``(months, survival)`` landmarks, sorted by time with decreasing survival
        in (0, 1) (:class:`~oncotrial.simulate.scenario.Scenario` checks this first)."""
        times = np.r_[0.0, [float(t) for t, _ in points]]
        cum = np.r_[0.0, [-np.log(float(s)) for _, s in points]]
        if np.any(np.diff(times) <= 0) or np.any(np.diff(cum) <= 0):
            raise InputError(f"landmarks: expected increasing times with decreasing survival, "
                             f"got {list(points)}", field="landmarks")
        tail = float((cum[-1] - cum[-2]) / (times[-1] - times[-2]))
        return cls(times, cum, tail)

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """``S(t)`` at times in months."""
        t = np.asarray(t, dtype=float)
        inside = np.interp(t, self.times, self.cumulative_hazard)
        beyond = self.cumulative_hazard[-1] + self.tail_hazard * (t - self.times[-1])
        return np.exp(-np.where(t > self.times[-1], beyond, inside))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The time ``t`` with ``1 - S(t) = u`` (inverse transform sampling)."""
        target = -np.log1p(-np.asarray(u, dtype=float))
        inside = np.interp(target, self.cumulative_hazard, self.times)
        beyond = self.times[-1] + (target - self.cumulative_hazard[-1]) / self.tail_hazard
        return np.where(target > self.cumulative_hazard[-1], beyond, inside)


def weibull_quantile(u: np.ndarray, median: float, shape: float) -> np.ndarray:
    """Weibull time with ``P(T <= t) = u``, parametrised by its median and shape."""
    scale = median / np.log(2.0) ** (1.0 / shape)
    return scale * (-np.log1p(-np.asarray(u, dtype=float))) ** (1.0 / shape)


@dataclasses.dataclass(frozen=True, repr=False)
class DiseaseCourse(Result):
    """Latent times per patient (months from randomisation; NaN where the state is never
    reached): ``progression`` (first), ``second_progression``, ``death``; ``pfs`` is the
    progression-free time; ``indolence`` is the latent factor ``z``."""

    pfs: np.ndarray
    progression: np.ndarray
    second_progression: np.ndarray
    death: np.ndarray
    indolence: np.ndarray


def _uniform(z: np.ndarray, loading: float, noise: np.ndarray) -> np.ndarray:
    return ndtr(loading * z + np.sqrt(1.0 - loading ** 2) * noise)


def simulate_disease(scenario: Scenario, arms: np.ndarray, rng: np.random.Generator) -> DiseaseCourse:
    """Draw every patient's latent disease course (arm codes in ``arms``)."""
    n = len(arms)
    dep = scenario.disease.dependence
    z = rng.standard_normal(n)
    noise = rng.standard_normal((3, n))
    leave = rng.random((2, n))
    u_pfs = _uniform(z, dep.progression_free, noise[0])
    u_second = _uniform(z, dep.second_progression, noise[1])
    u_death = _uniform(z, dep.death, noise[2])
    pfs = np.empty(n)
    sojourn1 = np.zeros(n)
    sojourn2 = np.zeros(n)
    dies0 = np.zeros(n, dtype=bool)
    dies1 = np.zeros(n, dtype=bool)
    direct = np.zeros(n, dtype=bool)
    overall = np.full(n, np.inf)
    for code, spec in scenario.disease.arms.items():
        on = arms == code
        pfs[on] = scenario.fitted.pfs[code].quantile(u_pfs[on])
        if spec.overall_survival is not None:
            direct[on] = True
            overall[on] = scenario.fitted.overall_survival[code].quantile(u_death[on])
            continue
        second = spec.second_progression
        last = spec.death_after_second_progression
        if second is None or last is None:  # excluded by the scenario's validation
            raise InputError(f"disease.arms.{code}: needs both sojourns", field="scenario")
        dies0[on] = leave[0, on] < spec.progression_free.death_share
        sojourn1[on] = weibull_quantile(u_second[on], second.median, second.shape)
        dies1[on] = leave[1, on] < second.death_share
        sojourn2[on] = weibull_quantile(u_death[on], last.median, last.shape)
    # overall survival of its own: death first means death without progression
    dies0 = np.where(direct, pfs >= overall, dies0)
    pfs = np.minimum(pfs, overall)
    progression = np.where(dies0, np.nan, pfs)
    second_progression = np.where(dies0 | dies1 | direct, np.nan, pfs + sojourn1)
    death = np.where(direct, overall, np.where(dies0, pfs, np.where(dies1, pfs + sojourn1,
                                                                     pfs + sojourn1 + sojourn2)))
    return DiseaseCourse(pfs, progression, second_progression, death, z)
