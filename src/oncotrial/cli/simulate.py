"""``oncotrial simulate trial|scenario-template|calibrate|power``: the in-silico trial commands.

``trial`` writes one patient-level replica as SDTM domains
(:func:`oncotrial.simulate.trial.simulate_trial`), at one look of an event-driven scenario;
``scenario-template`` writes a documented starting scenario for any protocol
(:func:`oncotrial.simulate.template.scenario_template`); ``calibrate`` compares published
results with the replica's Monte-Carlo distribution
(:func:`oncotrial.simulate.calibrate.calibrate`); ``power`` gives the Monte-Carlo power of
an event-driven two-arm survival trial (:func:`oncotrial.simulate.power.simulate_power`).
``trial`` and ``calibrate`` always name their scenario (``--scenario`` is required): no
bundled trial is a default. Progress bars go to stderr, so that ``--json`` output stays
clean. The simulation package (and Dask) is imported inside the commands.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from oncotrial.cli._output import (
    check_output_dir,
    check_output_file,
    console,
    err_console,
    print_json,
    reports_errors,
)
from oncotrial.cli.design import GROUP_SEQUENTIAL_FIELDS, check_group_sequential
from oncotrial.core.errors import InputError

__all__ = ["simulate_app"]

simulate_app = typer.Typer(no_args_is_help=True,
                           help="In-silico trials: replicas, calibration and operating characteristics.")

#: the library's argument names -> the options of ``simulate power``
POWER_FIELDS = {**GROUP_SEQUENTIAL_FIELDS, "subjects": "patients"}
#: help of ``--scenario`` (required: no trial is the default one)
SCENARIO_HELP = "Bundled scenario name (e.g. gastric_example) or a scenario YAML file."

@simulate_app.command("trial")
@reports_errors
def simulate_trial_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (one file per domain).")],
    scenario: Annotated[str, typer.Option("--scenario", help=SCENARIO_HELP)],
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same trial.")] = 1,
    formats: Annotated[list[str], typer.Option(
        "--format", help="csv, parquet or xpt (repeat for several).")] = ["csv"],  # noqa: B006
    look: Annotated[int | None, typer.Option(
        "--look", help="Event-driven scenario: the analysis (1 = first look; default the last).")] = None,
) -> None:
    """Simulate one replica of a trial and write its SDTM domains (dm, ds, ex, pr, cm, ae, tu,
    tr, rs) plus truth.csv, ready for "oncotrial derive --sdtm DIR"."""
    check_output_dir(out, "--out")
    from oncotrial.simulate.trial import DOMAINS, simulate_trial

    trial = simulate_trial(scenario, seed=seed, look=look)
    trial.write(out, formats=formats)
    summary = trial.summary()
    table = Table(title=f"Scenario {trial.scenario}, seed {trial.seed}, data cut-off "
                        f"{trial.cutoff.date()}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Arm", "Patients", "Progressions", "Deaths", "Second progressions",
                   "Responders"):
        table.add_column(column, justify="left" if column == "Arm" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(str(row.ARMCD), str(row.patients), str(row.progressions), str(row.deaths),
                      str(row.second_progressions), str(row.responders))
    console.print(table)
    console.print(f"Allocation SHA-256 {trial.allocation_sha256}", highlight=False)
    files = ", ".join(f"{domain}.{fmt}" for domain in DOMAINS for fmt in formats)
    console.print(f"Wrote {files} and truth.csv to {out}", highlight=False, soft_wrap=True)


@simulate_app.command("scenario-template")
@reports_errors
def simulate_scenario_template_command(
    protocol: Annotated[str, typer.Option("--protocol", help="Bundled protocol name or YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Scenario YAML file to write.")],
) -> None:
    """Write a documented starting scenario for a protocol: every section, each parameter
    commented, neutral values taken from the protocol (arms, phases, strata, design) where
    it can. "oncotrial simulate trial --scenario FILE" runs it as it stands."""
    check_output_file(out, "--out", (".yaml", ".yml"))
    from oncotrial.cli.protocol import load_protocol
    from oncotrial.simulate.template import scenario_template

    text = scenario_template(load_protocol(protocol), protocol_ref=protocol)
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote a starting scenario for {protocol} to {out}; replace its "
                  "assumptions, then run: oncotrial simulate trial --scenario "
                  f"{out} --out DIR", highlight=False, soft_wrap=True)


def _calibration_value(value: float) -> str:
    if math.isnan(value):
        return "NE"
    return f"{value:.3f}" if abs(value) < 2 else f"{value:.1f}"


def _render_calibration(result: Any) -> None:
    compared = result.has_targets
    table = Table(title=f"Calibration of scenario {result.scenario}: {result.trials:,} replicas "
                        f"(seed {result.seed}), "
                        + ("published vs simulated" if compared else "simulated estimates"),
                  title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("estimate", "published", "simulated mean", "2.5%", "97.5%", "within"):
        table.add_column(column, justify="left" if column == "estimate" else "right")
    for r in result.table.itertuples(index=False):
        within = "" if r.within is None else "yes" if r.within else "[red]NO[/red]"
        table.add_row(r.estimate, "" if math.isnan(r.published) else _calibration_value(r.published),
                      *(_calibration_value(v) for v in (r.mean, r.lower, r.upper)), within)
    console.print(table)
    if not compared:
        console.print(f"No published targets for scenario {result.scenario}: the simulated "
                      "distributions are shown without a comparison (--targets FILE compares "
                      "them with published values).", highlight=False, soft_wrap=True)
        return
    outside = len(result.outside)
    console.print(f"{len(result.table) - outside} of {len(result.table)} published values lie "
                  "within the central 95% of the simulated estimates.")


@simulate_app.command("calibrate")
@reports_errors
def simulate_calibrate_command(
    scenario: Annotated[str, typer.Option("--scenario", help=SCENARIO_HELP)],
    trials: Annotated[int, typer.Option("--trials", help="Number of replicas.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the replica seeds.")] = 1,
    targets: Annotated[str | None, typer.Option(
        "--targets", help="YAML file of published targets (default: the scenario's bundled ones, "
                          "if oncotrial ships published results of the trial).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask: 'local' (a LocalCluster) or a scheduler address such as tcp://host:8786.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Worker processes with --scheduler local (default: one per core).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Simulate many replicas, derive and analyse each, and compare every published
    estimate with the central 95% of its simulated distribution (a trial without published
    targets: every estimate's simulated distribution)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from oncotrial.simulate.calibrate import calibrate, load_targets

    wanted = None if targets is None else load_targets(targets)
    with Progress(TextColumn("replicas"), BarColumn(), TextColumn("{task.completed:,}/"
                  "{task.total:,}"), TimeRemainingColumn(), console=err_console,
                  transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task("replicas", total=trials)
        result = calibrate(scenario, trials=trials, seed=seed, targets=wanted,
                           scheduler=scheduler, workers=workers,
                           progress=lambda done, total: bar.update(task, completed=done))
    if as_json:
        out = {"scenario": result.scenario, "trials": result.trials, "seed": result.seed,
               "has_targets": result.has_targets, "all_within": result.all_within,
               "table": result.table.to_dict(orient="records")}
        print_json(out)
    else:
        _render_calibration(result)


def _quantiles(values: dict[str, float], digits: int) -> str:
    return ", ".join(f"{key} {value:.{digits}f}" for key, value in values.items())


def _render_power(result: Any) -> None:
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
        c = result.look_columns()
        for i in range(result.k):
            time = c["analysis_time"][i]
            looks.add_row(str(c["look"][i]), str(c["events"][i]), f"{c['critical_value'][i]:.4f}",
                          f"{c['rejection'][i]:.4f}", f"{c['futility'][i]:.4f}",
                          f"{c['cumulative_power'][i]:.4f}",
                          "-" if math.isnan(time) else f"{time:.2f}")
        console.print(looks)


@simulate_app.command("power")
@reports_errors(fields=POWER_FIELDS)
def simulate_power_command(
    median_control: Annotated[float, typer.Option("--median-control", help="Median survival in the control arm.")],
    patients: Annotated[int, typer.Option("--patients", help="Patients randomised per trial.")],
    events: Annotated[int, typer.Option("--events", help="Events at the final analysis.")],
    accrual: Annotated[float, typer.Option("--accrual", help="Accrual duration (uniform accrual).")],
    median_experimental: Annotated[float | None, typer.Option(
        "--median-experimental", help="Median survival in the experimental arm.")] = None,
    hazard_ratio: Annotated[float | None, typer.Option(
        "--hazard-ratio", help="Hazard ratio experimental:control (instead of --median-experimental); 1 gives "
                               "the type I error.")] = None,
    allocation: Annotated[float, typer.Option("--allocation", help="Allocation ratio experimental:control.")] = 1.0,
    dropout: Annotated[float, typer.Option(
        "--dropout", help="Fraction lost to follow-up by --dropout-time (exponential).")] = 0.0,
    dropout_time: Annotated[float, typer.Option("--dropout-time", help="Time at which --dropout applies.")] = 12.0,
    entry: Annotated[str, typer.Option(
        "--entry", help="Entry times: random (i.i.d. uniform) or regular (rpact's fixed grid).")] = "random",
    looks: Annotated[int, typer.Option("--looks", help="Number of analyses (1 = fixed design).")] = 1,
    spending: Annotated[str, typer.Option("--spending", help="Boundary type: asOF, asP, asHSD, OF or P.")] = "asOF",
    gamma: Annotated[float | None, typer.Option(
        "--gamma", help="Gamma of the Hwang-Shih-DeCani spending function (--spending asHSD).")] = None,
    futility: Annotated[str | None, typer.Option(
        "--futility", help="Non-binding futility bounds (one-sided): bsOF, bsP or bsHSD.")] = None,
    futility_gamma: Annotated[float | None, typer.Option(
        "--futility-gamma", help="Gamma of the Hwang-Shih-DeCani beta-spending function (--futility bsHSD).")] = None,
    beta: Annotated[float, typer.Option("--beta", help="Type II error spent by --futility.")] = 0.2,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Significance level (total, two-sided when --sided 2).")] = 0.05,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 2,
    trials: Annotated[int, typer.Option("--trials", help="Number of simulated trials.")] = 10_000,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: a new one, printed).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask: 'local' (a LocalCluster) or a scheduler address such as tcp://host:8786.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Worker processes with --scheduler local (default: one per core).")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", help="Trials per task (the results do not depend on it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Monte-Carlo power (or type I error), analysis time and hazard-ratio spread of an
    event-driven trial analysed by the log-rank test, optionally group-sequential."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from oncotrial.design import group_sequential
    from oncotrial.simulate.power import simulate_power

    check_group_sequential(looks, spending, gamma=gamma, futility=futility)
    if futility_gamma is not None and futility != "bsHSD":
        raise InputError("--futility-gamma: only used with --futility bsHSD")
    design = None
    if looks != 1:
        design = group_sequential(looks, alpha=alpha, sided=sided, beta=beta, type=spending,
                                  gamma=gamma, futility=futility, futility_gamma=futility_gamma)
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
    if as_json:
        out = result.to_dict()
        from oncotrial.core.results import json_safe

        out["looks"] = json_safe(result.look_columns())
        print_json(out)
    else:
        _render_power(result)
