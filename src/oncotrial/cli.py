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
from oncotrial.cli_report import analyze, demo
from oncotrial.cli_simulate import simulate_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Design, randomise, run and analyse randomised oncology trials.")
datasets_app = typer.Typer(no_args_is_help=True, help="Real trial data sets bundled with oncotrial.")
app.add_typer(datasets_app, name="datasets")
design_app = typer.Typer(no_args_is_help=True, help="Sample size, power and group-sequential designs.")
app.add_typer(design_app, name="design")
protocol_app = typer.Typer(no_args_is_help=True, help="Protocol files: show and check.")
app.add_typer(protocol_app, name="protocol")
randomise_app = typer.Typer(no_args_is_help=True, help="Randomisation lists and their assessment.")
app.add_typer(randomise_app, name="randomise")
app.add_typer(simulate_app, name="simulate")
app.command()(analyze)
app.command()(demo)

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


def _load_protocol(name_or_path: str) -> Any:
    from oncotrial.protocol import Protocol

    return Protocol.load(name_or_path)


@protocol_app.command("show")
def protocol_show(
    protocol: Annotated[str, typer.Argument(help="Bundled protocol name (e.g. lms04) or a YAML file.")],
) -> None:
    """Summarise a protocol: arms, strata, randomisation, eligibility, regimens, schedule, design."""
    try:
        proto = _load_protocol(protocol)
    except ValueError as exc:
        _fail(str(exc))
    d = proto.to_dict()
    console.print(f"[bold]{d['id']}[/] ({d.get('registry') or 'no registry id'}): {d['title']}", highlight=False)
    arms = Table(title="Arms", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("code", "label", "ratio"):
        arms.add_column(col)
    for arm in proto.arms:
        arms.add_row(arm.code, arm.label, str(arm.ratio))
    console.print(arms)
    console.print("Stratification: " + "; ".join(f"{f.name} ({', '.join(f.levels)})" for f in proto.stratification),
                  highlight=False, soft_wrap=True)
    r = d["randomisation"]
    console.print(f"Randomisation: {r['method']}"
                  + (f", block sizes {r['block_sizes']}" if r.get("block_sizes") else ""), highlight=False)
    elig = Table(title="Eligibility", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("id", "kind", "criterion"):
        elig.add_column(col)
    for rule in d["eligibility"]:
        elig.add_row(str(rule["id"]), str(rule.get("kind", "")), str(rule["text"]))
    console.print(elig)
    reg = Table(title="Regimens (per cycle)", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("arm", "phase", "drug", "dose", "route", "days", "cycle", "max cycles"):
        reg.add_column(col)
    for arm_code, phases in d["regimens"].items():
        for phase in ("induction", "maintenance"):
            spec = phases.get(phase)
            if not spec:
                continue
            for drug in [*spec["drugs"], *spec.get("supportive_care", [])]:
                reg.add_row(arm_code, phase, drug["drug"], f"{drug['dose']:g} {drug['unit']}", drug["route"],
                            ",".join(str(x) for x in drug["days"]), f"{spec['cycle_length_days']} d",
                            str(spec["max_cycles"]))
    console.print(reg)
    console.print("Design: " + ", ".join(f"{k}={v}" for k, v in proto.design_inputs().items()),
                  highlight=False, soft_wrap=True)
    console.print(f"Analysis convention: {d['analysis'].get('convention')}", highlight=False)


@protocol_app.command("check")
def protocol_check(
    path: Annotated[Path, typer.Argument(help="Protocol YAML file.")],
) -> None:
    """Validate a protocol file; list every error with its field path (exit code 1 on errors)."""
    from oncotrial.protocol import protocol_errors

    errors = protocol_errors(path)
    if errors:
        for line in errors:
            err_console.print(f"[red]✗[/] {escape(line)}", highlight=False, soft_wrap=True)
        err_console.print(f"{len(errors)} error(s) in {path}", highlight=False)
        raise typer.Exit(code=1)
    console.print(f"{path}: valid", highlight=False)


@randomise_app.command("list")
def randomise_list(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the list (keep it sealed).")],
    per_stratum: Annotated[int, typer.Option("--per-stratum", help="Allocations per stratum.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Generate the stratified permuted-block list and print its SHA-256."""
    from oncotrial.randomise import generate_list

    try:
        lst = generate_list(_load_protocol(protocol), seed, per_stratum)
        lst.write_csv(out)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"wrote {len(lst.frame):,} allocations ({lst.algorithm_version}, seed {seed}) to {out}",
                  highlight=False)
    console.print(f"SHA-256 {lst.sha256}", highlight=False)


@randomise_app.command("assess")
def randomise_assess(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    n: Annotated[int, typer.Option("--n", help="Patients per simulated trial.")] = 150,
    sims: Annotated[int, typer.Option("--sims", help="Number of simulated trials.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulation.")] = 2017,
    method: Annotated[list[str], typer.Option("--method", help="Method spec (repeatable), e.g. blocks:2,4,6, minimisation:p=0.8, simple.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Monte-Carlo imbalance and predictability (convergence-strategy guessing) per method."""
    from rich.progress import Progress

    from oncotrial.randomise import COMPARISON, assess

    try:
        proto = _load_protocol(protocol)
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("simulating", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = assess(proto, tuple(method) or COMPARISON, n, sims, seed, progress=progress)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(_json_safe(result.to_dict())))
        return
    table = Table(title=f"{proto.id}: {sims:,} simulated trials of {n} patients (seed {seed})",
                  title_justify="left", box=box.SIMPLE_HEAD,
                  caption="Imbalance |n_A - n_B| (ratio-adjusted): mean / 95th percentile / max. "
                          "Predictability: share of allocations guessed right by a site that guesses "
                          "the arm with fewer patients so far in the stratum.", caption_justify="left")
    for col in ("method", "overall", "per stratum", "per factor level", "predictability", "excess over chance"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in result.table.itertuples(index=False):
        table.add_row(r.method, f"{r.overall_mean:.2f} / {r.overall_p95:g} / {r.overall_max:g}",
                      f"{r.stratum_mean:.2f} / {r.stratum_p95:g} / {r.stratum_max:g}",
                      f"{r.level_mean:.2f} / {r.level_p95:g} / {r.level_max:g}",
                      f"{r.predictability:.3f}", f"{r.excess:+.3f}")
    console.print(table)


@app.command()
def dose(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    arm: Annotated[str, typer.Option("--arm", help="Arm code, e.g. DOXTRAB.")],
    height_cm: Annotated[float, typer.Option("--height-cm", help="Height in cm.")],
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Weight in kg.")],
    phase: Annotated[Optional[str], typer.Option("--phase", help="induction or maintenance (default: every phase of the arm).")] = None,
    dose_level: Annotated[int, typer.Option("--dose-level", help="0 = full dose, -1, -2 = reduction levels.")] = 0,
    bsa_cap: Annotated[Optional[float], typer.Option("--bsa-cap", help="Cap on body-surface area (m2).")] = None,
    bsa_method: Annotated[str, typer.Option("--bsa-method", help="mosteller or dubois.")] = "mosteller",
) -> None:
    """Each drug's dose per cycle for a patient (body-surface area from height and weight)."""
    from oncotrial.protocol import body_surface_area

    try:
        proto = _load_protocol(protocol)
        phases = [phase] if phase else [p for p in ("induction", "maintenance")
                                        if proto.to_dict()["regimens"].get(arm, {}).get(p)]
        if not phases:
            raise ValueError(f"--arm: unknown arm {arm!r}; arms are {[a.code for a in proto.arms]}")
        bsa = body_surface_area(height_cm, weight_kg, method=bsa_method)
        rows = {p: proto.doses(arm, p, height_cm=height_cm, weight_kg=weight_kg, dose_level=dose_level,
                               bsa_cap=bsa_cap, bsa_method=bsa_method) for p in phases}
    except ValueError as exc:
        _fail(str(exc))
    capped = f", capped at {bsa_cap:g}" if bsa_cap is not None and bsa > bsa_cap else ""
    console.print(f"Body-surface area ({bsa_method}): {bsa:.2f} m2{capped}; dose level {dose_level}",
                  highlight=False)
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("phase", "drug", "dose", "prescribed", "route", "days", "infusion"):
        table.add_column(col)
    for p, items in rows.items():
        for r in items:
            infusion = "" if not r.infusion_minutes else "–".join(f"{m:g}" for m in r.infusion_minutes) + " min"
            table.add_row(p, r.drug + (" (support)" if r.supportive else ""), f"{r.dose:g} {r.unit}",
                          r.prescribed, r.route, ",".join(str(d) for d in r.days), infusion)
    console.print(table)


SDTM_DOMAINS = ("dm", "ex", "ae", "ds", "cm", "tu", "tr", "rs", "pr")


def read_sdtm_dir(directory: Path) -> dict[str, Any]:
    """One file per domain in ``directory`` (``dm.csv``, ``AE.xpt``, ``tr.parquet``, ...)."""
    from oncotrial.io import FORMATS, read_table

    if not directory.is_dir():
        raise ValueError(f"--sdtm: not a directory: {directory}")
    found: dict[str, Any] = {}
    for path in sorted(directory.iterdir()):
        name, suffix = path.stem.lower(), path.suffix.lower()
        if name in SDTM_DOMAINS and suffix in FORMATS:
            if name.upper() in found:
                raise ValueError(f"--sdtm: two files for domain {name.upper()} in {directory}")
            found[name.upper()] = read_table(path)
    if "DM" not in found:
        raise ValueError(f"--sdtm: no DM file (dm.csv, dm.parquet or dm.xpt) in {directory}")
    return found


@app.command()
def derive(
    sdtm: Annotated[Path, typer.Option("--sdtm", help="Directory with one file per SDTM domain (dm, ex, ae, ds, cm, tu, tr, rs).")],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    cutoff: Annotated[Optional[str], typer.Option("--cutoff", help="Data cut-off date (YYYY-MM-DD).")] = None,
) -> None:
    """Derive ADSL, ADTTE, ADRS and ADAE (.csv, .parquet, .xpt) and a data-quality report."""
    import pandas as pd

    from oncotrial.clinical import derive_all

    try:
        cut = None if cutoff is None else pd.Timestamp(cutoff)
        data = derive_all(read_sdtm_dir(sdtm), _load_protocol(protocol), cutoff=cut)
        data.write(out)
    except ValueError as exc:
        _fail(str(exc))
    summary = data.summary()
    console.print(f"Wrote adsl, adtte, adrs, adae (.csv, .parquet, .xpt) and data_quality.csv to {out}",
                  highlight=False)
    console.print(f"Subjects: {summary['subjects']} (ITT {summary['itt']}, safety {summary['safety']})",
                  highlight=False)
    for param, counts in summary["events"].items():
        console.print(f"  {param}: {counts['events']} events in {counts['subjects']} subjects", highlight=False)
    by_domain = ", ".join(f"{k} {v}" for k, v in summary["problems_by_domain"].items()) or "none"
    console.print(f"Data-quality problems: {summary['problems']} ({by_domain}); see data_quality.csv",
                  highlight=False)
