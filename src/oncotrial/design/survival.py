"""Sample size and power of a two-arm trial with a time-to-event end point (log-rank test).

:func:`survival_sample_size` turns the assumptions of a protocol (medians, alpha, power,
allocation, accrual, minimum follow-up, dropout, screen failures) into the number of events
and of patients, the expected timing of the analyses and, for a group-sequential design,
the events, calendar times and hazard-ratio boundaries of every look. :func:`survival_power`
goes the other way. Conventions (hazard ratio experimental/control, allocation
experimental:control, accrual and dropout) are those of :mod:`oncotrial.design.events`;
the numbers are those of rpact's ``getSampleSizeSurvival`` / ``getPowerSurvival`` (validated
to 1e-6 relative in ``tests/design``), plus the integer rounding a protocol needs.

The bundled reference protocol's design: a 1:1 trial with median PFS 6.0 vs 9.7 months,
two-sided 5 %, power 80 %, uniform accrual over 24 months, 24 months of minimum follow-up and
3 % of enrolled patients not randomised::

    >>> res = survival_sample_size(median_control=6, median_experimental=9.7,
    ...                            accrual_time=24, follow_up=24, not_randomised=0.03)
    >>> res.events, res.subjects_per_arm, res.enrolled
    (136, {'control': 72, 'experimental': 72}, 150)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_fraction
from oncotrial.design.events import (
    LN2,
    _arms,
    _events_at,
    _method,
    _Model,
    _positive,
    _power,
    _proportion,
    _solve_time,
    accrual_profile,
    check_allocation,
    check_dropout,
    check_sided,
    dropout_hazards,
    effect_size,
    events_required,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SurvivalPower", "SurvivalSampleSize", "survival_power", "survival_sample_size"]

#: relative slack before rounding up, so that 72.0000000001 (round-off) stays 72
_CEIL_SLACK = 1e-9
#: rpact's "no futility bound" value on the z scale
_NO_FUTILITY = -6.0
_DESIGN_FIELDS = ("k", "alpha", "sided", "beta", "information_rates", "critical_values",
                  "inflation_factor")


def _ceil(x: float) -> int:
    return int(math.ceil(x * (1 - _CEIL_SLACK)))


def _ratio_text(r: float) -> str:
    return f"{r:g}:1" if r >= 1 else f"1:{1 / r:g}"


def _accrual_text(breakpoints: np.ndarray, intensity: np.ndarray, unit: str) -> str:
    end = breakpoints[-1]
    if intensity.size == 1 or np.all(intensity == intensity[0]):
        return f"uniform over {end:g} {unit}"
    pieces = ", ".join(f"[{a:g}, {b:g}) x{i:g}" for a, b, i in
                       zip(breakpoints[:-1], breakpoints[1:], intensity))
    return f"piecewise over {end:g} {unit}: {pieces} (relative intensity)"


def _dropout_text(rate: dict[str, float], time: float, unit: str) -> str:
    c, e = rate["control"], rate["experimental"]
    if c == 0 and e == 0:
        return "none"
    if c == e:
        return f"{_percent(c)} lost by {time:g} {unit} in each arm (exponential)"
    return (f"control {_percent(c)}, experimental {_percent(e)} lost by {time:g} {unit} "
            "(exponential)")


def _lines(rows: list[tuple[str, str]], width: int, indent: str = "  ") -> list[str]:
    return [f"{indent}{k:<{width}}  {v}" for k, v in rows]


def _singular(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _percent(x: float) -> str:
    return f"{100 * x:.3g}%"


def _hr_bound(z: Any, events: np.ndarray, r: float, sign: float) -> np.ndarray:
    """z-scale bound -> hazard-ratio scale, rpact's ``criticalValuesEffectScale``:
    ``exp(sign * z * (1 + r) / sqrt(r * D))``, sign -1 when the hypothesised HR < 1."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.exp(sign * z * (1 + r) / np.sqrt(r * events[: z.size]))


def _check_design(design: Any) -> None:
    missing = [f for f in _DESIGN_FIELDS if not hasattr(design, f)]
    if missing:
        raise TypeError(
            "design: expected a GroupSequentialDesign (from oncotrial.design.group_sequential), "
            f"got {type(design).__name__} without {', '.join(missing)}"
        )


def _from_design(design: Any, alpha: Any, sided: Any, power: Any) -> tuple[float, int, float]:
    """alpha/sided/power of ``design``; an explicit different value is an error."""
    _check_design(design)
    fixed = {"alpha": float(design.alpha), "sided": int(design.sided),
             "power": 1.0 - float(design.beta)}
    for name, given in (("alpha", alpha), ("sided", sided), ("power", power)):
        if given is not None and not math.isclose(float(given), fixed[name], rel_tol=1e-12,
                                                  abs_tol=1e-15):
            raise InputError(
                f"{name}: the group-sequential design fixes {name} = {fixed[name]:g}; got "
                f"{given!r} (leave {name} out, or pass the design's value)",
                field=name,
            )
    return fixed["alpha"], int(fixed["sided"]), fixed["power"]


# ============================================================================ sample size
@dataclass(frozen=True, repr=False)
class SurvivalSampleSize(Result):
    """Events and patients for a two-arm log-rank comparison (see :func:`survival_sample_size`).

    Per-arm quantities are dicts keyed ``"control"`` and ``"experimental"``. Per-look arrays
    (``information_rates`` ... ``hr_futility``) have one entry per analysis; a fixed design
    has one look. ``to_frame()`` gives one row per scalar or per-arm quantity (columns
    ``quantity``, ``value``); ``stage_table()`` one row per look; ``report()`` / ``str()``
    the printed report.
    """

    # assumptions
    hazard_ratio: float
    median_control: float
    median_experimental: float
    lambda_control: float
    lambda_experimental: float
    alpha: float
    sided: int
    power: float
    allocation_ratio: float
    method: str
    rounding: str
    accrual_time: np.ndarray
    accrual_intensity: np.ndarray
    follow_up: float
    dropout_rate: dict[str, float]
    dropout_time: float
    not_randomised: float
    time_unit: str
    # events
    events_fixed: float
    inflation_factor: float
    events_exact: float
    events: int
    # patients
    event_probability: dict[str, float]
    mean_event_probability: float
    subjects_exact: float
    subjects_per_arm: dict[str, int]
    subjects: int
    enrolled_per_arm: dict[str, int]
    enrolled: int
    # timing and power
    analysis_time: float
    expected_analysis_time: float
    power_at_events: float | None
    # looks (one for a fixed design)
    k: int
    information_rates: np.ndarray
    events_per_stage: np.ndarray
    analysis_times: np.ndarray
    subjects_per_stage: np.ndarray
    critical_values: np.ndarray
    hr_boundaries: np.ndarray
    hr_futility: np.ndarray | None
    design: Any = None

    # ------------------------------------------------------------------ tables
    def stage_table(self) -> pd.DataFrame:
        """One row per look: information rate, events (exact), expected calendar time,
        patients randomised by then, z and hazard-ratio efficacy bounds, HR futility bound."""
        import pandas as pd

        futility = np.full(self.k, np.nan)
        if self.hr_futility is not None:
            futility[: self.hr_futility.size] = self.hr_futility
        return pd.DataFrame({
            "look": np.arange(1, self.k + 1),
            "information_rate": self.information_rates,
            "events": self.events_per_stage,
            "analysis_time": self.analysis_times,
            "subjects": self.subjects_per_stage,
            "critical_value": self.critical_values,
            "hr_boundary": self.hr_boundaries,
            "hr_futility": futility,
        })

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity (``quantity``, ``value``), per-arm values as
        ``"<name>.control"`` / ``"<name>.experimental"``; per-look values are in
        :meth:`stage_table`."""
        import pandas as pd

        rows: list[tuple[str, Any]] = []
        for name, value in self.to_dict().items():
            if name in ("design", "hr_futility") or isinstance(value, list):
                continue
            if isinstance(value, dict):
                rows.extend((f"{name}.{arm}", v) for arm, v in value.items())
            else:
                rows.append((name, value))
        return pd.DataFrame(rows, columns=["quantity", "value"])

    # ------------------------------------------------------------------ report
    def report(self) -> str:
        """The sample-size report: assumptions, then results, in the order a protocol's
        statistical section gives them."""
        u, per = self.time_unit, _singular(self.time_unit)
        side = "two-sided" if self.sided == 2 else "one-sided"
        arms = self.subjects_per_arm
        enrolled = self.enrolled_per_arm
        assumptions = [
            ("Median, control", f"{self.median_control:.4g} {u} "
                                f"(hazard {self.lambda_control:.4g} per {per})"),
            ("Median, experimental", f"{self.median_experimental:.4g} {u} "
                                     f"(hazard {self.lambda_experimental:.4g} per {per})"),
            ("Hazard ratio (exp./control)", f"{self.hazard_ratio:.4f}"),
            ("Significance level", f"{self.alpha:g}, {side}"),
            ("Power", _percent(self.power)),
            ("Events formula", {"schoenfeld": "Schoenfeld", "freedman": "Freedman",
                                "hsieh-freedman": "Hsieh-Freedman"}[self.method]),
            ("Allocation (exp.:control)", _ratio_text(self.allocation_ratio)),
            ("Accrual", _accrual_text(self.accrual_time, self.accrual_intensity, u)),
            ("Minimum follow-up", f"{self.follow_up:g} {u} (analysis at {per} "
                                  f"{self.analysis_time:g})"),
            ("Dropout", _dropout_text(self.dropout_rate, self.dropout_time, u)),
            ("Not randomised", "none" if self.not_randomised == 0 else
             f"{_percent(self.not_randomised)} of enrolled patients"),
        ]
        if self.design is not None:
            kind = getattr(self.design, "description", getattr(self.design, "type", ""))
            assumptions.insert(4, ("Design", f"group-sequential, {self.k} looks: {kind}"))
        rounding = "nearest integer" if self.rounding == "nearest" else "rounded up"
        events_row = (f"{self.events_fixed:.2f} (fixed design) x {self.inflation_factor:.5f} = "
                      f"{self.events_exact:.2f} -> {self.events} ({rounding})"
                      if self.design is not None else
                      f"{self.events_exact:.2f} -> {self.events} ({rounding})")
        p = self.event_probability
        results = [
            ("Events", events_row),
            (f"P(event) by {per} {self.analysis_time:g}",
             f"control {p['control']:.4f}, experimental {p['experimental']:.4f}, "
             f"mean {self.mean_event_probability:.4f}"),
            ("Patients randomised", f"{self.events_exact:.2f} / "
                                    f"{self.mean_event_probability:.4f} = "
                                    f"{self.subjects_exact:.2f} -> control {arms['control']} + "
                                    f"experimental {arms['experimental']} = {self.subjects} "
                                    "(each arm rounded up)"),
        ]
        if self.not_randomised > 0:
            results.append(("Patients enrolled",
                            f"control {enrolled['control']} + experimental "
                            f"{enrolled['experimental']} = {self.enrolled} (per arm / "
                            f"(1 - {self.not_randomised:g}), rounded up)"))
        if self.power_at_events is not None:
            results.append((f"Power with {self.events} events", f"{self.power_at_events:.4f}"))
        if self.design is None:
            bound = self.hr_boundaries[0]
            side, other = ("below", "above") if bound < 1 else ("above", "below")
            tail = f"; or {other} {1 / bound:.4f}, two-sided)" if self.sided == 2 else ")"
            results.append(("Critical hazard ratio",
                            f"{bound:.4f} (observed HR must be {side} it{tail}"))
        when = (f"{per} {self.expected_analysis_time:.2f} with {self.subjects} randomised"
                if math.isfinite(self.expected_analysis_time) else "never reached")
        results.append((f"Expected time of event {self.events}", when))
        out = ["Sample size: two-arm comparison of time to event (log-rank test)", "Assumptions"]
        width = max(len(name) for name, _ in assumptions + results)
        out += _lines(assumptions, width)
        out += ["Results"] + _lines(results, width)
        if self.design is not None:
            table = self.stage_table()
            out.append(f"Looks (expected, with {self.subjects_exact:.2f} randomised)")
            cols = ["look", "information_rate", "events", "analysis_time", "subjects",
                    "critical_value", "hr_boundary"]
            if self.hr_futility is not None:
                cols.append("hr_futility")
            text = table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}",
                                         na_rep="-")
            out += ["  " + line for line in text.splitlines()]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.report()


def survival_sample_size(
    *,
    median_control: float,
    median_experimental: float | None = None,
    hazard_ratio: float | None = None,
    alpha: float | None = None,
    sided: int | None = None,
    power: float | None = None,
    allocation_ratio: float = 1.0,
    accrual_time: Any,
    follow_up: float,
    accrual_intensity: Any = None,
    dropout_rate: Any = 0.0,
    dropout_time: float = 12.0,
    not_randomised: float = 0.0,
    method: str = "schoenfeld",
    design: Any = None,
    rounding: str = "nearest",
    time_unit: str = "months",
) -> SurvivalSampleSize:
    """Events and patients for a two-arm trial analysed by a log-rank test.

    Give ``median_control`` and either ``median_experimental`` or ``hazard_ratio``
    (experimental/control). ``alpha``, ``sided`` and ``power`` default to 0.05, 2 and 0.8;
    with ``design`` (a :class:`~oncotrial.design.group_sequential.GroupSequentialDesign`)
    they are taken from the design (``alpha``, ``sided``, ``1 - beta``) and passing a
    different value raises InputError. Accrual, dropout and allocation follow the
    conventions of :mod:`oncotrial.design.events`; the analysis is planned at
    ``end of accrual + follow_up``.

    Steps (rpact ``getSampleSizeSurvival``):

    1. events of the fixed design, :func:`events_required` (``method``), times the
       design's inflation factor for a group-sequential design -> ``events_exact``;
       ``events`` rounds it (``rounding="nearest"``, the default, reproduces protocols that
       quote 136 for 136.06; ``"up"`` never loses power);
    2. ``event_probability``: per arm, the probability of an observed event by the planned
       analysis time, over the accrual pattern and with dropout competing;
       ``mean_event_probability`` weights the arms by allocation;
    3. ``subjects_exact = events_exact / mean_event_probability`` (randomised);
       ``subjects_per_arm`` rounds each arm's share up, ``subjects`` is their sum;
    4. ``enrolled_per_arm = ceil(subjects_per_arm / (1 - not_randomised))`` (patients
       enrolled but never randomised, e.g. screen failures), ``enrolled`` their sum;
    5. ``analysis_time`` is the planned ``accrual end + follow_up``;
       ``expected_analysis_time`` is when ``events`` events are expected with the integer
       ``subjects_per_arm`` randomised (NaN if never);
    6. per look (one for a fixed design): ``events_per_stage = information_rates *
       events_exact``, their expected calendar times ``analysis_times`` and patients
       randomised by then (with ``subjects_exact``; the last look is at ``analysis_time``),
       and the efficacy bounds on the hazard-ratio scale, ``hr_boundaries =
       exp(-/+ c_k (1 + r) / sqrt(r D_k))`` with the sign of the hypothesised effect
       (below 1 when HR < 1; for a two-sided test the other bound is ``1 / hr_boundaries``),
       and ``hr_futility`` likewise from the design's futility bounds (NaN where none).
       Like rpact, these use the exact event numbers and the Schoenfeld (log-HR) scale
       whatever ``method``.

    ``power_at_events`` (fixed designs) is the power of the test with the rounded number
    of events; it is None for a group-sequential design.

    ``time_unit`` only labels the report.
    """
    hr_arr, m_c, m_e_arr = effect_size(median_control, median_experimental, hazard_ratio)
    if hr_arr.size != 1:
        name = "hazard_ratio" if hazard_ratio is not None else "median_experimental"
        raise InputError(f"{name}: expected a single value for a sample size, got {hr_arr.size}", field=name)
    hr, m_e = float(hr_arr.reshape(-1)[0]), float(np.reshape(m_e_arr, -1)[0])
    if design is not None:
        alpha, sided, power = _from_design(design, alpha, sided, power)
    alpha = as_fraction(0.05 if alpha is None else alpha, "alpha", "a significance level")
    power = as_fraction(0.8 if power is None else power, "power", "a power")
    sided = check_sided(2 if sided is None else sided)
    r = check_allocation(allocation_ratio)
    method = _method(method)
    acc = accrual_profile(accrual_time, accrual_intensity)
    follow_up = _positive(follow_up, "follow_up", "a positive duration")
    pair, d_time = check_dropout(dropout_rate, dropout_time)
    not_randomised = _proportion(not_randomised, "not_randomised",
                                 "the fraction of enrolled patients not randomised, in [0, 1)")
    if rounding not in ("nearest", "up"):
        raise InputError(f"rounding: expected 'nearest' or 'up', got {rounding!r}", field="rounding")

    lam_c = LN2 / m_c
    eta_c, eta_e = dropout_hazards(pair, d_time)
    model = _Model(lam_c, np.asarray(lam_c * hr), eta_c, eta_e, acc)

    # 1. events
    events_fixed = float(events_required(hr, alpha=alpha, sided=sided, power=power,
                                         allocation_ratio=r, method=method))
    if design is None:
        k, inflation = 1, 1.0
        info = np.array([1.0])
        crit = np.array([-ndtri(alpha / sided)])
        futility = None
    else:
        k, inflation = int(design.k), float(design.inflation_factor)
        info = np.asarray(design.information_rates, dtype=np.float64)
        crit = np.asarray(design.critical_values, dtype=np.float64)
        futility = getattr(design, "futility_bounds", None)
    events_exact = events_fixed * inflation
    events = int(math.floor(events_exact + 0.5)) if rounding == "nearest" else _ceil(events_exact)

    # 2.-4. patients
    t_end = acc.duration + follow_up
    p_c, p_e = (float(p) for p in model.probabilities(t_end))
    omega = (p_c + r * p_e) / (1 + r)
    subjects_exact = events_exact / omega
    exact_c, exact_e = subjects_exact / (1 + r), subjects_exact * r / (1 + r)
    per_arm = {"control": _ceil(exact_c), "experimental": _ceil(exact_e)}
    enrolled = {arm: _ceil(n / (1 - not_randomised)) for arm, n in per_arm.items()}

    # 5. timing of the final analysis with the integer numbers
    try:
        expected_time = float(_solve_time(model, events, per_arm["control"],
                                          per_arm["experimental"]))
    except InputError:  # never reached with these patients
        expected_time = math.nan

    # 6. looks
    events_per_stage = info * events_exact
    times = np.empty(k)
    if k > 1:
        times[:-1] = _solve_time(model, events_per_stage[:-1], exact_c, exact_e)
    times[-1] = t_end
    subjects_per_stage = subjects_exact * acc.accrued(times)
    sign = -1.0 if hr < 1 else 1.0
    hr_bounds = _hr_bound(crit, events_per_stage, r, sign)
    hr_futility = None
    if futility is not None:
        fb = np.asarray(futility, dtype=np.float64).copy()
        fb[~np.isfinite(fb) | (fb <= _NO_FUTILITY)] = np.nan
        if not np.all(np.isnan(fb)):
            hr_futility = _hr_bound(fb, events_per_stage, r, sign)

    power_at_events = None
    if design is None:
        power_at_events = float(_power(events, np.asarray(hr), r, alpha, sided, method,
                                       "lower" if hr < 1 else "upper"))

    return SurvivalSampleSize(
        hazard_ratio=hr, median_control=m_c, median_experimental=m_e,
        lambda_control=lam_c, lambda_experimental=lam_c * hr,
        alpha=alpha, sided=sided, power=power, allocation_ratio=r, method=method,
        rounding=rounding, accrual_time=acc.breakpoints, accrual_intensity=acc.intensity,
        follow_up=follow_up, dropout_rate={"control": pair[0], "experimental": pair[1]},
        dropout_time=d_time, not_randomised=not_randomised, time_unit=str(time_unit),
        events_fixed=events_fixed, inflation_factor=inflation, events_exact=events_exact,
        events=events,
        event_probability={"control": p_c, "experimental": p_e},
        mean_event_probability=omega, subjects_exact=subjects_exact,
        subjects_per_arm=per_arm, subjects=sum(per_arm.values()),
        enrolled_per_arm=enrolled, enrolled=sum(enrolled.values()),
        analysis_time=t_end, expected_analysis_time=expected_time,
        power_at_events=power_at_events,
        k=k, information_rates=info, events_per_stage=events_per_stage,
        analysis_times=times, subjects_per_stage=subjects_per_stage, critical_values=crit,
        hr_boundaries=hr_bounds, hr_futility=hr_futility, design=design,
    )


# ================================================================================= power
@dataclass(frozen=True, repr=False)
class SurvivalPower(Result):
    """Power of a two-arm log-rank comparison (see :func:`survival_power`).

    ``hazard_ratio``, ``median_experimental``, ``lambda_experimental``, ``power``,
    ``events``, ``analysis_time`` and ``follow_up`` are floats when one hazard ratio was
    given, arrays (one entry per hazard ratio) for a power curve; ``analysis_time`` and
    ``follow_up`` are None when only ``events`` was given. ``to_frame()`` has one row per
    hazard ratio.
    """

    hazard_ratio: Any
    median_control: float
    median_experimental: Any
    lambda_control: float
    lambda_experimental: Any
    alpha: float
    sided: int
    direction: str
    allocation_ratio: float
    method: str
    subjects: float | None
    accrual_time: np.ndarray | None
    accrual_intensity: np.ndarray | None
    dropout_rate: dict[str, float]
    dropout_time: float
    time_unit: str
    events: Any
    power: Any
    analysis_time: Any
    follow_up: Any

    def to_frame(self) -> pd.DataFrame:
        """One row per hazard ratio: the curve to plot, with the fixed settings repeated."""
        import pandas as pd

        hr = np.atleast_1d(self.hazard_ratio)

        def col(v: Any) -> np.ndarray:
            return np.broadcast_to(np.nan if v is None else np.asarray(v, dtype=float), hr.shape)

        return pd.DataFrame({
            "hazard_ratio": hr,
            "median_control": self.median_control,
            "median_experimental": col(self.median_experimental),
            "events": col(self.events),
            "subjects": col(self.subjects),
            "alpha": self.alpha,
            "sided": self.sided,
            "method": self.method,
            "power": col(self.power),
            "analysis_time": col(self.analysis_time),
            "follow_up": col(self.follow_up),
        })

    def report(self) -> str:
        u = self.time_unit
        side = "two-sided" if self.sided == 2 else f"one-sided ({self.direction})"
        rows = [
            ("Median, control", f"{self.median_control:g} {u}"),
            ("Significance level", f"{self.alpha:g}, {side}"),
            ("Events formula", {"schoenfeld": "Schoenfeld", "freedman": "Freedman",
                                "hsieh-freedman": "Hsieh-Freedman"}[self.method]),
            ("Allocation (exp.:control)", _ratio_text(self.allocation_ratio)),
        ]
        if self.subjects is not None and self.accrual_time is not None \
                and self.accrual_intensity is not None:
            rows += [("Patients randomised", f"{self.subjects:g}"),
                     ("Accrual", _accrual_text(self.accrual_time, self.accrual_intensity, u)),
                     ("Dropout", _dropout_text(self.dropout_rate, self.dropout_time, u))]
        out = ["Power: two-arm comparison of time to event (log-rank test)", "Assumptions"]
        out += _lines(rows, max(len(name) for name, _ in rows))
        cols = ["hazard_ratio", "median_experimental", "events", "power"]
        if self.analysis_time is not None:
            cols += ["analysis_time", "follow_up"]
        text = self.to_frame()[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}")
        out += ["Results"] + ["  " + line for line in text.splitlines()]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.report()


def survival_power(
    *,
    events: float | None = None,
    subjects: float | None = None,
    median_control: float,
    median_experimental: Any = None,
    hazard_ratio: Any = None,
    alpha: float = 0.05,
    sided: int = 2,
    allocation_ratio: float = 1.0,
    accrual_time: Any = None,
    follow_up: float | None = None,
    accrual_intensity: Any = None,
    dropout_rate: Any = 0.0,
    dropout_time: float = 12.0,
    method: str = "schoenfeld",
    direction: str | None = None,
    time_unit: str = "months",
) -> SurvivalPower:
    """Power of the log-rank test (normal approximation; rpact ``getPowerSurvival``).

    ``hazard_ratio`` (or ``median_experimental``) may be an array: the result is then a
    power curve, one value per hazard ratio (a hazard ratio of 1 gives ``alpha``). Three
    ways to fix the amount of information:

    * ``events`` only: power with that many events;
    * ``events`` and ``subjects`` (with ``accrual_time``): power with ``events`` events,
      plus the expected calendar time at which they are reached with ``subjects``
      patients randomised (``analysis_time``, and ``follow_up`` after the end of accrual —
      negative when the events are reached before accrual ends), as rpact does;
    * ``subjects`` with ``accrual_time`` and ``follow_up``: the events expected at the end
      of follow-up (they depend on the hazard ratio), and the power with them.

    Power is ``Phi(sqrt(D) |theta| - z_{1-alpha})`` for a one-sided test, with ``theta`` the
    standardised effect of ``method`` (Schoenfeld: ``sqrt(r) / (1 + r) ln HR``; see
    :func:`~oncotrial.design.events.events_required`); a two-sided test at ``alpha`` adds the
    power of both tails, ``Phi(sqrt(D) theta - z) + Phi(-sqrt(D) theta - z)`` with
    ``z = z_{1-alpha/2}``. A one-sided test rejects in ``direction``: ``"lower"`` (HR < 1,
    experimental better when the event is harmful) or ``"upper"``; by default ``"upper"`` if
    every hazard ratio is above 1, else ``"lower"``.
    """
    hr, m_c, m_e = effect_size(median_control, median_experimental, hazard_ratio, allow_one=True)
    m_e = np.broadcast_to(m_e, hr.shape).astype(np.float64)
    alpha = as_fraction(alpha, "alpha", "a significance level")
    sided = check_sided(sided)
    r = check_allocation(allocation_ratio)
    method = _method(method)
    if direction is None:
        direction = "upper" if np.all(hr > 1) else "lower"
    if direction not in ("lower", "upper"):
        raise InputError(f"direction: expected 'lower' (HR < 1) or 'upper', got {direction!r}", field="direction")
    pair, d_time = check_dropout(dropout_rate, dropout_time)
    lam_c = LN2 / m_c
    lam_e = lam_c * hr

    acc = None
    analysis_time = follow = None
    if events is None and subjects is None:
        raise InputError("events, subjects: expected events, or subjects with accrual_time and "
                         "follow_up, or both events and subjects with accrual_time; got neither",
                         field="events")
    if subjects is not None:
        if accrual_time is None:
            raise InputError("accrual_time: expected the accrual period (needed with subjects), "
                             "got None", field="accrual_time")
        acc = accrual = accrual_profile(accrual_time, accrual_intensity)
        eta_c, eta_e = dropout_hazards(pair, d_time)
        model = _Model(lam_c, lam_e, eta_c, eta_e, acc)
        n_c, n_e = _arms(subjects, r)
        subjects = float(subjects)
    elif accrual_time is not None or follow_up is not None:
        raise InputError("accrual_time, follow_up: used only together with subjects; "
                         "with events alone, leave them out",
                         field="accrual_time" if accrual_time is not None else "follow_up")
    if events is not None:
        events_arr = np.broadcast_to(
            _positive(events, "events", "a positive number of events"), hr.shape)
        if subjects is not None:
            if follow_up is not None:
                raise InputError(
                    "follow_up: with both events and subjects the follow-up is what it takes to "
                    "reach the events, so it is computed; leave follow_up out",
                    field="follow_up",
                )
            analysis_time = _solve_time(model, events_arr, n_c, n_e, "events")
            follow = analysis_time - accrual.duration
    else:
        if follow_up is None:
            raise InputError("follow_up: expected the minimum follow-up (needed with subjects "
                             "and no events), got None", field="follow_up")
        follow_up = _positive(follow_up, "follow_up", "a positive duration")
        t_end = accrual.duration + follow_up
        events_arr = _events_at(model, np.full(hr.shape, t_end), n_c, n_e)
        analysis_time = np.full(hr.shape, t_end)
        follow = np.full(hr.shape, follow_up)
    power = _power(events_arr, hr, r, alpha, sided, method, direction)

    scalar = np.ndim(hazard_ratio if hazard_ratio is not None else median_experimental) == 0

    def out(v: Any) -> Any:
        if v is None:
            return None
        v = np.asarray(v, dtype=np.float64)
        return float(v.reshape(-1)[0]) if scalar else v.copy()

    return SurvivalPower(
        hazard_ratio=out(hr), median_control=m_c, median_experimental=out(m_e),
        lambda_control=lam_c, lambda_experimental=out(lam_e), alpha=alpha, sided=sided,
        direction=direction, allocation_ratio=r, method=method, subjects=subjects,
        accrual_time=None if acc is None else acc.breakpoints,
        accrual_intensity=None if acc is None else acc.intensity,
        dropout_rate={"control": pair[0], "experimental": pair[1]}, dropout_time=d_time,
        time_unit=str(time_unit), events=out(events_arr), power=out(power),
        analysis_time=out(analysis_time), follow_up=out(follow),
    )
