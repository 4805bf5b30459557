"""``oncotrial demo --live``: a simulated replica entered through the randomisation and
data-capture service, as the sites would, then locked, exported, derived and analysed.

The service runs on a temporary SQLite database (``uvicorn`` in a subprocess on a free
loopback port); the trial is set up from the scenario's protocol with one investigator per
site, goes live, and every subject is registered, randomised and has its forms entered
through the same HTTP endpoints a site uses (:mod:`oncotrial.server.replica`). The service's
own sealed list decides the arms, so the captured trial is not the simulated one: what is
shown is that its export, ADaM data and headline numbers equal those of the same records
exported directly (:func:`oncotrial.clinical.crf.records_to_sdtm`) with the service's
allocations.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import secrets
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.table import Table

from oncotrial.cli._output import check_output_dir, console, err_console

__all__ = ["Comparison", "LiveDemo", "compare_frames", "run_live_demo"]

#: the users the demo creates besides one investigator per site (``inv-<site>``)
ADMIN, STATISTICIAN = "admin", "stat"
#: days of margin of the checks' clock past the last date entered (a run over midnight)
_MARGIN_DAYS = 2


@dataclass(frozen=True)
class Comparison:
    """One dataset of the captured trial beside the same one made directly."""

    dataset: str
    rows: int
    direct_rows: int
    identical: bool
    #: what differs when not identical (the columns, or the column lists)
    difference: str = ""


@dataclass(frozen=True)
class LiveDemo:
    """What a run made: where, the comparisons and the seconds taken by each stage."""

    base_url: str
    out: Path
    subjects: int
    records: int
    cutoff: dt.date
    comparisons: tuple[Comparison, ...]
    timings: dict[str, float]
    #: whether the export downloaded has the SHA-256 recorded at the lock
    export_is_locked_data: bool = False

    @property
    def identical(self) -> bool:
        return self.export_is_locked_data and all(c.identical for c in self.comparisons)


def _csv_text(frame: pd.DataFrame) -> str:
    """A frame as comparable text: dates as ISO days, one CSV dialect, rows in order."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def compare_frames(name: str, captured: pd.DataFrame, direct: pd.DataFrame) -> Comparison:
    """Identical: same columns, same rows in the same order, same values as CSV text (the
    form in which an export is read back)."""
    if list(captured.columns) != list(direct.columns):
        return Comparison(name, len(captured), len(direct), False,
                          f"columns {list(captured.columns)} vs {list(direct.columns)}")
    if len(captured) != len(direct):
        return Comparison(name, len(captured), len(direct), False, "rows")
    if _csv_text(captured) == _csv_text(direct):
        return Comparison(name, len(captured), len(direct), True)
    columns = [c for c in captured.columns
               if _csv_text(captured[[c]]) != _csv_text(direct[[c]])]
    return Comparison(name, len(captured), len(direct), False, f"values of {', '.join(columns)}")


def _estimates_frame(estimates: Mapping[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"estimate": list(estimates), "value": [round(float(v), 10)
                                                                for v in estimates.values()]})


@contextlib.contextmanager
def _workspace(keep_db: Path | None) -> Iterator[Path]:
    if keep_db is not None:
        keep_db.mkdir(parents=True, exist_ok=True)
        yield keep_db
        return
    with tempfile.TemporaryDirectory(prefix="oncotrial-live-") as folder:
        yield Path(folder)


def run_live_demo(*, scenario: str, seed: int, out: Path, keep: bool = False,
                  subjects: int | None = None, workdir: Path | None = None) -> LiveDemo:
    """Run the live demo (see the module docstring); print the address at start and the
    comparison at the end. ``subjects``: enter only the first so many randomised (all by
    default); ``workdir``: where the database goes (default a temporary folder, removed
    after); ``keep``: serve until Ctrl-C after the comparison."""
    import httpx

    from oncotrial.clinical import crf
    from oncotrial.server import replica
    from oncotrial.server.replica_server import FAST_HASHING, create_trial, serve
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import simulate_trial

    check_output_dir(out, "--out")
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    model = Scenario.load(scenario)
    proto = model.protocol_model()
    trial = simulate_trial(model, seed=seed)
    records, infos = crf.sdtm_to_records(trial.domains, proto)
    lap("simulate")
    # the scenario's centres, numbered as the simulation numbers them (DM SITEID)
    sites: dict[str, str | None] = {f"{i:02d}": country for i, country
                                    in enumerate(model.sites.site_countries(), 1)}
    entering = len(infos) if subjects is None else min(subjects, len(infos))
    first = min(i.randomised_on for i in infos.values() if i.randomised_on is not None)
    today = dt.datetime.now(dt.UTC).date()
    entry_day = today + (trial.cutoff.date() - first) + dt.timedelta(days=_MARGIN_DAYS)
    password = "Demo-" + secrets.token_urlsafe(12)
    console.print(f"SIMULATED DATA: {proto.id} replica (scenario {scenario}, seed {seed}), "
                  f"{entering} of its {len(infos)} subjects to enter at {len(sites)} sites.",
                  highlight=False, soft_wrap=True)
    with _workspace(workdir) as folder:
        url = f"sqlite:///{folder / 'live-demo.db'}"
        code = create_trial(url, model.protocol, sites, admin=ADMIN, password=password)
        with serve(url, clock=entry_day, env=FAST_HASHING) as base:
            console.print(f"Service running at {base} (pages at {base}/, API at {base}/api, "
                          f"{base}/docs); database {folder / 'live-demo.db'}", highlight=False,
                          soft_wrap=True)
            console.print(f"Users: {ADMIN} (admin), {STATISTICIAN} (unblinded statistician), "
                          f"inv-<site> (investigators); password {password}. Demo only: "
                          "argon2 at its lowest cost (ONCOTRIAL_ARGON2_TIME_COST=1, "
                          "ONCOTRIAL_ARGON2_MEMORY_KIB=8, ONCOTRIAL_ARGON2_PARALLELISM=1); the "
                          f"checks' clock of this server is set to {entry_day} so that the "
                          "simulated follow-up can be entered; each subject's dates are moved so "
                          "that its history starts on the day the service randomised it.",
                          highlight=False, soft_wrap=True)
            with httpx.Client(base_url=base, timeout=60) as http:
                admin = replica.ServiceClient(http, ADMIN, password)
                investigators = {site: f"inv-{site}" for site in sites}
                for site, user in investigators.items():
                    admin.call("POST", "/api/users", body={"username": user, "password": password,
                                                           "role": "investigator", "site": site})
                admin.call("POST", "/api/users", body={"username": STATISTICIAN, "password": password,
                                                       "role": "unblinded_statistician"})
                admin.call("POST", "/api/go-live", body={})
                lap("set up")
                with _progress_bar() as tick:
                    loaded = replica.load_replica(http, proto, records, infos,
                                                  investigators=investigators,
                                                  statistician=STATISTICIAN, password=password,
                                                  limit=subjects, progress=tick)
                lap("enter")
                cutoff = max(trial.cutoff.date() + dt.timedelta(days=a.shift_days)
                             for a in loaded.allocations if a.source is not None)
                lock = admin.json("POST", "/api/lock", body={"cutoff": cutoff.isoformat()})
                stat = replica.ServiceClient(http, STATISTICIAN, password)
                download = stat.call("GET", "/api/exports/sdtm",
                                     params={"cutoff": cutoff.isoformat(), "format": "zip"})
                archive = download.content
                sealed = download.headers.get("X-Export-SHA256") == lock["export_sha256"]
                lap("lock and export")
                missing = sum(a.source is None for a in loaded.allocations)
                if missing:
                    console.print(f"{missing} subjects randomised to an arm with no simulated "
                                  "patient of that arm left: no forms entered for them.",
                                  highlight=False)
                console.print(f"Entered {len(loaded.records)} forms of {len(loaded.allocations)} subjects "
                              f"in {loaded.seconds:.1f} s ({loaded.requests} HTTP requests); "
                              f"locked at the cut-off {cutoff} ({lock['records']} records, export "
                              f"SHA-256 {lock['export_sha256'][:16]}..., "
                              f"{'the same as' if sealed else 'NOT the same as'} the export "
                              "downloaded)", highlight=False,
                              soft_wrap=True)
            comparisons, paths = _analyse(archive, out, proto, cutoff, loaded, code, sites, seed)
            lap("derive, analyse, compare")
            result = LiveDemo(base, out, len(loaded.allocations), len(loaded.records), cutoff,
                              tuple(comparisons), timings, sealed)
            _print(result, paths)
            if keep:
                _serve_until_interrupted(base)
    return result


def _simulated(domains: Mapping[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """The domains with DM marked as a simulated replica (``SIMFL``, ``SIMSEED``): the
    service keeps no such mark, and without it the report would pass for a trial's."""
    from oncotrial.report.provenance import SEED_VARIABLE, SIMULATED_FLAG

    marked = dict(domains)
    marked["DM"] = domains["DM"].assign(**{SIMULATED_FLAG: "Y", SEED_VARIABLE: seed})
    return marked


def _analyse(archive: bytes, out: Path, proto: Any, cutoff: dt.date, loaded: Any, code: str,
             sites: Mapping[str, str | None], seed: int,
             ) -> tuple[list[Comparison], dict[str, Path]]:
    """Export -> SDTM files (written to ``out/sdtm``) -> ADaM -> report, and the same from
    the records directly with the service's allocations."""
    from oncotrial.clinical import crf, derive_all
    from oncotrial.report.adam import AdamData
    from oncotrial.report.protocol_file import write_protocol
    from oncotrial.report.writer import build_report
    from oncotrial.server import replica
    from oncotrial.simulate.estimates import trial_estimates

    sdtm_dir = out / "sdtm"
    sdtm_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        files.extractall(sdtm_dir)
    exported = replica.read_sdtm_zip(archive)
    stamp = pd.Timestamp(cutoff)
    captured = derive_all(_simulated(exported, seed), proto, cutoff=stamp)
    subjects = replica.service_subjects(proto, code, loaded.allocations, sites)
    direct_sdtm = crf.records_to_sdtm(list(loaded.records), proto, subjects)
    direct = derive_all(_simulated(direct_sdtm, seed), proto, cutoff=stamp)
    comparisons = [compare_frames(f"SDTM {name}", exported[name], direct_sdtm[name])
                   for name in sorted(direct_sdtm) if name in exported]
    comparisons += [compare_frames(name.upper(), getattr(captured, name), getattr(direct, name))
                    for name in ("adsl", "adtte", "adrs", "adae")]
    estimates = [trial_estimates(d.adsl, d.adtte, d.adrs, d.adae, proto)
                 for d in (captured, direct)]
    comparisons.append(compare_frames("headline estimates", _estimates_frame(estimates[0]),
                                      _estimates_frame(estimates[1])))
    captured.write(out / "adam")
    write_protocol(proto, out / "adam")
    adam = AdamData(captured.adsl, captured.adtte, captured.adrs, captured.adae)
    with _quiet_progress() as progress:
        paths = build_report(adam, proto, out, progress=progress)
    return comparisons, paths


@contextlib.contextmanager
def _progress_bar() -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("Entering", total=None)
        yield lambda stage, done, total: bar.update(task, description=stage, completed=done,
                                                    total=total)


@contextlib.contextmanager
def _quiet_progress() -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("Writing the report", total=None)
        yield lambda step, done, total: bar.update(task, description=step, completed=done, total=total)


def _print(result: LiveDemo, paths: Mapping[str, Path]) -> None:
    table = Table(title="Captured vs direct (SIMULATED DATA)", title_justify="left",
                  box=box.SIMPLE_HEAD,
                  caption="Captured: the service's SDTM export (unblinded statistician) and what "
                          "derive_all and the report's estimators make of it. Direct: "
                          "records_to_sdtm of the same records with the service's allocations.",
                  caption_justify="left")
    table.add_column("Dataset")
    table.add_column("Rows", justify="right")
    table.add_column("Identical")
    for c in result.comparisons:
        rows = str(c.rows) if c.rows == c.direct_rows else f"{c.rows} vs {c.direct_rows}"
        table.add_row(c.dataset, rows, "yes" if c.identical else f"NO: {c.difference}")
    console.print(table)
    verdict = "identical" if result.identical else "NOT identical"
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(f"Captured and direct: {verdict}. Report of the captured trial (simulated data): "
                  f"{paths['report.html']}; SDTM export in {result.out / 'sdtm'} (as locked), ADaM in "
                  f"{result.out / 'adam'} (DM marked SIMFL=Y before deriving: the service keeps no "
                  f"simulation mark). Times: {stages}.", highlight=False, soft_wrap=True)


def _serve_until_interrupted(base: str) -> None:
    console.print(f"Serving at {base} until Ctrl-C.", highlight=False)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(1)
