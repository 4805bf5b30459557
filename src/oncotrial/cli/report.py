"""``oncotrial analyze`` and ``oncotrial demo``: the trial report from ADaM data, and a
bundled trial's replica from simulation to report.

Both commands write the outputs of :func:`oncotrial.report.writer.build_report` (HTML and
Word reports, lay summary, ARD, figures as PNG, and SVG or PDF with ``--formats``) and
show a Rich progress display on stderr, so that stdout keeps only the results. ``analyze``
uses the protocol given, else the one recorded with the data
(:func:`oncotrial.report.protocol_file.recorded_protocol`): no trial is assumed. ``demo``
first simulates a replica of a bundled scenario and derives its ADaM data (written under
``out/adam/`` with its ``protocol.yaml``), then prints each headline number of the replica
beside the published one.

The report, simulation and clinical packages are imported inside the commands: they are
the heaviest part of oncotrial and no other command needs them.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from oncotrial.cli._output import check_output_dir, console, err_console, reports_errors
from oncotrial.core.carried_warnings import raise_again, recorded

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    import pandas as pd
    from rich.progress import Progress

    from oncotrial.clinical.derive import DerivedData
    from oncotrial.protocol import Protocol
    from oncotrial.simulate.published import PublishedResults, ReplicaSpread
    from oncotrial.simulate.scenario import Scenario

__all__ = ["analyze", "demo"]

#: printed names of the estimates of :func:`oncotrial.simulate.estimates.trial_estimates`
#: ("<end point>.<statistic>"); a time-to-event end point's are built from its name
_LABELS = {"followup.median": "Median follow-up, months", "response.orr": "Objective response",
           "safety.grade34": "Grade 3–4 adverse event", "safety.cytolysis34": "Grade 3–4 cytolysis",
           "safety.serious": "Patients with a serious adverse event", "surgery.fraction": "Surgery after induction",
           "dose_reduction.induction": "Dose reduction in induction",
           "maintenance.cycles_median": "Maintenance cycles, median"}
_STATISTICS = {"median": "median, months", "hazard_ratio": "hazard ratio", "events": "events"}
#: estimates that are proportions, printed as percentages
_PROPORTIONS = ("rate_", "orr", "grade34", "cytolysis34", "fraction", "induction")


class _ProgressDisplay:
    """Rich progress on stderr: :meth:`step` for the steps before the report (the demo's
    simulation and derivation), then the object itself as the ``progress`` callback of
    :func:`~oncotrial.report.writer.build_report`, counted after those steps."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task = bar.add_task("Starting", total=None)
        self.before = 0

    def step(self, description: str) -> None:
        self.bar.update(self.task, description=description, completed=self.before)
        self.before += 1

    def __call__(self, step: str, done: int, total: int) -> None:
        self.bar.update(self.task, description=step, completed=self.before + done, total=self.before + total)


@contextlib.contextmanager
def _progress(stream: Console) -> Iterator[_ProgressDisplay]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=stream, transient=True) as bar:
        yield _ProgressDisplay(bar)


def _estimate_label(name: str) -> str:
    """``"pfs.rate_24m.control"`` → ``"PFS 24-month rate, control"``."""
    endpoint, statistic, *role = name.split(".")
    if f"{endpoint}.{statistic}" in _LABELS:
        text = _LABELS[f"{endpoint}.{statistic}"]
    elif statistic.startswith("rate_"):
        text = f"{endpoint.upper()} {statistic.removeprefix('rate_').removesuffix('m')}-month rate"
    else:
        text = f"{endpoint.upper()} {_STATISTICS.get(statistic, statistic.replace('_', ' '))}"
    return text + (f", {role[0]}" if role else "")


def _estimate_value(name: str, value: float) -> str:
    """Percentages for proportions, two decimals for hazard ratios, integers for counts, one
    decimal for times; a published whole number stays whole (24, not 24.0). Through the one
    formatter of every output (:mod:`oncotrial.report.format`)."""
    from oncotrial.report.format import format_number

    if value is None or not math.isfinite(value):
        return "NE"
    statistic = name.split(".")[1]
    if statistic.startswith(_PROPORTIONS):
        return f"{format_number(100 * value, 1)}%"
    if statistic == "hazard_ratio":
        return format_number(value, 2)
    if statistic in ("events", "serious"):
        return format_number(value, 0)
    return format_number(value, 1)


def _published_value(name: str, value: float) -> str:
    """A published number as printed: no false decimals (a published 24 months is not 24.0)."""
    statistic = name.split(".")[1]
    if float(value).is_integer() and not statistic.startswith(_PROPORTIONS) and statistic != "hazard_ratio":
        return f"{int(value)}"
    return _estimate_value(name, value)


def _side_by_side(replica: Mapping[str, float], published: PublishedResults, spread: ReplicaSpread | None,
                  trial: str, seed: int) -> Table:
    """Each published number with its source and CI beside the replica's value, whether the
    replica lies in the published CI, and the central 95% over the bundled replicas."""
    spread_text = ("" if spread is None else
                   f" Replicas: the central 95% of {spread.trials} replicas (oncotrial simulate calibrate "
                   f"--scenario {spread.scenario} --trials {spread.trials} --seed {spread.seed}).")
    sources = "; ".join(f"[{i}] {text}" for i, text in enumerate(published.sources.values(), start=1))
    table = Table(title=f"Headline numbers: {trial} replica (seed {seed}) vs published", title_justify="left",
                  box=box.SIMPLE_HEAD,
                  caption="Replica: the calibration's estimators (oncotrial.simulate.estimates, the protocol's "
                          "conventions) on the derived ADaM data; simulated data, one plausible trial. "
                          f"Sources: {sources}. * derived from published counts, not printed.{spread_text}",
                  caption_justify="left")
    for column, justify in (("Estimate", "left"), ("Published", "right"), ("Published 95% CI", "right"),
                            ("Source", "right"), ("Replica", "right"), ("In CI", "center"),
                            ("Replicas, 95%", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    number = {text: str(i) for i, text in enumerate(published.sources.values(), start=1)}
    for name, entry in published.numbers.items():
        value = replica.get(name, math.nan)
        ci = "" if math.isnan(entry.lower) else (f"{_published_value(name, entry.lower)} to "
                                                  f"{_published_value(name, entry.upper)}")
        inside = entry.contains(value)
        limits = None if spread is None else spread.limits.get(name)
        table.add_row(_estimate_label(name), _published_value(name, entry.value) + ("*" if entry.derived else ""),
                      ci, f"[{number[entry.source]}]", _estimate_value(name, value),
                      "" if inside is None else ("yes" if inside else "no"),
                      "" if limits is None else f"{_estimate_value(name, limits[0])} to "
                                                f"{_estimate_value(name, limits[1])}")
    return table


#: the ``--formats`` option of both commands
FormatsOption = Annotated[str, typer.Option(
    "--formats", help="Figure formats, comma-separated: png, svg, pdf (default png; PNG is always written, "
                      "the HTML and Word reports embed it).")]


def _figure_formats(formats: str) -> tuple[str, ...]:
    """``--formats`` checked before anything is written (an unknown format is an error
    naming the option and the formats accepted)."""
    from oncotrial.report.writer import figure_formats

    return figure_formats(formats)


def _print_outputs(out: Path, paths: Mapping[str, Path], elapsed: float) -> None:
    """The main files, the figure count and the notes of skipped outputs."""
    main = [key for key in paths if not key.startswith("figures/")]
    figures = len(paths) - len(main)
    console.print(f"Wrote to {out}: {', '.join(main)}; figures/ ({figures} files)", highlight=False,
                  soft_wrap=True)
    notes = [line for line in paths["messages.txt"].read_text(encoding="utf-8").splitlines() if line]
    for note in notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)
    console.print(f"Open {paths['report.html']} in a browser. Done in {elapsed:.1f} s.", highlight=False,
                  soft_wrap=True)


@reports_errors
def analyze(
    adam: Annotated[Path, typer.Option("--adam", help="Directory with adsl and adtte, optionally adrs and adae "
                                                       "(.parquet, .xpt, .sas7bdat or .csv).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    protocol: Annotated[str | None, typer.Option(
        "--protocol", help="Protocol name or YAML file (default: the protocol.yaml saved with the data, else the "
                           "bundled protocol whose id is the ADSL STUDYID).")] = None,
    look: Annotated[int | None, typer.Option(
        "--look", help="Which analysis of a group-sequential design the data are, 1 to the protocol's looks "
                       "(default: the last, the final analysis): the report states it with the look's nominal "
                       "significance level and whether the efficacy boundary was crossed.")] = None,
    formats: FormatsOption = "png",
) -> None:
    """Analyse ADaM data and write the trial report: report.html, report.docx, lay summary,
    ARD (JSON, CSV) and figures (PNG; SVG, PDF with --formats)."""
    start = time.perf_counter()
    check_output_dir(out, "--out")
    chosen = _figure_formats(formats)
    from oncotrial.protocol import Protocol
    from oncotrial.report.adam import read_adam
    from oncotrial.report.protocol_file import recorded_protocol
    from oncotrial.report.writer import build_report

    data = read_adam(adam)
    proto = Protocol.load(protocol) if protocol is not None else recorded_protocol(adam, data.adsl)
    with _progress(err_console) as progress:
        paths = build_report(data, proto, out, formats=chosen, progress=progress, look=look)
    _print_outputs(out, paths, time.perf_counter() - start)


#: the demo's default replica: among seeds 1-40, the one whose PFS, OS, PFS2 and response
#: estimates lie closest to the published ones of the bundled scenario (mean relative
#: distance 6%); the spread over replicas is what `oncotrial simulate calibrate` shows
DEMO_SEED = 4


def _make_replica(parent: Connection, scenario: str | Path, seed: int, folder: Path) -> None:
    """In the replica's process: load ``scenario``, simulate the trial, derive its ADaM data and send them
    (``("data", (cut-off, derived data))``), then, once the parent has received them (so
    that a bad option it finds meanwhile leaves nothing written), write them into
    ``folder`` and send the replica's estimates (``("written", estimates)``); an error is
    sent in place of either (``("error", exception)``). Each message carries the warnings
    raised meanwhile, sent rather than shown: the parent's progress display holds the
    terminal."""
    with warnings.catch_warnings(record=True) as caught:
        def sent(kind: str, value: Any) -> None:
            parent.send((kind, value, recorded(caught)))
            caught.clear()

        try:
            from oncotrial.simulate.scenario import Scenario

            model = Scenario.load(scenario)
            protocol = model.protocol_model()
            cutoff, derived = _derive_replica(model, seed)
            sent("data", (cutoff, derived))
            parent.recv()
            derived.write(folder)
            sent("written", _estimates(derived, protocol))
        except Exception as exc:  # any error: the parent reports it as if it were its own
            sent("error", exc)
    parent.close()


def _derive_replica(model: Scenario, seed: int) -> tuple[pd.Timestamp, DerivedData]:
    """The replica of ``model`` for ``seed``: its data cut-off and its derived ADaM data."""
    from oncotrial.clinical import derive_all
    from oncotrial.simulate.trial import simulate_trial

    trial = simulate_trial(model, seed=seed)
    return trial.cutoff, derive_all(trial.domains, model.protocol_model(), cutoff=trial.cutoff)


def _estimates(derived: DerivedData, protocol: Protocol) -> dict[str, float]:
    """The replica's estimates of the published numbers
    (:func:`oncotrial.simulate.estimates.trial_estimates`)."""
    from oncotrial.simulate.estimates import trial_estimates

    return trial_estimates(derived.adsl, derived.adtte, derived.adrs, derived.adae, protocol)


class _Replica:
    """The demo's replica loaded, simulated and derived in a process forked from this one,
    while this one loads the same scenario and imports the report code (the two take about
    as long, on separate CPUs); the same process then writes the ADaM files and computes the
    replica's estimates while this one makes the report. Where the platform cannot fork, all
    happens here, when asked for, from this process's scenario.

    The fork comes first, before either process imports the simulation code: importing it
    (pandas, SciPy) took as long as simulating the replica, and it is needed in both.
    Fork before the progress display starts, too: a process forked while another thread
    runs may inherit a lock that thread holds."""

    def __init__(self, scenario: str | Path, seed: int, folder: Path) -> None:
        self.seed, self.folder = seed, folder
        self._process: BaseProcess | None = None
        self._derived: DerivedData | None = None
        self._model: Scenario | None = None
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._child, theirs = context.Pipe()
            self._process = context.Process(target=_make_replica, args=(theirs, scenario, seed, folder),
                                            daemon=True)
            self._process.start()
            theirs.close()

    def _next(self, expected: str) -> Any:
        try:
            kind, value, caught = self._child.recv()
        except EOFError:
            raise RuntimeError("the process simulating the replica ended without its result") from None
        raise_again(caught)
        if kind == "error":
            raise value
        assert kind == expected, f"expected {expected!r} from the replica's process, got {kind!r}"
        return value

    def data(self, model: Scenario) -> tuple[pd.Timestamp, DerivedData]:
        """The data cut-off and the derived ADaM data; ``model`` is this process's copy of
        the scenario, simulated here where there is no replica process."""
        if self._process is not None:
            cutoff, self._derived = self._next("data")
            self._child.send(True)  # the files may be written
            return cutoff, self._derived
        self._model = model
        cutoff, self._derived = _derive_replica(model, self.seed)
        return cutoff, self._derived

    def written(self) -> dict[str, float]:
        """Wait until the ADaM files are in the folder, and return the replica's estimates
        (:func:`_estimates`)."""
        if self._process is not None:
            estimates: dict[str, float] = self._next("written")
            return estimates
        assert self._derived is not None and self._model is not None, "data() first"
        self._derived.write(self.folder)
        return _estimates(self._derived, self._model.protocol_model())

    def close(self) -> None:
        """End the process if it is still at work (an error elsewhere stopped the demo)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._child.close()


def _default_scenario() -> str:
    """The bundled scenario of a published trial (the one shipped with published targets to
    compare the replica with), when oncotrial ships exactly one."""
    from oncotrial.simulate.calibrate import bundled_targets

    names = bundled_targets()
    if len(names) != 1:
        raise typer.BadParameter(f"choose a bundled scenario or a YAML file (published: {', '.join(names)})",
                                 param_hint="--scenario")
    return names[0]


@reports_errors
def demo(
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the replica: same seed, same trial (default 4: a replica close to the "
                       "published results; every seed is an equally plausible trial).")] = DEMO_SEED,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("oncotrial-demo"),
    scenario: Annotated[str | None, typer.Option(
        "--scenario", help="Bundled scenario name or YAML file (default: the bundled scenario of a published "
                           "trial).")] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="Enter the replica through the randomisation and data-capture service (a "
                       "temporary SQLite database), lock, export, derive and analyse it, and show "
                       "that the result equals the one made directly from the same records.")] = False,
    keep: Annotated[bool, typer.Option(
        "--keep", help="With --live: leave the service serving after the comparison (Ctrl-C "
                       "stops it).")] = False,
    subjects: Annotated[int | None, typer.Option(
        "--subjects", min=1, help="With --live: enter only the first N randomised subjects "
                                  "(default all).")] = None,
    formats: FormatsOption = "png",
) -> None:
    """Simulate a trial replica, derive its ADaM data, analyse it and write the full report;
    print each headline number of the replica beside the published one. With --live the
    replica goes through the web service as the sites would enter it."""
    start = time.perf_counter()
    check_output_dir(out, "--out")
    if (keep or subjects is not None) and not live:
        raise typer.BadParameter("needs --live", param_hint="--keep/--subjects")
    if live and _figure_formats(formats) != ("png",):
        raise typer.BadParameter("not with --live (its report has PNG figures only)", param_hint="--formats")
    if live:
        from oncotrial.cli.live_demo import run_live_demo

        result = run_live_demo(scenario=scenario if scenario is not None else _default_scenario(),
                               seed=seed, out=out, keep=keep, subjects=subjects)
        if not result.identical:
            raise typer.Exit(1)
        return
    name = scenario if scenario is not None else _default_scenario()
    replica = _Replica(name, seed, out / "adam")
    try:
        from oncotrial.simulate.scenario import Scenario

        model = Scenario.load(name)
        proto = model.protocol_model()
        from oncotrial.report.adam import AdamData
        from oncotrial.report.protocol_file import write_protocol
        from oncotrial.report.writer import build_report

        chosen = _figure_formats(formats)
        with _progress(err_console) as progress:
            progress.step(f"Simulating the {proto.id} replica, deriving ADSL, ADTTE, ADRS, ADAE")
            cutoff, derived = replica.data(model)
            write_protocol(proto, out / "adam")
            adam = AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)
            paths = build_report(adam, proto, out, formats=chosen, progress=progress)
            progress.step("Writing the ADaM data")
            estimates = replica.written()
    finally:
        replica.close()
    from oncotrial.simulate.published import load_published, load_spread

    randomised = int((derived.adsl["ITTFL"] == "Y").sum())
    console.print(f"{proto.id} replica, seed {seed}, data cut-off {cutoff.date()}: {randomised} patients "
                  f"randomised; ADaM data in {out / 'adam'}", highlight=False, soft_wrap=True)
    published = load_published(name) if isinstance(name, str) else None
    if published is None:
        console.print(f"No published results bundled for scenario {name}: headline numbers not compared.",
                      highlight=False)
    else:
        console.print(_side_by_side(estimates, published, load_spread(name), proto.id, seed))
    _print_outputs(out, paths, time.perf_counter() - start)
