"""``oncotrial simulate power``: Monte-Carlo power of an event-driven two-arm survival trial.

The numbers come from :func:`oncotrial.simulate.power.simulate_power`; this module only
parses options, shows a progress bar (on stderr, so that ``--json`` output stays clean) and
renders the result. Registered on :data:`oncotrial.cli_simulate.simulate_app` on import.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.table import Table

from oncotrial.cli_simulate import simulate_app


def _quantiles(values: dict[str, float], digits: int) -> str:
    return ", ".join(f"{key} {value:.{digits}f}" for key, value in values.items())


def _render(result: Any, console: Any) -> None:
    u = result.time_unit
    side = "two-sided" if result.sided == 2 else f"one-sided ({result.direction})"
    effect = ("piecewise hazards" if result.hazard_ratio is None
              else f"hazard ratio {result.hazard_ratio:.4f}")
    table = Table(title=f"Simulated power: {effect}, {result.subjects} patients, events "
                        f"{', '.join(str(int(d)) for d in result.events)}, alpha "
                        f"{result.alpha:g} {side}",
                  title_justify="left", box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("Trials (seed)", f"{result.trials:,} ({result.seed})")
    table.add_row("Power (Monte-Carlo SE)", f"{result.power:.4f} ({result.mc_se:.4f})")
    if result.analytic_power is not None:
        table.add_row("Normal approximation", f"{result.analytic_power:.4f}")
    table.add_row(f"Expected analysis time, {u} (SE)",
                  f"{result.expected_analysis_time:.2f} ({result.expected_analysis_time_se:.2f})")
    table.add_row("Analysis time quantiles", _quantiles(result.analysis_time_quantiles, 1))
    table.add_row("Hazard ratio quantiles", _quantiles(result.hazard_ratio_quantiles, 3))
    table.add_row("Expected events / patients",
                  f"{result.expected_events:.1f} / {result.expected_subjects:.1f}")
    if result.k > 1:
        table.add_row("Early stop", f"{result.early_stop:.4f}")
    if result.events_not_reached > 0:
        table.add_row("Events never reached", f"{result.events_not_reached:.4f}")
    console.print(table)
    if result.k > 1:
        looks = Table(title="Per look", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("look", "events", "critical z", "reject", "futility", "cumulative",
                    f"mean time ({u})"):
            looks.add_column(col, justify="right")
        for r in result.look_table().itertuples(index=False):
            looks.add_row(str(r.look), str(r.events), f"{r.critical_value:.4f}",
                          f"{r.rejection:.4f}", f"{r.futility:.4f}",
                          f"{r.cumulative_power:.4f}",
                          "-" if math.isnan(r.analysis_time) else f"{r.analysis_time:.2f}")
        console.print(looks)


@simulate_app.command("power")
def simulate_power_command(
    median_control: Annotated[float, typer.Option("--median-control", help="Median survival in the control arm.")],
    patients: Annotated[int, typer.Option("--patients", help="Patients randomised per trial.")],
    events: Annotated[int, typer.Option("--events", help="Events at the final analysis.")],
    accrual: Annotated[float, typer.Option("--accrual", help="Accrual duration (uniform accrual).")],
    median_experimental: Annotated[Optional[float], typer.Option("--median-experimental", help="Median survival in the experimental arm.")] = None,
    hazard_ratio: Annotated[Optional[float], typer.Option("--hazard-ratio", help="Hazard ratio experimental:control (instead of --median-experimental); 1 gives the type I error.")] = None,
    allocation: Annotated[float, typer.Option("--allocation", help="Allocation ratio experimental:control.")] = 1.0,
    dropout: Annotated[float, typer.Option("--dropout", help="Fraction lost to follow-up by --dropout-time (exponential).")] = 0.0,
    dropout_time: Annotated[float, typer.Option("--dropout-time", help="Time at which --dropout applies.")] = 12.0,
    entry: Annotated[str, typer.Option("--entry", help="Entry times: random (i.i.d. uniform) or regular (rpact's fixed grid).")] = "random",
    looks: Annotated[int, typer.Option("--looks", help="Number of analyses (1 = fixed design).")] = 1,
    spending: Annotated[str, typer.Option("--spending", help="Boundary type: asOF, asP, asHSD, OF or P.")] = "asOF",
    gamma: Annotated[Optional[float], typer.Option("--gamma", help="Gamma of the Hwang-Shih-DeCani spending function.")] = None,
    futility: Annotated[Optional[str], typer.Option("--futility", help="Non-binding futility bounds (one-sided): bsOF, bsP or bsHSD.")] = None,
    beta: Annotated[float, typer.Option("--beta", help="Type II error spent by --futility.")] = 0.2,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (total, two-sided when --sided 2).")] = 0.05,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 2,
    trials: Annotated[int, typer.Option("--trials", help="Number of simulated trials.")] = 10_000,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (default: a new one, printed).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask: 'local' (a LocalCluster) or a scheduler address such as tcp://host:8786.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Worker processes with --scheduler local (default: one per core).")] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", help="Trials per task (the results do not depend on it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Monte-Carlo power (or type I error), analysis time and hazard-ratio spread of an
    event-driven trial analysed by the log-rank test, optionally group-sequential."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from oncotrial.cli import _fail, _json_safe, console, err_console
    from oncotrial.design import group_sequential
    from oncotrial.simulate.power import simulate_power

    try:
        design = None
        if looks > 1:
            design = group_sequential(looks, alpha=alpha, sided=sided, beta=beta, type=spending,
                                      gamma=gamma, futility=futility)
        elif futility is not None:
            raise ValueError("futility: futility bounds need --looks 2 or more")
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/"
                      "{task.total:,} trials"), TimeRemainingColumn(), console=err_console,
                      transient=True, disable=not err_console.is_terminal) as bar:
            task = bar.add_task("simulating", total=trials)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = simulate_power(
                median_control=median_control, median_experimental=median_experimental,
                hazard_ratio=hazard_ratio, subjects=patients, events=events,
                accrual_time=accrual, entry=entry, allocation_ratio=allocation,
                dropout_rate=dropout, dropout_time=dropout_time,
                alpha=None if design is not None else alpha,
                sided=None if design is not None else sided, design=design, trials=trials,
                seed=seed, chunk_size=chunk_size, scheduler=scheduler, workers=workers,
                progress=progress)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        out = result.to_dict()
        out["looks"] = result.look_table().to_dict(orient="list")
        console.print_json(json.dumps(_json_safe(out)))
    else:
        _render(result, console)
