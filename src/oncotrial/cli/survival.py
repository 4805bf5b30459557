"""``oncotrial survival`` (Kaplan–Meier, Cox and log-rank by arm from a data file) and
``oncotrial datasets`` (the bundled trial data sets).

Every number comes from :func:`oncotrial.report.efficacy.efficacy_summary`; this module
reads the file, renders the summary as a report table and names bad input.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from oncotrial.cli._output import check_output_file, console, print_json, reports_errors
from oncotrial.core.errors import InputError

__all__ = ["datasets_app", "render_efficacy", "survival"]

datasets_app = typer.Typer(no_args_is_help=True, help="Real trial data sets bundled with oncotrial.")

#: the data set formats ``datasets export`` writes
EXPORT_SUFFIXES = (".csv", ".parquet", ".pq")


def _num(x: float | None, digits: int = 1) -> str:
    return "NE" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _ci(est: float, lo: float, hi: float, digits: int = 1, scale: float = 1.0) -> str:
    def s(v: float) -> str:
        return _num(v * scale if v is not None and not math.isnan(v) else float("nan"), digits)
    return f"{s(est)} ({s(lo)}–{s(hi)})"


def _p(p: float) -> str:
    if math.isnan(p):
        return "NE"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def render_efficacy(summary: Any, title: str | None = None) -> None:
    """Print an efficacy summary as a report table (Rich): reference arm first.

    A median that is not reached prints as NR; a confidence limit that cannot be
    estimated prints as NE (SAS's wording).
    """
    pct = int(round(summary.conf_level * 100))
    table = Table(title=title or summary.endpoint, title_justify="left", box=box.SIMPLE_HEAD,
                  caption=f"Medians and rates with {pct}% CI; rates in % at the times shown.",
                  caption_justify="left")
    for name in ("Arm", "N", "Events", "Median"):
        table.add_column(name, justify="left" if name == "Arm" else "right", no_wrap=name == "Arm")
    times = list(dict.fromkeys(summary.rates["time"])) if len(summary.rates) else []
    for t in times:
        table.add_column(f"Rate at {t:g}", justify="right")
    for arm in summary.arms.itertuples(index=False):
        median = _ci(arm.median, arm.median_lower, arm.median_upper)
        if math.isnan(arm.median):
            median = "NR" + median[2:]
        cells = [str(arm.arm), str(arm.n), str(arm.events), median]
        for t in times:
            r = summary.rates[(summary.rates["arm"] == arm.arm) & (summary.rates["time"] == t)].iloc[0]
            cells.append(_ci(r.rate, r.lower, r.upper, scale=100.0))
        table.add_row(*cells)
    console.print(table)
    for hr in summary.hazard_ratios.itertuples(index=False):
        console.print(f"  Hazard ratio {hr.arm} vs {hr.reference}: {_num(hr.hr, 2)} "
                      f"({pct}% CI {_num(hr.lower, 2)}–{_num(hr.upper, 2)}), Wald p {_p(hr.p)}",
                      highlight=False, soft_wrap=True)
    console.print(f"    {summary.model}", highlight=False, soft_wrap=True)
    strat = "Stratified log-rank" if "stratified" in summary.model else "Log-rank"
    console.print(f"  {strat} test: chi-square {summary.logrank_chisq:.2f} on {summary.logrank_df} df, "
                  f"p {_p(summary.logrank_p)}", highlight=False, soft_wrap=True)
    console.print(f"  Median follow-up (reversed Kaplan–Meier): {_num(summary.followup_median)} "
                  f"(IQR {_num(summary.followup_q1)}–{_num(summary.followup_q3)})",
                  highlight=False, soft_wrap=True)
    console.print(f"  Convention: {summary.convention}", highlight=False, soft_wrap=True)


@reports_errors(fields={"times": "landmark", "landmarks": "landmark"})
def survival(
    data: Annotated[Path, typer.Argument(help="CSV, Parquet, SAS .xpt or .sas7bdat file.")],
    time: Annotated[str, typer.Option("--time", help="Column with the follow-up time.")],
    event: Annotated[str, typer.Option("--event", help="Column with the event indicator (1 = event, 0 = censored).")],
    group: Annotated[str, typer.Option("--group", help="Column with the randomised arm.")],
    strata: Annotated[list[str], typer.Option(
        "--strata", help="Stratification column (repeatable): stratified Cox and log-rank.")] = [],  # noqa: B006
    adjust: Annotated[list[str], typer.Option(
        "--adjust", help="Covariate of the Cox model (repeatable).")] = [],  # noqa: B006
    landmark: Annotated[list[float], typer.Option(
        "--landmark", help="Time at which to report the survival rate (repeatable).")] = [],  # noqa: B006
    reference: Annotated[str | None, typer.Option("--reference", help="Reference arm of the hazard ratio.")] = None,
    convention: Annotated[str, typer.Option(
        "--convention", help="r (R survival defaults) or sas (SAS 9.4 defaults).")] = "r",
    conf_level: Annotated[float, typer.Option("--conf-level", help="Confidence level.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
) -> None:
    """Kaplan–Meier, Cox and log-rank analysis of a time-to-event end point by arm."""
    from oncotrial.io import read_table, require_columns
    from oncotrial.report.efficacy import efficacy_summary

    frame = read_table(data)
    require_columns(frame, [time, event, group, *strata, *adjust], source=str(data))
    levels = frame[group].astype(str)
    if reference is not None and not levels.eq(reference).any():
        raise InputError(f"--reference: level {reference!r} not found in column {group!r}; "
                         f"levels are {sorted(levels.unique())}")
    ref = None if reference is None else frame[group][levels == reference].iloc[0]
    summary = efficacy_summary(frame, time=time, event=event, group=group, strata=strata,
                               adjust=adjust, landmarks=landmark, reference=ref,
                               conf_level=conf_level, convention=convention, endpoint=event)
    if as_json:
        print_json(summary.to_dict())
    else:
        render_efficacy(summary, title=f"{data.name}: {event} by {group}")


@datasets_app.command("list")
@reports_errors
def datasets_list() -> None:
    """List the bundled data sets."""
    from oncotrial.datasets import DATASETS

    for name, text in DATASETS.items():
        console.print(f"[bold]{name}[/]: {text}", highlight=False)


@datasets_app.command("export")
@reports_errors
def datasets_export(
    name: Annotated[str, typer.Argument(help="Data set name (see `oncotrial datasets list`).")],
    out: Annotated[Path, typer.Argument(help="Output file: .csv or .parquet.")],
) -> None:
    """Write a bundled data set to a CSV or Parquet file."""
    from oncotrial.datasets import load

    check_output_file(out, "OUT", EXPORT_SUFFIXES)
    frame = load(name)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    console.print(f"wrote {len(frame)} rows to {out}")
