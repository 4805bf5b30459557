"""Benchmark of oncotrial.stats against lifelines, measured in the same run.

Data: a seeded trial-like data set (default 1,000,000 rows) with 6 covariates (arm, two
binary strata, age, two continuous markers), exponential event times with HR(arm) = 0.75,
administrative censoring uniform on 12–60 months, times rounded up to whole days so
that ties are common (~1,800 distinct times), ~70 % events.

Tasks: Kaplan–Meier with a pointwise CI; 2-group log-rank; Cox with Efron ties and 6
covariates; the same stratified by two binary factors; Cox with robust (sandwich) SE; the
proportional-hazards test (R ``cox.zph`` vs lifelines ``proportional_hazard_test``, km
transform). lifelines' robust variance and PH test are O(n^2) or slower, so those two
comparisons are made at ``--robust-peer-n`` rows; oncotrial's robust SE is also timed at
n/10 and n to show that it grows linearly.

Run: ``make bench`` or ``python benchmarks/bench_stats.py [--n 1000000] [--seed 2026]``.
Each oncotrial timing is the best of ``--repeat`` runs; lifelines runs once (it is slow).
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from _timing import best_of

COVARIATES = ["arm", "s1", "s2", "age", "m1", "m2"]


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    s1 = rng.integers(0, 2, n)
    s2 = rng.integers(0, 2, n)
    age = rng.normal(60, 10, n).round()
    m1 = rng.normal(0, 1, n)
    m2 = rng.gamma(2.0, 1.0, n)
    lp = np.log(0.75) * arm + 0.4 * s1 - 0.3 * s2 + 0.02 * (age - 60) + 0.1 * m1 - 0.05 * m2
    event_time = rng.exponential(24.0, n) * np.exp(-lp)           # months
    censor_time = rng.uniform(12.0, 60.0, n)
    months = np.minimum(event_time, censor_time)
    days = np.ceil(months * 30.4375)
    return pd.DataFrame({"time": days, "event": (event_time <= censor_time).astype(int),
                         "arm": arm, "s1": s1, "s2": s2, "age": age, "m1": m1, "m2": m2})


def quietly(fn: Callable[[], object]) -> Callable[[], object]:
    """lifelines warns about convergence details that do not matter for timing."""
    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--robust-peer-n", type=int, default=20_000)
    args = parser.parse_args()

    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test as ll_logrank
    from lifelines.statistics import proportional_hazard_test

    from oncotrial.stats import cox_zph, coxph, kaplan_meier, logrank_test

    df = make_data(args.n, args.seed)
    t, e, g = df["time"].to_numpy(), df["event"].to_numpy(), df["arm"].to_numpy()
    print(f"data: n={args.n:,} seed={args.seed} events={e.mean():.1%} distinct times={np.unique(t).size:,}")
    rows: list[tuple[str, int, float, float]] = []

    ours = best_of(lambda: kaplan_meier(t, e).table, args.repeat)
    peer = best_of(lambda: KaplanMeierFitter().fit(t, e), 1)
    rows.append(("Kaplan-Meier with CI", args.n, ours, peer))

    a = g == 1
    ours = best_of(lambda: logrank_test(t, e, g), args.repeat)
    peer = best_of(lambda: ll_logrank(t[a], t[~a], e[a], e[~a]), 1)
    rows.append(("log-rank, 2 groups", args.n, ours, peer))

    ours = best_of(lambda: coxph(df, time="time", event="event", covariates=COVARIATES, ties="efron"),
                   args.repeat)
    peer = best_of(quietly(lambda: CoxPHFitter().fit(df, "time", "event")), 1)
    rows.append(("Cox Efron, 6 covariates", args.n, ours, peer))

    strata_cov = ["arm", "age", "m1", "m2"]
    ours = best_of(lambda: coxph(df, time="time", event="event", covariates=strata_cov,
                                 strata=["s1", "s2"]), args.repeat)
    stratified = df[["time", "event", *strata_cov, "s1", "s2"]]
    peer = best_of(quietly(lambda: CoxPHFitter().fit(stratified, "time", "event", strata=["s1", "s2"])), 1)
    rows.append(("Cox Efron, 4 cov. + 4 strata", args.n, ours, peer))

    small = df.iloc[: args.robust_peer_n]
    ours = best_of(lambda: coxph(small, time="time", event="event", covariates=COVARIATES, robust=True),
                   args.repeat)
    peer = best_of(quietly(lambda: CoxPHFitter().fit(small, "time", "event", robust=True)), 1)
    rows.append(("Cox robust SE", args.robust_peer_n, ours, peer))

    fit_small = coxph(small, time="time", event="event", covariates=COVARIATES)
    ll_small = CoxPHFitter().fit(small, "time", "event")
    ours = best_of(lambda: cox_zph(fit_small), args.repeat)
    peer = best_of(quietly(lambda: proportional_hazard_test(ll_small, small, time_transform="km")), 1)
    rows.append(("PH test (cox.zph, km)", args.robust_peer_n, ours, peer))

    print(f"\n{'task':<32}{'rows':>11}{'oncotrial s':>13}{'lifelines s':>13}{'speed-up':>10}")
    for name, n, o, p in rows:
        print(f"{name:<32}{n:>11,}{o:>13.3f}{p:>13.3f}{p / o:>9.1f}x")

    fit_full = coxph(df, time="time", event="event", covariates=COVARIATES)
    t_zph = best_of(lambda: cox_zph(fit_full), args.repeat)
    print(f"\ncox_zph (km) at n={args.n:,}: {t_zph:.3f} s (lifelines not run at this size: "
          "its PH test took 843 s at 1M in the survey)")
    tenth = df.iloc[: args.n // 10]
    t_small = best_of(lambda: coxph(tenth, time="time", event="event", covariates=COVARIATES, robust=True),
                      args.repeat)
    t_full = best_of(lambda: coxph(df, time="time", event="event", covariates=COVARIATES, robust=True),
                     args.repeat)
    t_plain = best_of(lambda: coxph(df, time="time", event="event", covariates=COVARIATES), args.repeat)
    print(f"\nCox robust SE: n={args.n // 10:,} {t_small:.3f} s, n={args.n:,} {t_full:.3f} s "
          f"(x{t_full / t_small:.1f} for 10x rows; linear = 10); robust/plain at n={args.n:,}: "
          f"{t_full / t_plain:.2f}")


if __name__ == "__main__":
    main()
