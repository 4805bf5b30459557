"""Adverse events by CTCAE term and grade, dated within the treatment-emergent window.

Incidence first, timing second. Each treated patient's worst grade per term is drawn so that
the scenario's per-term incidences (any grade and grade 3-4, per arm) hold exactly in
expectation, and so does the share of patients with any grade 3-4 event per arm (a
published safety profile is reproduced term by term and overall). One record per patient and
term, at its worst grade.

Why a latent toxicity factor: independent terms would give any grade 3-4 event to
``1 - prod(1 - p_j)`` of the patients, more than published (the same patients tend to have
several severe events). Each term's grade 3-4 indicator is ``lambda W + sqrt(1 - lambda^2) e_j
> Phi^-1(1 - p_j)`` with a patient factor ``W ~ N(0, 1)``; every margin stays ``p_j`` and
``lambda`` (:func:`toxicity_loading`) is solved so that the union matches the target.
Dependent terms (``with_term``) occur at grade 3-4 only with their base term (AST with ALT:
hepatic cytolysis), so the union of the pair is the base term's incidence.

Timing: each event falls in one of the cycles the patient received (earlier cycles more
likely: weights 0.75^cycle), a few days after the cycle's day 1, and never after the end of
the window (first progression, death, withdrawal, cut-off), so every event is
treatment-emergent. Patients whose dose was reduced or who stopped for toxicity have a grade
3-4 event in the cycle that caused it (:mod:`.treatment`). Serious events: among patients
with a grade 3-4 event, a share chosen so that the published proportion of patients with a
serious event holds; one of their grade 3-4 events is serious.

Action taken with study treatment (``AEACN``, CDISC ACN): ``DRUG WITHDRAWN`` for the event
behind a toxicity stop, ``DOSE REDUCED`` for the event behind a dose reduction, ``NOT
APPLICABLE`` for a fatal event, ``DOSE NOT CHANGED`` otherwise -- so the events leading to
discontinuation are the patients the disposition records say stopped for an adverse event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from oncotrial.simulate.treatment import Reason

if TYPE_CHECKING:
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.treatment import TreatmentCourse

__all__ = ["adverse_event_records", "draw_grades", "toxicity_loading"]

ONSET_DAYS = (3, 14)
DURATION_DAYS = (3, 28)
CYCLE_WEIGHT = 0.75
RELATED = 0.9
_GRID = np.linspace(-10.0, 10.0, 4001)
_DENSITY = np.exp(-0.5 * _GRID ** 2) / np.sqrt(2 * np.pi) * (_GRID[1] - _GRID[0])


def _union(loading: float, thresholds: np.ndarray) -> float:
    """P(at least one term at grade 3-4) for a latent loading: one minus the integral over
    ``W ~ N(0, 1)`` of ``prod_j Phi((c_j - loading W) / sqrt(1 - loading^2))``. Each factor
    steps over a width ``sqrt(1 - loading^2) / loading`` in ``W``: a fine fixed grid while
    that width is wide, adaptive quadrature with break points at the steps when it is narrow
    (loading near 1)."""
    finite = thresholds[np.isfinite(thresholds)]
    if loading == 0.0:
        return float(1.0 - np.prod(ndtr(thresholds)))
    scale = np.sqrt(1.0 - loading ** 2)
    if scale / loading > 0.05:
        factors = ndtr((thresholds[None, :] - loading * _GRID[:, None]) / scale)
        return float(1.0 - np.dot(_DENSITY, np.prod(factors, axis=1)))

    def none(w: float) -> float:
        return float(np.exp(-0.5 * w * w) / np.sqrt(2 * np.pi)
                     * np.prod(ndtr((thresholds - loading * w) / scale)))

    points = np.unique(np.clip(finite / loading, -11.9, 11.9))
    value, _ = quad(none, -12.0, 12.0, points=points.tolist() or None, limit=500,
                    epsabs=1e-13, epsrel=1e-11)
    return float(1.0 - value)


def toxicity_loading(probabilities: np.ndarray, target: float) -> tuple[float | None, tuple[float, float]]:
    """The loading ``lambda`` giving ``target`` = P(any grade 3-4 event), and the reachable
    range ``(largest single incidence, incidence of independent terms)``; ``None`` when the
    target is outside it."""
    p = np.asarray(probabilities, dtype=float)
    low = float(p.max(initial=0.0))
    high = float(1.0 - np.prod(1.0 - p))
    if not low - 1e-9 <= target <= high + 1e-9:
        return None, (low, high)
    if target >= high - 1e-12:
        return 0.0, (low, high)
    if target <= low + 1e-12:
        return 1.0 - 1e-9, (low, high)
    thresholds = ndtri(1.0 - p)
    upper = 1.0 - 1e-9

    def excess(lam: float) -> float:
        return _union(lam, thresholds) - target

    if excess(upper) >= 0:  # a target within rounding of the largest incidence
        return upper, (low, high)
    return float(brentq(excess, 0.0, upper, xtol=1e-10)), (low, high)


def draw_grades(scenario: Scenario, arms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Worst CTCAE grade (0 = none) per patient and term, ``(n, terms)``."""
    spec = scenario.adverse_events
    terms = spec.terms
    names = [t.decod for t in terms]
    n, k = len(arms), len(terms)
    w = rng.standard_normal(n)
    e = rng.standard_normal((n, k))
    u = rng.random((4, n, k))
    any_p = np.empty((n, k))
    severe_p = np.empty((n, k))
    loading = np.empty(n)
    for code in spec.arms:
        on = arms == code
        any_p[on] = [t.incidence[code][0] for t in terms]
        severe_p[on] = [t.incidence[code][1] for t in terms]
        loading[on] = scenario.fitted.toxicity_loading[code]
    latent = loading[:, None] * w[:, None] + np.sqrt(1.0 - loading ** 2)[:, None] * e
    severe = latent > ndtri(1.0 - severe_p)
    for i, term in enumerate(terms):
        if term.with_term is not None:
            base = names.index(term.with_term)
            ratio = np.divide(severe_p[:, i], severe_p[:, base], out=np.zeros(n),
                              where=severe_p[:, base] > 0)
            severe[:, i] = severe[:, base] & (u[0, :, i] < ratio)
    mild_p = np.divide(any_p - severe_p, 1.0 - severe_p, out=np.zeros((n, k)), where=severe_p < 1)
    mild = ~severe & (u[1] < mild_p)
    grade_4 = np.array([t.grade_4_share for t in terms])
    grades = np.where(severe, np.where(u[2] < grade_4, 4, 3),
                      np.where(mild, np.where(u[3] < spec.grade_2_share, 2, 1), 0))
    return grades.astype(np.int64)


def adverse_event_records(scenario: Scenario, arms: np.ndarray, grades: np.ndarray,
                          treatment: TreatmentCourse, *, window_end: np.ndarray,
                          record_end: np.ndarray, fatal_day: np.ndarray,
                          rng: np.random.Generator) -> pd.DataFrame:
    """One row per event: ``patient, AEDECOD, AEBODSYS, AETOXGR, AESER, AEREL, AEACN, day,
    end_day``
    (days from randomisation; ``end_day`` NaN when unresolved at ``record_end``).

    ``window_end``: last day an event may start (earliest of progression, death, withdrawal
    and cut-off); ``record_end``: death or cut-off; ``fatal_day``: day of a treatment-related
    death (NaN if none), recorded as a grade 5 ``fatal_term``.
    """
    spec = scenario.adverse_events
    terms = spec.terms
    n_given = treatment.given.sum(axis=1)
    patient, term = np.nonzero((grades > 0) & treatment.treated[:, None] & (n_given > 0)[:, None])
    grade = grades[patient, term]
    m = len(patient)
    u = rng.random((6, m))
    count = n_given[patient]
    # truncated geometric cycle index in 0..count-1 with weights CYCLE_WEIGHT ** index
    total = 1.0 - CYCLE_WEIGHT ** count
    cycle = np.floor(np.log1p(-u[0] * total) / np.log(CYCLE_WEIGHT)).astype(np.int64)
    cycle = np.minimum(cycle, count - 1)
    severe = grade >= 3
    forced = treatment.forced_event_cycle[patient]
    first_severe = np.zeros(m, dtype=bool)
    if m:
        order = np.where(severe, term, len(terms) + term)
        lead = pd.Series(order).groupby(patient).transform("min").to_numpy()
        first_severe = severe & (order == lead)
    behind = first_severe & (forced >= 0)
    cycle = np.where(behind, forced, cycle)
    stopped = treatment.stop_reason[patient] == Reason.TOXICITY
    action = np.where(behind, np.where(stopped, "DRUG WITHDRAWN", "DOSE REDUCED"), "DOSE NOT CHANGED")
    start = treatment.cycle_day[patient, cycle] + rng.integers(ONSET_DAYS[0], ONSET_DAYS[1] + 1, m)
    start = np.minimum(start, window_end[patient])
    end = start + rng.integers(DURATION_DAYS[0], DURATION_DAYS[1] + 1, m)
    end = np.where(end <= record_end[patient], end, np.nan)

    serious = np.zeros(m, dtype=bool)
    share = np.array([spec.arms[a].serious / spec.arms[a].grade_3_4 if spec.arms[a].grade_3_4 > 0
                      else 0.0 for a in arms])
    chosen_patient = rng.random(len(arms)) < share
    if m:
        eligible = np.array([t.serious_eligible for t in terms])[term]
        key = np.where(severe, u[1] + 2.0 * eligible, -1.0)
        best = pd.Series(key).groupby(patient).transform("max").to_numpy()
        serious = severe & (key == best) & chosen_patient[patient]
    decod = np.array([t.decod for t in terms], dtype=object)
    soc = np.array([t.soc for t in terms], dtype=object)
    frame = pd.DataFrame({
        "patient": patient, "AEDECOD": decod[term], "AEBODSYS": soc[term], "AETOXGR": grade,
        "AESER": np.where(serious, "Y", "N"),
        "AEREL": np.where(u[2] < RELATED, "RELATED", "NOT RELATED"), "AEACN": action,
        "day": start, "end_day": end})
    fatal = np.flatnonzero(~np.isnan(fatal_day))
    if len(fatal):
        frame = pd.concat([frame, pd.DataFrame({
            "patient": fatal, "AEDECOD": spec.fatal_term.decod, "AEBODSYS": spec.fatal_term.soc,
            "AETOXGR": 5, "AESER": "Y", "AEREL": "RELATED", "AEACN": "NOT APPLICABLE",
            "day": fatal_day[fatal],
            "end_day": np.nan})], ignore_index=True)
    return frame.sort_values(["patient", "day", "AEDECOD"], kind="stable", ignore_index=True)
