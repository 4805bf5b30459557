"""``oncotrial randomise list|assess``: the sealed permuted-block list of a protocol, and
the Monte-Carlo comparison of randomisation methods (:mod:`oncotrial.randomise`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from oncotrial.cli._output import (
    check_output_file,
    console,
    err_console,
    print_json,
    reports_errors,
)
from oncotrial.cli.protocol import load_protocol

__all__ = ["randomise_app"]

randomise_app = typer.Typer(no_args_is_help=True, help="Randomisation lists and their assessment.")


@randomise_app.command("list")
@reports_errors
def randomise_list(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the list (keep it sealed).")],
    per_stratum: Annotated[int, typer.Option("--per-stratum", help="Allocations per stratum.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Generate the stratified permuted-block list and print its SHA-256."""
    from oncotrial.randomise import generate_list

    check_output_file(out, "--out")
    lst = generate_list(load_protocol(protocol), seed, per_stratum)
    lst.write_csv(out)
    console.print(f"wrote {len(lst.frame):,} allocations ({lst.algorithm_version}, seed {seed}) to {out}",
                  highlight=False, markup=False)
    console.print(f"SHA-256 {lst.sha256}", highlight=False)


@randomise_app.command("assess")
@reports_errors(fields={"method": "method", "n_patients": "n", "n_sims": "sims"})
def randomise_assess(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    n: Annotated[int, typer.Option("--n", help="Patients per simulated trial.")] = 150,
    sims: Annotated[int, typer.Option("--sims", help="Number of simulated trials.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulation.")] = 2017,
    method: Annotated[list[str], typer.Option(
        "--method", help="Method spec (repeatable), e.g. blocks:2,4,6, minimisation:p=0.8, "
                         "simple.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Monte-Carlo imbalance and predictability (convergence-strategy guessing) per method."""
    from rich.progress import Progress

    from oncotrial.randomise import COMPARISON, assess

    proto = load_protocol(protocol)
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("simulating", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = assess(proto, tuple(method) or COMPARISON, n, sims, seed, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"{proto.id}: {sims:,} simulated trials of {n} patients (seed {seed})",
                  title_justify="left", box=box.SIMPLE_HEAD,
                  caption="Imbalance |n_A - n_B| (ratio-adjusted): mean / 95th percentile / max. "
                          "Predictability: share of allocations guessed right by a site that guesses "
                          "the arm with fewer patients so far in the stratum.", caption_justify="left")
    for col in ("method", "overall", "per stratum", "per factor level", "predictability", "excess over chance"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in result.table.itertuples(index=False):
        table.add_row(str(r.method), f"{r.overall_mean:.2f} / {r.overall_p95:g} / {r.overall_max:g}",
                      f"{r.stratum_mean:.2f} / {r.stratum_p95:g} / {r.stratum_max:g}",
                      f"{r.level_mean:.2f} / {r.level_p95:g} / {r.level_max:g}",
                      f"{r.predictability:.3f}", f"{r.excess:+.3f}")
    console.print(table)
