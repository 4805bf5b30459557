"""A documented starting scenario for any protocol: :func:`scenario_template`.

Writing a scenario from scratch means knowing every section the simulator needs. The
template fills each with a neutral value taken from the protocol where it can: the arms,
phases and stratification factors (the protocol's prevalences, else uniform shares per
level), the design's sample size, accrual (with its ramp-up), dropout, event-driven looks
and medians (exponential overall
survival and progression-free time: the design's end point gets the design's medians, the
other one a plausible multiple), and says in a comment what each parameter means. The text
is valid as it stands (``Scenario.load`` accepts it and ``simulate_trial`` runs it); every
"assumption" is there to be replaced by what is known of the disease and the treatments.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np

from oncotrial.protocol import Protocol, level_key
from oncotrial.simulate.visits import add_months

__all__ = ["scenario_template"]

#: first accrual date of a template (any date: only durations matter to the results)
START = date(2026, 1, 5)
#: without a design: patients, accrual months, follow-up months, control medians (OS, PFS)
DEFAULT_PATIENTS, DEFAULT_ACCRUAL, DEFAULT_FOLLOW_UP = 200, 24.0, 24.0
DEFAULT_MEDIANS = (12.0, 6.0)


def _flow(value: Any) -> str:
    """A value in YAML flow style (JSON is YAML; keys stay quoted where needed)."""
    return json.dumps(value, ensure_ascii=False)


def _shares(factor: Any) -> dict[str, float]:
    """Share per level: the factor's declared ``prevalence``, else equal shares (the last
    level takes the rounding remainder, so that the shares sum to 1)."""
    if factor.prevalence is not None:
        given = {level_key(k): float(v) for k, v in factor.prevalence.items()}
        return {str(lv): given[level_key(lv)] for lv in factor.levels}
    k = len(factor.levels)
    shares = [round(1 / k, 6) for _ in factor.levels]
    shares[-1] = round(1 - sum(shares[:-1]), 6)
    return {str(lv): s for lv, s in zip(factor.levels, shares, strict=True)}


def _design(protocol: Protocol) -> dict[str, Any]:
    """Sample size, accrual, dropout, looks and medians per arm role from the design."""
    design = getattr(protocol, "design", None)
    out: dict[str, Any] = {"patients": DEFAULT_PATIENTS, "accrual": DEFAULT_ACCRUAL,
                           "follow_up": DEFAULT_FOLLOW_UP, "ramp": None, "dropout": None,
                           "looks": None, "endpoint": "OS", "control": DEFAULT_MEDIANS[0],
                           "experimental": DEFAULT_MEDIANS[0]}
    if design is None:
        return out
    from oncotrial.design import survival_sample_size
    from oncotrial.simulate.trial import design_events

    inputs = protocol.design_inputs()
    fixed = {k: v for k, v in inputs.items() if k not in ("alpha", "sided", "power")}
    looks = protocol.group_sequential_inputs()
    if looks is None:
        size = survival_sample_size(**inputs)
    else:
        from oncotrial.design.group_sequential import group_sequential

        size = survival_sample_size(design=group_sequential(**looks), **fixed)
    times = inputs["accrual_time"]
    if isinstance(times, list):
        intensity = inputs["accrual_intensity"]
        out["accrual"] = float(times[-1])
        if len(intensity) >= 2:
            out["ramp"] = (float(times[1] - times[0]), round(intensity[0] / intensity[-1], 4))
    else:
        out["accrual"] = float(times)
    control = float(inputs["median_control"])
    experimental = float(inputs["median_experimental"] if "median_experimental" in inputs
                         else control / inputs["hazard_ratio"])
    out |= {"patients": int(size.subjects), "follow_up": float(inputs["follow_up"]),
            "endpoint": str(design.endpoint), "control": control,
            "experimental": round(experimental, 4), "events": design_events(protocol)}
    if "dropout_rate" in inputs and inputs["dropout_rate"]:
        out["dropout"] = (float(inputs["dropout_rate"]), float(inputs.get("dropout_time", 12.0)))
    rates = getattr(design, "information_rates", None)
    out["looks"] = [float(r) for r in rates] if rates else [1.0]
    return out


def _medians(protocol: Protocol, endpoint: str, median: float) -> tuple[float, float]:
    """(OS, PFS) medians of an arm: the design's end point gets ``median``."""
    events = next((set(e.events) for e in protocol.endpoints if e.name == endpoint), {"death"})
    if events == {"death"}:
        return median, round(median / 2, 4)
    return round(median * 2, 4), median


def scenario_template(protocol: Protocol, *, protocol_ref: str | None = None) -> str:
    """YAML text of a documented, valid starting scenario for ``protocol``; ``protocol_ref``
    is what its ``protocol:`` entry names (a bundled name or a path; default the id)."""
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol: expected a Protocol, got {type(protocol).__name__}")
    d = _design(protocol)
    ref = protocol_ref or protocol.id
    end = add_months(np.array([START], dtype="datetime64[D]"), round(d["accrual"]))[0].astype(object)
    names = [f.name for f in protocol.stratification]
    has_ecog = any(name.upper() == "ECOG" for name in names)
    lines = [
        f"# Starting scenario for protocol {protocol.id}: every parameter is a neutral",
        "# assumption to replace by what is known. Times in months unless named \"days\";",
        "# shares are fractions of all randomised patients unless said otherwise.",
        f"id: {_flow(protocol.id.lower() + '_scenario')}",
        f"title: {_flow('Starting scenario for ' + protocol.id)}",
        f"protocol: {_flow(ref)}               # bundled protocol name or YAML path",
        f"patients: {d['patients']}                 # randomised patients"
        + (" (the design's sample size)" if d["looks"] else ""),
    ]
    if d["looks"]:
        lines += ["# analyses when the primary end point has these fractions of the design's "
                  f"{d['events']} events",
                  "# (or `cutoff: {events: [N1, N2]}`, or a date); `simulate trial --look K` "
                  "chooses one",
                  f"cutoff: {_flow({'information': d['looks']})}"]
    else:
        cutoff = add_months(np.array([end], dtype="datetime64[D]"),
                            round(d["follow_up"]))[0].astype(object)
        lines += ["cutoff: " + cutoff.isoformat() + "            # data cut-off date "
                  "(or {events: [N1, N2]} of the primary end point)"]
    lines += [
        "",
        "accrual:                     # randomisation dates: uniform between start and end",
        f"  start: {START.isoformat()}",
        f"  end: {end.isoformat()}            # {d['accrual']:g} months",
    ]
    if d["ramp"] is not None:
        lines.append(f"  ramp_up: {_flow({'months': d['ramp'][0], 'relative_intensity': d['ramp'][1]})}"
                     "   # slower while centres open (the design's accrual)")
    else:
        lines.append("  # ramp_up: {months: 6, relative_intensity: 0.5}   # slower while centres open")
    lines += [
        "  weekdays_only: true         # randomisations on weekdays only",
        "",
        "sites:",
        "  count: 20                   # centres",
        "  concentration: 1.0          # Dirichlet concentration: lower = more uneven recruitment",
        "  countries: {XXX: 20}        # ISO 3166 alpha-3 code -> centres (XXX: replace)",
        "",
        "follow_up:",
        "  last_contact_lag_months: 3  # last news of patients alive: within this before the cut-off",
    ]
    if d["dropout"] is not None:
        lines.append(f"  dropout: {_flow({'rate': d['dropout'][0], 'months': d['dropout'][1]})}"
                     "   # lost to follow-up (the design's dropout)")
    else:
        lines.append("  # dropout: {rate: 0.05, months: 12}   # share lost to follow-up within months")
    lines += [
        "",
        "baseline:",
        "  age: {quantiles: [[0.0, 18], [0.25, 52], [0.5, 62], [0.75, 70], [1.0, 85]]}  "
        "# [probability, age] pairs",
        "  strata:                     # share per level of each stratification factor "
        "(the protocol's prevalence, else uniform)",
    ]
    for factor in protocol.stratification:
        lines.append(f"    {factor.name}: " + _flow(_shares(factor)))
    if not names:
        lines[-1] = "  strata: {}                  # the protocol has no stratification factor"
    lines += [
        "  metastatic: 1.0             # share with metastatic disease (or {factor: [levels]})",
        "  female: 0.5                 # share of women (all_female: {factor: [levels]} for "
        "levels of women only)",
    ]
    if not has_ecog:
        lines.append("  ecog: {one: 0.4, missing: 0.0}   # ECOG 1 among recorded scores; "
                     "share not recorded")
    lines += [
        "  # grade: {shares: {\"1\": 0.3, \"2\": 0.4, \"3\": 0.3}, not_applicable: {}}   "
        "# tumour grade, if recorded",
        "  # metastasis sites among metastatic patients (at least one each)",
        "  metastasis_sites: {lung: 0.3, liver: 0.3, bone: 0.15, skin: 0.05, other: 0.4}",
        "  single_metastasis: 0.2      # metastatic patients with a single metastasis",
        "  primary_in_place: 0.5       # metastatic patients whose primary tumour is still there",
        "  primary_location: {otherwise: [PRIMARY SITE]}   # TU location of the primary tumour",
        "",
        "assessments:                 # how the protocol's scans really happen",
        "  jitter_days: 3              # scans up to this many days off schedule",
        "  missed: 0.0                 # share of scheduled scans missed",
        "  baseline_days: [1, 28]      # baseline scan this many days before randomisation",
        "",
        "disease:",
        "  # loadings on a latent factor shared by progression and death (0: independent)",
        "  dependence: {progression_free: 0.5, death: 0.5}",
        "  arms:                       # exponential curves (median only); add survival: "
        "[[months, rate], ...]",
    ]
    for arm in protocol.arms:
        median = d["control"] if arm.role == "control" else d["experimental"]
        os_median, pfs_median = _medians(protocol, d["endpoint"], median)
        lines += [f"    {arm.code}:",
                  f"      overall_survival: {_flow({'median': os_median})}",
                  f"      progression_free: {_flow({'median': pfs_median})}"]
    lines += [
        "",
        "response:",
        "  link: 0.0                   # log-odds of response per unit of the latent factor",
        "  arms:                       # objective response rate; share of responders in CR",
    ]
    lines += [f"    {arm.code}: {{orr: 0.3, complete_share: 0.1}}" for arm in protocol.arms]
    lines += [
        "  progression_by: {target_growth: 0.6, new_lesion: 0.3, non_target: 0.1}",
        "",
        "treatment:",
        "  arms:                       # per phase: per-cycle stop probabilities, reductions",
    ]
    for arm in protocol.arms:
        lines += [f"    {arm.code}:",
                  "      not_treated: 0.0          # randomised but never treated",
                  "      delay: {probability: 0.1, days: 7}   # a cycle postponed",
                  "      phases:"]
        for i, phase in enumerate(protocol.regimen(arm.code).phases):
            extra = ", declined: 0.0" if i else ""
            lines.append(f"        {phase.name}: {{toxicity_stop: 0.01, other_stop: 0.01, "
                         f"reduction: 0.2{extra}}}")
        lines.append("      surgery: 0.0              # surgery of residual disease after "
                     "the first phase")
    lines += [
        "  surgery_primary: 0.0        # share of operations on the primary tumour",
        "  second_reduction: 0.0       # a reduced patient reduced again",
        "",
        "subsequent_therapy:          # lines after first and second progression",
        "  start_days: [14, 42]",
        "  arms:",
    ]
    lines += [f"    {arm.code}: {{second_line: 0.5, second_line_regimens: "
              f"{{second-line therapy: 1.0}}, third_line: 0.0, third_line_regimens: "
              f"{{third-line therapy: 1.0}}}}" for arm in protocol.arms]
    lines += [
        "",
        "adverse_events:",
        "  grade_2_share: 0.4          # grade 2 among grade 1-2 events",
        "  arms:                       # any grade 3-4 event; serious; treatment-related deaths",
    ]
    lines += [f"    {arm.code}: {{grade_3_4: 0.08, serious: 0.04, treatment_related_death: 0.0}}"
              for arm in protocol.arms]
    incidence = _flow({arm.code: [0.3, 0.05] for arm in protocol.arms})
    lines += [
        "  fatal_term: {decod: Death NOS, soc: General disorders and administration site "
        "conditions}",
        "  terms:                      # MedDRA terms: [any grade, grade 3-4] per arm",
        "    - {decod: Fatigue, soc: General disorders and administration site conditions, "
        f"grade_4_share: 0.0, incidence: {incidence}}}",
        f"    - {{decod: Nausea, soc: Gastrointestinal disorders, grade_4_share: 0.0, "
        f"incidence: {incidence}}}",
    ]
    return "\n".join(lines) + "\n"
