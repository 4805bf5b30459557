"""The ``oncotrial`` command line.

Thin by design: it reads files, calls the library and renders the result; every number
comes from :mod:`oncotrial.stats` through :mod:`oncotrial.report`. Input errors print
one line naming the column/row and exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oncotrial import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Design, randomise, run and analyse randomised oncology trials.")
datasets_app = typer.Typer(no_args_is_help=True, help="Real trial data sets bundled with oncotrial.")
app.add_typer(datasets_app, name="datasets")
design_app = typer.Typer(no_args_is_help=True, help="Sample size, power and group-sequential designs.")
app.add_typer(design_app, name="design")

# A report printed to a file or a pipe keeps its table rows on one line; a narrow
# terminal wraps cells at spaces instead of truncating numbers.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def _version(value: bool) -> None:
    if value:
        console.print(f"oncotrial {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """oncotrial: design, randomise, run and analyse randomised oncology trials."""


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON; they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _num(x: float, digits: int = 1) -> str:
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


@app.command()
def survival(
    data: Annotated[Path, typer.Argument(help="CSV, Parquet, SAS .xpt or .sas7bdat file.")],
    time: Annotated[str, typer.Option("--time", help="Column with the follow-up time.")],
    event: Annotated[str, typer.Option("--event", help="Column with the event indicator (1 = event, 0 = censored).")],
    group: Annotated[str, typer.Option("--group", help="Column with the randomised arm.")],
    strata: Annotated[list[str], typer.Option("--strata", help="Stratification column (repeatable): stratified Cox and log-rank.")] = [],  # noqa: B006
    adjust: Annotated[list[str], typer.Option("--adjust", help="Covariate of the Cox model (repeatable).")] = [],  # noqa: B006
    landmark: Annotated[list[float], typer.Option("--landmark", help="Time at which to report the survival rate (repeatable).")] = [],  # noqa: B006
    reference: Annotated[Optional[str], typer.Option("--reference", help="Reference arm of the hazard ratio.")] = None,
    convention: Annotated[str, typer.Option("--convention", help="r (R survival defaults) or sas (SAS 9.4 defaults).")] = "r",
    conf_level: Annotated[float, typer.Option("--conf-level", help="Confidence level.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
) -> None:
    """Kaplan–Meier, Cox and log-rank analysis of a time-to-event end point by arm."""
    from oncotrial.io import read_table, require_columns
    from oncotrial.report.efficacy import efficacy_summary

    try:
        frame = read_table(data)
        require_columns(frame, [time, event, group, *strata, *adjust], source=str(data))
        if reference is not None and not frame[group].astype(str).eq(reference).any():
            raise ValueError(f"--reference: level {reference!r} not found in column {group!r}; "
                             f"levels are {sorted(frame[group].astype(str).unique())}")
        ref = None if reference is None else frame[group][frame[group].astype(str) == reference].iloc[0]
        summary = efficacy_summary(frame, time=time, event=event, group=group, strata=strata,
                                   adjust=adjust, landmarks=landmark, reference=ref,
                                   conf_level=conf_level, convention=convention, endpoint=event)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(_json_safe(summary.to_dict())))
    else:
        render_efficacy(summary, title=f"{data.name}: {event} by {group}")


@app.command()
def demo(
    convention: Annotated[str, typer.Option("--convention", help="r or sas.")] = "r",
) -> None:
    """Efficacy analysis of a real trial: colon adjuvant chemotherapy (Moertel et al.).

    The R ``survival`` colon data: observation vs levamisole + fluorouracil after resection
    of stage C colon cancer; end points time to recurrence and overall survival, in months;
    Cox model adjusted for more than 4 positive lymph nodes.
    """
    from oncotrial.datasets import load
    from oncotrial.report.efficacy import efficacy_summary

    colon = load("colon")
    arms = ["Obs", "Lev+5FU"]
    excluded = colon.loc[~colon["rx"].isin(arms), "id"].nunique()
    colon = colon[colon["rx"].isin(arms)].assign(months=lambda d: d["time"] / 30.4375)
    console.print("[bold]Colon adjuvant chemotherapy trial[/] (Moertel et al., NEJM 1990; "
                  "Ann Intern Med 1995) — data from R survival")
    console.print(f"Obs vs Lev+5FU; {excluded} patients of the levamisole-alone arm are not part "
                  "of this comparison. Times in months.\n", highlight=False)
    for etype, name in [(1, "Time to recurrence"), (2, "Overall survival")]:
        d = colon[colon["etype"] == etype]
        summary = efficacy_summary(d, time="months", event="status", group="rx", adjust=["node4"],
                                   landmarks=[36, 60], reference="Obs", convention=convention,
                                   endpoint=name)
        render_efficacy(summary)
        console.print()


@datasets_app.command("list")
def datasets_list() -> None:
    """List the bundled data sets."""
    from oncotrial.datasets import DATASETS

    for name, text in DATASETS.items():
        console.print(f"[bold]{name}[/]: {text}", highlight=False)


@datasets_app.command("export")
def datasets_export(
    name: Annotated[str, typer.Argument(help="Data set name (see `oncotrial datasets list`).")],
    out: Annotated[Path, typer.Argument(help="Output file: .csv or .parquet.")],
) -> None:
    """Write a bundled data set to a CSV or Parquet file."""
    from oncotrial.datasets import load

    try:
        frame = load(name)
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        elif out.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(out, index=False)
        else:
            raise ValueError(f"out: unsupported file type {out.suffix!r}; expected .csv or .parquet")
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"wrote {len(frame)} rows to {out}")


def _power_grid(hazard_ratio: float) -> Any:
    """Hazard ratios from a clearly larger effect than designed up to no effect."""
    import numpy as np

    if hazard_ratio < 1:
        return np.linspace(max(0.05, hazard_ratio * 0.6), 1.0, 81)
    return np.linspace(1.0, hazard_ratio * 1.4, 81)


@design_app.command("survival")
def design_survival(
    median_control: Annotated[float, typer.Option("--median-control", help="Median survival in the control arm.")],
    accrual: Annotated[float, typer.Option("--accrual", help="Accrual duration (uniform accrual).")],
    follow_up: Annotated[float, typer.Option("--follow-up", help="Minimum follow-up after the last patient.")],
    median_experimental: Annotated[Optional[float], typer.Option("--median-experimental", help="Median survival in the experimental arm.")] = None,
    hazard_ratio: Annotated[Optional[float], typer.Option("--hazard-ratio", help="Hazard ratio experimental:control (instead of --median-experimental).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (total, two-sided when --sided 2).")] = 0.05,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 2,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    allocation: Annotated[float, typer.Option("--allocation", help="Allocation ratio experimental:control.")] = 1.0,
    not_randomised: Annotated[float, typer.Option("--not-randomised", help="Fraction of enrolled patients not randomised.")] = 0.0,
    dropout: Annotated[float, typer.Option("--dropout", help="Fraction lost to follow-up by --dropout-time (exponential).")] = 0.0,
    dropout_time: Annotated[float, typer.Option("--dropout-time", help="Time at which --dropout applies.")] = 12.0,
    method: Annotated[str, typer.Option("--method", help="schoenfeld, freedman or hsieh-freedman.")] = "schoenfeld",
    rounding: Annotated[str, typer.Option("--rounding", help="Integer events: nearest or up.")] = "nearest",
    looks: Annotated[int, typer.Option("--looks", help="Number of analyses (1 = fixed design).")] = 1,
    spending: Annotated[str, typer.Option("--spending", help="Boundary type: asOF, asP, asHSD, OF or P.")] = "asOF",
    gamma: Annotated[Optional[float], typer.Option("--gamma", help="Gamma of the Hwang-Shih-DeCani spending function.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the design as JSON.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write power against hazard ratio to this PNG/SVG/PDF file.")] = None,
) -> None:
    """Events and patients for a two-arm time-to-event trial (log-rank test)."""
    from oncotrial.design import group_sequential, survival_power, survival_sample_size
    from oncotrial.report.figures import power_curve_figure

    try:
        common = dict(median_control=median_control, median_experimental=median_experimental,
                      hazard_ratio=hazard_ratio, allocation_ratio=allocation, accrual_time=accrual,
                      follow_up=follow_up, dropout_rate=dropout, dropout_time=dropout_time,
                      not_randomised=not_randomised, method=method, rounding=rounding)
        if looks > 1:
            gsd = group_sequential(looks, alpha=alpha, sided=sided, beta=1 - power, type=spending, gamma=gamma)
            result = survival_sample_size(**common, design=gsd)
        else:
            result = survival_sample_size(**common, alpha=alpha, sided=sided, power=power)
        if plot is not None:
            grid = _power_grid(result.hazard_ratio)
            curve = survival_power(events=result.events, median_control=median_control, hazard_ratio=grid,
                                   alpha=alpha, sided=sided, allocation_ratio=allocation, method=method)
            power_curve_figure(grid, curve.power, plot, design_hazard_ratio=result.hazard_ratio,
                               target_power=power,
                               subtitle=f"{result.events} events, {method.capitalize()}, "
                                        f"{'two' if sided == 2 else 'one'}-sided alpha {alpha:g}")
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(_json_safe(result.to_dict())))
    else:
        console.print(str(result), markup=False, highlight=False, soft_wrap=True)
    if plot is not None and not as_json:
        console.print(f"power curve written to {plot}", highlight=False)
