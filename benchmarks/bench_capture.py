"""Data capture through the web service: a simulated replica entered over HTTP, the lock and
the SDTM export, and the site dashboard with many subjects — on SQLite and PostgreSQL.

    python benchmarks/bench_capture.py [--db sqlite|postgres|both] [--scenario lms04]
                                       [--seed 4] [--subjects N] [--dashboard-subjects 1000]
                                       [--requests 200] [--postgres-url URL]

1. **Entry.** The bundled scenario's replica (``--seed``; LMS04: 150 patients at 20 sites,
   about 4,500 forms) is simulated, turned into case report form records
   (``oncotrial.clinical.crf.sdtm_to_records``) and entered through the HTTP API as the
   sites would (``oncotrial.server.replica.load_replica``: registration, randomisation by
   the service, then every form), against ``uvicorn`` in a subprocess. Printed: forms
   saved per second and HTTP requests per second over the whole entry.
2. **Lock and export.** ``POST /api/lock`` at the data cut-off (which builds the export to
   record its SHA-256) and ``GET /api/exports/sdtm?format=zip``. The named peer is the same
   records converted to SDTM in-process (``crf.records_to_sdtm``), timed in the same run:
   the ratio says what the service adds (reading the records, the audit, the zip, HTTP).
3. **Dashboard.** A second trial with ``--dashboard-subjects`` subjects registered and
   randomised through the API; ``GET /`` (the site dashboard) ``--requests`` times as an
   investigator of one site and as the data manager (every site), p50/p95/p99. The peer is
   ``GET /api/subjects``, the same subjects as JSON, timed alternately in the same run.

Passwords are hashed at the lowest argon2 cost (as ``oncotrial demo --live``): every
randomisation re-checks the password, and the production cost would measure argon2.
Without ``--postgres-url`` a throw-away PostgreSQL cluster is started (see
``bench_server.py``). Not part of ``make test``; every run prints its seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import postgres_cluster

PASSWORD = "Bench-Capture-2026"
ADMIN, STAT, DM = "admin", "stat", "dm"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _replica(scenario: str, seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """(scenario, protocol, simulated trial, records, subject infos)."""
    from oncotrial.clinical import crf
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import simulate_trial

    model = Scenario.load(scenario)
    proto = model.protocol_model()
    trial = simulate_trial(model, seed=seed)
    records, infos = crf.sdtm_to_records(trial.domains, proto)
    return model, proto, trial, records, infos


@contextmanager
def _service(url: str, protocol: Any, sites: dict[str, str | None], *,
             clock: dt.date | None = None) -> Iterator[tuple[httpx.Client, Any]]:
    """A new trial at ``url`` served by uvicorn; yields (HTTP client, admin session) with
    one investigator per site, a data manager and an unblinded statistician, live."""
    from oncotrial.server import replica
    from oncotrial.server.replica_server import FAST_HASHING, create_trial, serve

    create_trial(url, protocol, sites, admin=ADMIN, password=PASSWORD)
    with serve(url, clock=clock, env=FAST_HASHING) as base, \
            httpx.Client(base_url=base, timeout=120) as http:
        admin = replica.ServiceClient(http, ADMIN, PASSWORD)
        for site in sites:
            admin.call("POST", "/api/users", body={"username": f"inv-{site}", "password": PASSWORD,
                                                   "role": "investigator", "site": site})
        for user, role in ((STAT, "unblinded_statistician"), (DM, "data_manager")):
            admin.call("POST", "/api/users", body={"username": user, "password": PASSWORD,
                                                   "role": role})
        yield http, admin


def bench_entry(url: str, args: argparse.Namespace) -> dict[str, float]:
    """Enter the replica, lock, export; the direct conversion as the peer."""
    from oncotrial.clinical import crf
    from oncotrial.server import replica

    model, proto, trial, records, infos = _replica(args.scenario, args.seed)
    sites = {f"{i:02d}": c for i, c in enumerate(model.sites.site_countries(), 1)}
    first = min(i.randomised_on for i in infos.values() if i.randomised_on is not None)
    entry_day = dt.datetime.now(dt.UTC).date() + (trial.cutoff.date() - first) + dt.timedelta(days=2)
    with _service(url, model.protocol, sites, clock=entry_day) as (http, admin):
        admin.call("POST", "/api/go-live", body={})
        loaded = replica.load_replica(http, proto, records, infos,
                                      investigators={s: f"inv-{s}" for s in sites},
                                      statistician=STAT, password=PASSWORD, limit=args.subjects)
        cutoff = max(trial.cutoff.date() + dt.timedelta(days=a.shift_days)
                     for a in loaded.allocations if a.source is not None)
        start = time.perf_counter()
        lock = admin.json("POST", "/api/lock", body={"cutoff": cutoff.isoformat()})
        lock_seconds = time.perf_counter() - start
        stat = replica.ServiceClient(http, STAT, PASSWORD)
        start = time.perf_counter()
        archive = stat.call("GET", "/api/exports/sdtm",
                            params={"cutoff": cutoff.isoformat(), "format": "zip"}).content
        export_seconds = time.perf_counter() - start
    subjects = replica.service_subjects(proto, proto.id, loaded.allocations, sites)
    start = time.perf_counter()
    crf.records_to_sdtm(list(loaded.records), proto, subjects)
    direct_seconds = time.perf_counter() - start
    return {"subjects": len(loaded.allocations), "forms": len(loaded.records),
            "requests": loaded.requests, "entry_s": loaded.seconds,
            "forms_per_s": len(loaded.records) / loaded.seconds,
            "requests_per_s": loaded.requests / loaded.seconds,
            "lock_s": lock_seconds, "lock_records": lock["records"],
            "export_s": export_seconds, "export_kib": len(archive) / 1024,
            "direct_s": direct_seconds}


def _timed(get: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    response = get()
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return elapsed


def bench_dashboard(url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """GET / with ``--dashboard-subjects`` subjects, against GET /api/subjects."""
    from oncotrial.protocol import Protocol
    from oncotrial.randomise.strata import Design
    from oncotrial.server import replica
    from oncotrial.server.web.session import SESSION_COOKIE

    proto = Protocol.load(args.scenario)
    sites: dict[str, str | None] = {f"{i:02d}": "FR" for i in range(1, 21)}
    design = Design.from_protocol(proto)
    strata = [dict(zip(design.factors, levels, strict=True)) for levels in design.strata]
    n = args.dashboard_subjects
    per_stratum = n // len(strata) + 1
    with _service(url, args.scenario, sites) as (http, admin):
        admin.call("POST", "/api/go-live", body={"per_stratum": per_stratum})
        clients = {s: replica.ServiceClient(http, f"inv-{s}", PASSWORD) for s in sites}
        for i in range(n):
            site = f"{i % 20 + 1:02d}"
            stratum = strata[i % len(strata)]
            body = {"site": site, "factors": stratum,
                    "eligibility": replica.eligible_data(proto, {}, stratum)}
            code = clients[site].json("POST", "/api/subjects", body=body)["code"]
            clients[site].call("POST", f"/api/subjects/{code}/randomise",
                               body={"password": PASSWORD},
                               headers={"Idempotency-Key": uuid.uuid4().hex})
        out: dict[str, dict[str, float]] = {}
        for label, user in (("investigator (1 site)", "inv-01"), ("data manager (20 sites)", DM)):
            token = http.post("/api/auth/login",
                              json={"username": user, "password": PASSWORD}).json()["token"]
            page, api = [], []
            for _ in range(args.requests):
                page.append(_timed(lambda t=token: http.get("/", cookies={SESSION_COOKIE: t})))
                api.append(_timed(lambda t=token: http.get(
                    "/api/subjects", headers={"Authorization": f"Bearer {t}"})))
            out[label] = {"p50": _quantile(page, 0.5), "p95": _quantile(page, 0.95),
                          "p99": _quantile(page, 0.99), "api_p95": _quantile(api, 0.95),
                          "ratio": statistics.median(page) / statistics.median(api)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--scenario", default="lms04")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--subjects", type=int, default=None,
                        help="enter only the first N subjects (default all)")
    parser.add_argument("--dashboard-subjects", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    print(f"bench_capture: scenario {args.scenario}, seed {args.seed}, "
          f"{args.dashboard_subjects} dashboard subjects, {args.requests} page requests")
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for name in databases:
        with tempfile.TemporaryDirectory() as folder:
            cluster = (nullcontext(args.postgres_url) if args.postgres_url or name == "sqlite"
                       else postgres_cluster())
            with cluster as pg:
                urls = ([f"sqlite:///{folder}/entry.db", f"sqlite:///{folder}/dashboard.db"]
                        if name == "sqlite" else [pg, pg.rsplit("/", 1)[0] + "/bench_direct"])
                entry = bench_entry(urls[0], args)
                print(f"\n{name}: entry of {entry['subjects']:.0f} subjects, {entry['forms']:.0f} forms "
                      f"in {entry['entry_s']:.1f} s: {entry['forms_per_s']:.0f} forms/s, "
                      f"{entry['requests_per_s']:.0f} HTTP requests/s")
                print(f"{name}: lock {entry['lock_s']:.2f} s ({entry['lock_records']:.0f} records), "
                      f"export over HTTP {entry['export_s']:.2f} s ({entry['export_kib']:.0f} KiB zip); "
                      f"peer crf.records_to_sdtm in-process {entry['direct_s']:.2f} s: "
                      f"export/peer {entry['export_s'] / entry['direct_s']:.1f}x")
                for label, row in bench_dashboard(urls[1], args).items():
                    print(f"{name}: dashboard GET / as {label}, {args.dashboard_subjects} subjects: "
                          f"p50 {row['p50'] * 1000:.0f} ms, p95 {row['p95'] * 1000:.0f} ms, "
                          f"p99 {row['p99'] * 1000:.0f} ms; peer GET /api/subjects p95 "
                          f"{row['api_p95'] * 1000:.0f} ms; page/peer median {row['ratio']:.2f}x")


if __name__ == "__main__":
    main()
