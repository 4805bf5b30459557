"""``oncotrial simulate trial``: one patient-level replica written as SDTM domains
(:func:`oncotrial.simulate.trial.simulate_trial`). Registered on
:data:`oncotrial.cli_simulate.simulate_app` on import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from oncotrial.cli_simulate import simulate_app


@simulate_app.command("trial")
def simulate_trial_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (one file per domain).")],
    scenario: Annotated[str, typer.Option("--scenario",
                                          help="Bundled scenario name or YAML file.")] = "lms04",
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same trial.")] = 1,
    formats: Annotated[list[str], typer.Option(
        "--format", help="csv, parquet or xpt (repeat for several).")] = ["csv"],  # noqa: B006
) -> None:
    """Simulate one replica of a trial and write its SDTM domains (dm, ds, ex, pr, cm, ae, tu,
    tr, rs) plus truth.csv, ready for "oncotrial derive --sdtm DIR"."""
    from oncotrial.cli import _fail, console
    from oncotrial.simulate.scenario import ScenarioError
    from oncotrial.simulate.trial import DOMAINS, simulate_trial

    try:
        trial = simulate_trial(scenario, seed=seed)
        trial.write(out, formats=formats)
    except ScenarioError as exc:
        _fail(f"invalid scenario {exc.source or scenario}: " + "; ".join(exc.errors))
    except ValueError as exc:
        _fail(str(exc))
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
    console.print(f"Allocation list SHA-256 {trial.allocation_sha256}", highlight=False)
    files = ", ".join(f"{domain}.{fmt}" for domain in DOMAINS for fmt in formats)
    console.print(f"Wrote {files} and truth.csv to {out}", highlight=False, soft_wrap=True)
