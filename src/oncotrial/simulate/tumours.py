"""Tumour lesions and their measurements (SDTM TU/TR) consistent with the RECIST 1.1 engine.

Lesions: the primary tumour when still in place (always for locally advanced disease) and
the metastatic lesions drawn in :mod:`.baseline`; up to five measurable lesions, two per
organ (lymph nodes one organ), are targets (RECIST 4.2), the rest non-targets. Bone and skin
lesions are non-target; nodes are measured on their short axis (``SAXIS``, >= 15 mm at
baseline), other lesions on their longest diameter (``LDIAM``, >= 12 mm).

Measurements are built backwards from the disease course, so that
:func:`oncotrial.clinical.recist.derive_timepoint_responses` reads exactly what was meant:

* The patient's sum of target diameters follows a ratio ``R_k`` to baseline at each scan;
  lesion values share it (with lesion-level noise that keeps the sum), rounded to 0.1 mm.
* Before progression, every ratio is capped at 1.12 times the lowest earlier ratio, which
  (rounding included) stays below the PD threshold of +20 % *and* +5 mm over the nadir.
* At the first scan on or after the latent progression time, progression shows as target
  growth (ratio at least 1.3 times the nadir and 8 mm over it; when every target is a lymph
  node, also the smallest node at 13 mm or more, since nodes under 10 mm are normal), a new
  lesion, or
  unequivocal progression of a non-target lesion (:class:`ProgressionBy` shares).
* Responders (probability ``expit(alpha + link * z)``, ``z`` the latent indolence, ``alpha``
  solved so that the expected objective response rate is the target, see
  :func:`response_intercept`) reach at most 0.64 of baseline (PR: <= -30 %) at their first
  or second scan and stay there until progression; complete responders reach 0 mm (nodes
  5 mm, non-targets absent) and progress by a new lesion. Other patients stay at 0.77 of
  baseline or more, and at most 1.12 times their nadir (SD).

Surgery of residual disease does not change the measurements (a simplification: the
published data do not say how resected patients were assessed).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, ndtr, ndtri

from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.simulate.baseline import Patients
    from oncotrial.simulate.disease import PiecewiseExponential
    from oncotrial.simulate.scenario import Scenario

__all__ = ["Tumours", "response_intercept", "simulate_tumours"]

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()

#: median baseline size (mm) and log-sd per lesion kind; minima make targets measurable
SIZES = {"primary": (70.0, 0.35), "lung": (22.0, 0.4), "liver": (35.0, 0.4),
         "node": (22.0, 0.25), "other": (30.0, 0.4)}
MIN_DIAMETER, MIN_NODE = 12.0, 15.0
OTHER_SITES = (("LYMPH NODE", 0.4), ("PERITONEUM", 0.35), ("SOFT TISSUE", 0.25))
NEW_LESION_SITES = ("LIVER", "LUNG", "PERITONEUM", "BONE")
SITE_LOCATION = ("LUNG", "LIVER", "BONE", "SKIN")  # lesion columns 0-3 of Patients.lesions
PROGRESSION_CAP = 1.12   # pre-progression ratio cap relative to the nadir
RESPONSE_CAP = 0.64      # responders' ratio cap (PR is <= 0.70)
STABLE_FLOOR = 0.77      # non-responders' ratio floor
MIN_SD_DAYS = 35


def response_intercept(orr: float, link: float, pfs: PiecewiseExponential, loading: float,
                       first_months: float) -> tuple[float | None, float]:
    """Intercept ``alpha`` of ``P(response | z) = expit(alpha + link z)`` such that the
    expected share of responders among all patients is ``orr``, where only patients still
    progression-free at the first assessment (``first_months``) can respond; and that share
    (the largest reachable ORR). ``None`` when ``orr`` is not reachable.

    ``P(PFS > t | z) = Phi((loading z - Phi^-1(F(t))) / sqrt(1 - loading^2))`` by the copula
    of :mod:`.disease`; the expectation over ``z`` is a Gauss-Hermite sum.
    """
    reachable = float(pfs.survival(first_months))
    if orr >= reachable:
        return None, reachable
    if orr <= 0:
        return -np.inf, reachable
    cut = ndtri(1.0 - reachable)
    free = ndtr((loading * _NODES - cut) / np.sqrt(1.0 - loading ** 2))

    def expected(alpha: float) -> float:
        return float(np.dot(_WEIGHTS, free * expit(alpha + link * _NODES))) - orr

    return float(brentq(expected, -60.0, 60.0, xtol=1e-12)), reachable


@dataclasses.dataclass(frozen=True, repr=False)
class Tumours(Result):
    """TU and TR rows (``patient`` index, dates as days from randomisation in ``day``) and
    per patient: ``responder`` (showed CR/PR before progression), ``complete``, the intended
    best overall response ``bor`` and how progression showed (``progression_by``)."""

    tu: pd.DataFrame
    tr: pd.DataFrame
    responder: np.ndarray
    complete: np.ndarray
    bor: np.ndarray
    progression_by: np.ndarray


def _lesions(base: Patients, otherwise: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Every baseline lesion: patient, organ (TULOC), node flag, measurable flag, size, role;
    a primary tumour not located by its stratum is at one of ``otherwise``."""
    n = len(base.age)
    parts = []
    prim = np.flatnonzero(base.primary_in_place)
    drawn = np.array(otherwise, dtype=object)[rng.integers(0, len(otherwise), len(prim))]
    fixed = base.primary_location[prim]
    parts.append(pd.DataFrame({
        "patient": prim, "kind": "primary", "TULOC": np.where(fixed != "", fixed, drawn),
        "node": False, "measurable": True}))
    for col, loc in enumerate(SITE_LOCATION):
        patient = np.repeat(np.arange(n), base.lesions[:, col])
        kind = {"LUNG": "lung", "LIVER": "liver"}.get(loc, "other")
        parts.append(pd.DataFrame({"patient": patient, "kind": kind, "TULOC": loc, "node": False,
                                   "measurable": loc in ("LUNG", "LIVER")}))
    patient = np.repeat(np.arange(n), base.lesions[:, 4])
    names = [name for name, _ in OTHER_SITES]
    probs = [prob for _, prob in OTHER_SITES]
    site = np.array(names)[np.minimum(np.searchsorted(np.cumsum(probs), rng.random(len(patient)),
                                                      side="right"), len(names) - 1)]
    node = site == "LYMPH NODE"
    parts.append(pd.DataFrame({"patient": patient, "kind": np.where(node, "node", "other"),
                               "TULOC": site, "node": node, "measurable": True}))
    les = pd.concat(parts, ignore_index=True)
    median = les["kind"].map({k: v[0] for k, v in SIZES.items()}).to_numpy()
    sigma = les["kind"].map({k: v[1] for k, v in SIZES.items()}).to_numpy()
    size = median * np.exp(sigma * rng.standard_normal(len(les)))
    size = np.clip(size, np.where(les["node"], MIN_NODE, MIN_DIAMETER), 150.0)
    les["size"] = np.round(size, 1)
    les["order"] = rng.random(len(les)) - 2.0 * (les["kind"] == "primary")  # primary first
    les = les.sort_values(["patient", "order"], kind="stable", ignore_index=True)
    organ = np.where(les["node"], "LYMPH NODE", les["TULOC"])
    per_organ = les.groupby([les["patient"], organ]).cumcount()
    candidate = les["measurable"] & (per_organ < 2)
    rank = candidate.astype(int).groupby(les["patient"]).cumsum()
    les["target"] = candidate & (rank <= 5)
    les = les.sort_values(["patient", "target", "order"], ascending=[True, False, True],
                          kind="stable", ignore_index=True)
    seq = les.groupby(["patient", "target"]).cumcount() + 1
    les["TULNKID"] = np.where(les["target"], "T", "NT") + seq.map("{:02d}".format)
    return les.drop(columns=["order"])


def simulate_tumours(scenario: Scenario, base: Patients, arms: np.ndarray, indolence: np.ndarray,
                     scan_day: np.ndarray, pd_index: np.ndarray, baseline_day: np.ndarray,
                     rng: np.random.Generator) -> Tumours:
    """TU/TR rows for every patient.

    ``scan_day``: ``(n, k)`` days of the scans performed (NaN padded, sorted), the last one
    the PD scan when ``pd_index >= 0``; ``baseline_day``: day of the baseline scan (<= 0).
    """
    n, k = scan_day.shape
    les = _lesions(base, scenario.baseline.primary_location.otherwise, rng)
    spec = scenario.response
    alpha = np.array([scenario.fitted.response_intercept[a] for a in arms])
    complete_share = np.array([spec.arms[a].complete_share for a in arms])
    u = rng.random((6, n))
    noise = np.exp(0.04 * rng.standard_normal((n, k)))

    col = np.arange(k)[None, :]
    performed = ~np.isnan(scan_day)
    has_pd = pd_index >= 0
    pre = performed & (~has_pd[:, None] | (col < pd_index[:, None]))
    n_pre = pre.sum(axis=1)
    responder = (u[0] < expit(alpha + spec.link * indolence)) & (n_pre > 0)
    complete = responder & (u[1] < complete_share)
    k_resp = np.minimum(np.where(u[2] < 0.6, 0, 1), n_pre - 1)
    depth = 0.25 + 0.37 * u[3]
    stable = 0.80 + 0.26 * u[4]
    ratio_nr = np.maximum((1.0 + (stable[:, None] - 1.0) * np.minimum(1.0, (col + 1) / 2.0)) * noise,
                          STABLE_FLOOR)
    ratio_r = np.where(col < k_resp[:, None], 0.86, np.minimum(depth[:, None] * noise, RESPONSE_CAP))
    ratio_r = np.where(complete[:, None] & (col >= k_resp[:, None]), 0.0, ratio_r)
    raw = np.where(responder[:, None], ratio_r, ratio_nr)
    nadir = np.minimum.accumulate(np.concatenate([np.ones((n, 1)), raw], axis=1), axis=1)[:, :-1]
    ratio = np.minimum(raw, PROGRESSION_CAP * nadir)

    shares = np.array([spec.progression_by.target_growth, spec.progression_by.new_lesion,
                       spec.progression_by.non_target])
    mechanism = np.minimum(np.searchsorted(np.cumsum(shares), u[5], side="right"), 2)
    has_nt = np.zeros(n, dtype=bool)
    has_nt[les.loc[~les["target"], "patient"].to_numpy()] = True
    mechanism = np.where((mechanism == 2) & ~has_nt, 0, mechanism)
    mechanism = np.where(complete, 1, mechanism)
    mechanism = np.where(has_pd, mechanism, -1)

    targets = les[les["target"]]
    base_sum = np.bincount(targets["patient"], weights=targets["size"], minlength=n)
    rows = np.flatnonzero(has_pd)
    at = pd_index[rows]
    m = nadir[rows, at]
    growth = np.maximum(1.3 * m, m + 8.0 / base_sum[rows]) * (1.0 + 0.25 * rng.random(len(rows)))
    # RECIST 1.1: lymph nodes below 10 mm are normal, so targets that are all nodes progress
    # only when a node is pathological again; the smallest grows to at least 13 mm (a margin
    # over 10 mm that the lesions' 5 % measurement noise cannot undo)
    smallest = np.full(n, np.inf)
    np.minimum.at(smallest, targets["patient"].to_numpy(), targets["size"].to_numpy())
    all_nodes = np.bincount(targets["patient"], weights=~targets["node"].to_numpy(), minlength=n) == 0
    growth = np.where(all_nodes[rows], np.maximum(growth, 13.0 / smallest[rows]), growth)
    ratio[rows, at] = np.where(mechanism[rows] == 0, growth, ratio[rows, at])

    tu, tr, complete_seen = _records(les, ratio, scan_day, performed, complete, k_resp,
                                     mechanism, pd_index, baseline_day, rng)
    bor = np.full(n, "MISSING", dtype=object)
    bor = np.where(has_pd, "PD", bor)
    stable_seen = (pre & (scan_day >= MIN_SD_DAYS)).any(axis=1)
    bor = np.where(stable_seen, "SD", bor)
    # a partial responder whose targets are all nodes below 10 mm is a complete responder
    bor = np.where(responder, np.where(complete_seen, "CR", "PR"), bor)
    by = np.array(["", "target growth", "new lesion", "non-target"], dtype=object)[mechanism + 1]
    return Tumours(tu, tr, responder, complete, bor, by)


def _records(les: pd.DataFrame, ratio: np.ndarray, scan_day: np.ndarray, performed: np.ndarray,
             complete: np.ndarray, k_resp: np.ndarray, mechanism: np.ndarray,
             pd_index: np.ndarray, baseline_day: np.ndarray,
             rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """TU and TR rows, and per patient whether a scan before progression meets RECIST's
    complete response (non-nodal targets 0 mm, nodal targets < 10 mm, non-targets absent)."""
    n, k = scan_day.shape
    n_scans = performed.sum(axis=1)
    patient = les["patient"].to_numpy()
    lesion = np.repeat(np.arange(len(les)), n_scans[patient])
    lp = patient[lesion]
    starts = np.repeat(np.cumsum(n_scans[patient]) - n_scans[patient], n_scans[patient])
    scan = np.arange(len(lesion)) - starts
    target = les["target"].to_numpy()
    node = les["node"].to_numpy()
    size = les["size"].to_numpy()

    # target values: lesion noise normalised so that the patient's sum keeps its ratio
    jitter = np.exp(0.05 * rng.standard_normal(len(lesion)))
    weight = np.where(target[lesion], size[lesion] * jitter, 0.0)
    key = lp * k + scan
    norm = np.bincount(key, weights=weight, minlength=n * k)
    plain = np.bincount(key, weights=np.where(target[lesion], size[lesion], 0.0), minlength=n * k)
    scale = np.divide(plain, norm, out=np.ones_like(norm), where=norm > 0)[key]
    value = size[lesion] * jitter * scale * ratio[lp, scan]
    cr = complete[lp] & (scan >= k_resp[lp])
    value = np.where(cr, np.where(node[lesion], 5.0, 0.0), value)
    value = np.round(value, 1)
    day = scan_day[lp, scan]

    state = np.where(cr, "ABSENT", "PRESENT").astype(object)
    unequivocal = (mechanism[lp] == 2) & (scan == pd_index[lp]) & _first_nontarget(les)[lesion]
    state = np.where(unequivocal, "UNEQUIVOCAL PROGRESSION", state)

    is_target = target[lesion]
    met = np.where(is_target, np.where(node[lesion], value < 10, value == 0), state == "ABSENT")
    lesions_at = np.bincount(key, minlength=n * k)
    met_at = np.bincount(key, weights=met.astype(float), minlength=n * k)
    complete_at = (lesions_at > 0) & (met_at == lesions_at)
    before_pd = (np.arange(k)[None, :] < np.where(pd_index >= 0, pd_index, k)[:, None]).ravel()
    complete_seen = (complete_at & before_pd).reshape(n, k).any(axis=1)

    base_rows = pd.DataFrame({
        "patient": patient, "TRLNKID": les["TULNKID"].to_numpy(),
        "TRTESTCD": np.where(target, np.where(node, "SAXIS", "LDIAM"), "TUMSTATE"),
        "value": np.where(target, size, np.nan), "state": np.where(target, np.array(None), "PRESENT"),
        "day": baseline_day[patient]})
    follow = pd.DataFrame({
        "patient": lp, "TRLNKID": les["TULNKID"].to_numpy()[lesion],
        "TRTESTCD": np.where(target[lesion], np.where(node[lesion], "SAXIS", "LDIAM"), "TUMSTATE"),
        "value": np.where(target[lesion], value, np.nan),
        "state": np.where(target[lesion], np.array(None), state), "day": day})
    tr = pd.concat([base_rows, follow], ignore_index=True)
    tu = pd.DataFrame({"patient": patient, "TULNKID": les["TULNKID"].to_numpy(),
                       "TUORRES": np.where(target, "TARGET", "NON-TARGET"),
                       "TULOC": les["TULOC"].to_numpy(), "TUNODE": np.where(node, "Y", "N"),
                       "day": baseline_day[patient]})
    new = np.flatnonzero(mechanism == 1)
    if len(new):
        where = np.array(NEW_LESION_SITES)[rng.integers(0, len(NEW_LESION_SITES), len(new))]
        tu = pd.concat([tu, pd.DataFrame({
            "patient": new, "TULNKID": "NEW01", "TUORRES": "NEW", "TULOC": where, "TUNODE": "N",
            "day": scan_day[new, pd_index[new]]})], ignore_index=True)
    return tu, tr, complete_seen


def _first_nontarget(les: pd.DataFrame) -> np.ndarray:
    """True on each patient's first non-target lesion."""
    nontarget = ~les["target"].to_numpy()
    count = pd.Series(nontarget.astype(int)).groupby(les["patient"].to_numpy()).cumsum().to_numpy()
    return nontarget & (count == 1)
