"""``oncotrial simulate calibrate``: published results vs the replica's Monte-Carlo
distribution (:func:`oncotrial.simulate.calibrate.calibrate`). Registered on
:data:`oncotrial.cli_simulate.simulate_app` on import."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.table import Table

from oncotrial.cli_simulate import simulate_app


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NE"
    return f"{value:.3f}" if abs(value) < 2 else f"{value:.1f}"


def _render(result: Any, console: Any) -> None:
    table = Table(title=f"Calibration of scenario {result.scenario}: {result.trials:,} replicas "
                        f"(seed {result.seed}), published vs simulated",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("estimate", "published", "simulated mean", "2.5%", "97.5%", "within"):
        table.add_column(column, justify="left" if column == "estimate" else "right")
    for r in result.table.itertuples(index=False):
        table.add_row(r.estimate, _fmt(r.published), _fmt(r.mean), _fmt(r.lower), _fmt(r.upper),
                      "yes" if r.within else "[red]NO[/red]")
    console.print(table)
    outside = (~result.table["within"]).sum()
    console.print(f"{len(result.table) - outside} of {len(result.table)} published values lie "
                  "within the central 95% of the simulated estimates.")


@simulate_app.command("calibrate")
def simulate_calibrate_command(
    scenario: Annotated[str, typer.Option("--scenario", help="Bundled scenario name or YAML file.")] = "lms04",
    trials: Annotated[int, typer.Option("--trials", help="Number of replicas.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the replica seeds.")] = 1,
    targets: Annotated[Optional[str], typer.Option("--targets", help="YAML file of published targets (default: the scenario's bundled ones).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask: 'local' (a LocalCluster) or a scheduler address such as tcp://host:8786.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Worker processes with --scheduler local (default: one per core).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Simulate many replicas, derive and analyse each, and compare every published
    estimate with the central 95% of its simulated distribution."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from oncotrial.cli import _fail, _json_safe, console, err_console
    from oncotrial.simulate.calibrate import calibrate, load_targets
    from oncotrial.simulate.scenario import ScenarioError

    try:
        wanted = None if targets is None else load_targets(targets)
        with Progress(TextColumn("replicas"), BarColumn(), TextColumn("{task.completed:,}/"
                      "{task.total:,}"), TimeRemainingColumn(), console=err_console,
                      transient=True, disable=not err_console.is_terminal) as bar:
            task = bar.add_task("replicas", total=trials)
            result = calibrate(scenario, trials=trials, seed=seed, targets=wanted,
                               scheduler=scheduler, workers=workers,
                               progress=lambda done, total: bar.update(task, completed=done))
    except (ValueError, ScenarioError) as exc:
        _fail(str(exc))
    if as_json:
        out = {"scenario": result.scenario, "trials": result.trials, "seed": result.seed,
               "all_within": result.all_within,
               "table": result.table.to_dict(orient="records")}
        console.print_json(json.dumps(_json_safe(out)))
    else:
        _render(result, console)
