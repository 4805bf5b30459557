"""Throughput and latency of randomisation through the web service, on SQLite and PostgreSQL.

    python benchmarks/bench_server.py [--db sqlite|postgres|both] [--clients 50]
                                      [--per-client 10] [--workers 1] [--argon2 low|default]
                                      [--postgres-url URL]

For each database: a fresh trial of the bundled block-randomised protocol with 20 sites
(one investigator each) goes live; subjects are registered through the services (not
timed); ``uvicorn`` serves ``oncotrial.server.app:create_app`` in a subprocess; ``--clients``
concurrent HTTP clients (asyncio + h11, one keep-alive connection each) each randomise
``--per-client`` subjects, every request with its password and idempotency key. Printed:
allocations per second, p50 and p99 latency, and the check that the allocations have no
duplicate or gap (sequence 1..N; in every stratum, slots 1..n used once). The peer figure is the same number of
randomisations through the service function directly (``--clients`` threads, no HTTP),
measured in the same run on a second trial; the ratio HTTP/direct is printed.

``--argon2 low`` (the default here) hashes passwords at the lowest argon2 cost, because
every randomisation re-checks the password and the production cost (RFC 9106 low-memory
profile, ~50 ms of CPU) would measure argon2, not the allocation path; ``--argon2 default``
measures the production cost. Without ``--postgres-url`` a throw-away PostgreSQL cluster
is started (initdb/pg_ctl, as user ``postgres`` when run as root) and removed.

``--scale`` adds the larger trial: 200 sites and 20,000 registered subjects, all but the
last ``--clients`` x ``--per-client`` of them already randomised (through the service
function, not timed), so the timed allocations run against a database ten times the size
of the reference trial's. Its p99 is compared with the p99 of the first trial (20 sites, as
many subjects as are timed) in the same run: the ratio should stay near 1 (allocation cost
must not grow with the trial).

Not part of ``make test``; ``make bench`` runs ``--db postgres --scale`` and records the
targets (``_timing.record``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _timing import record

PROTOCOL = "lms04"
#: the larger trial of ``--scale``: ten times the reference trial's sites and subjects
SCALE_SUBJECTS, SCALE_SITES = 20_000, 200
#: targets: allocations per second over HTTP (the randomisation service's), and the p99 of
#: the larger trial over the reference trial's (the same p99, within run-to-run noise)
SERVICE_RATE, SCALE_P99 = 200.0, 1.2
PASSWORD = "Bench-Randomise-2026"
STRATA = [{"origin": o, "stage": s} for o in ("uterine", "soft_tissue")
          for s in ("locally_advanced", "metastatic")]
ELIGIBLE = {"age": 60, "histology": "leiomyosarcoma", "expert_pathology_review": True,
            "unresectable": True, "prior_chemotherapy": False, "measurable_lesions": 2, "ecog": 1,
            "adequate_organ_function": True, "other_cancer_in_remission_lt_3y": False,
            "cns_metastases": False}
LOW_ARGON2 = {"ONCOTRIAL_ARGON2_TIME_COST": "1", "ONCOTRIAL_ARGON2_MEMORY_KIB": "8",
              "ONCOTRIAL_ARGON2_PARALLELISM": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields a superuser URL of database ``bench``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bin_dir = Path(found[-1]).parent if found else Path(shutil.which("initdb") or "initdb").parent
    root = Path(tempfile.mkdtemp(prefix="oncotrial-bench-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    prefix = ["runuser", "-u", user, "--"] if user else []
    port = _free_port()
    if user:
        shutil.chown(root, user)
    data = root / "data"
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"], check=True,
                   capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200"
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                    "-o", opts, "-w", "start"], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
            conn.execute("CREATE DATABASE bench_direct")
            conn.execute("CREATE DATABASE bench_scale")
        yield f"postgresql://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def setup_trial(url: str, n_subjects: int, *, n_sites: int = 20,
                randomised: int = 0) -> list[tuple[str, str]]:
    """A live trial at ``url`` with ``n_sites`` sites and ``n_subjects`` registered subjects,
    the first ``randomised`` of them randomised (untimed); returns (subject code, site) of
    the others, to randomise."""
    from sqlalchemy import select

    from oncotrial.server.db.models import User
    from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
    from oncotrial.server.db.upgrade import upgrade
    from oncotrial.server.services import accounts, sealing, subjects
    from oncotrial.server.settings import Settings

    upgrade(url)
    settings = Settings.from_env(database_url=url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    sites = [f"S{i:03d}" for i in range(1, n_sites + 1)]
    with write_transaction(factory) as session:
        trial = accounts.init_trial(session, PROTOCOL, sites=[(s, f"Site {s}", "FR") for s in sites],
                                    admin_username="admin", admin_password=PASSWORD, settings=settings)
        for site in sites:
            accounts.add_user(session, None, f"inv-{site}", PASSWORD, "investigator", site,
                              trial_code=trial.code, settings=settings)
        admin = accounts.principal(session, session.scalars(
            select(User).where(User.username == "admin")).one())
        sealing.go_live(session, admin, per_stratum=n_subjects)
    jobs = []
    with write_transaction(factory) as session:
        principals = {s: accounts.principal(session, session.scalars(
            select(User).where(User.username == f"inv-{s}")).one()) for s in sites}
        for i in range(n_subjects):
            site = sites[i % n_sites]
            stratum = STRATA[i % 4]
            view = subjects.register(session, principals[site], subject_code=None, site_code=site,
                                     eligibility={**ELIGIBLE, **stratum}, factors=stratum)
            jobs.append((view.code, site))
    if randomised:
        from oncotrial.server.services import randomisation

        for code, site in jobs[:randomised]:
            with write_transaction(factory) as session:
                randomisation.randomise(session, principals[site], code, password=PASSWORD,
                                        idempotency_key=str(uuid.uuid4()))
    engine.dispose()
    _analyse_tables(url)
    return jobs[randomised:]


def _analyse_tables(url: str) -> None:
    """Refresh the planner's statistics after the bulk set-up, as autovacuum would long since
    have done in a trial that grew over months; otherwise the timed run measures the
    planner's guesses about tables filled a minute ago (and autovacuum starting mid-run).
    On PostgreSQL the pages the set-up dirtied are then written out (``CHECKPOINT``), so
    that the checkpoint its write-ahead log would trigger does not fall into the timed run."""
    from oncotrial.server.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        if url.startswith("postgres"):
            autocommit.exec_driver_sql("VACUUM ANALYZE")
            autocommit.exec_driver_sql("CHECKPOINT")
        else:
            autocommit.exec_driver_sql("ANALYZE")
    engine.dispose()


def check(url: str, expected: int) -> str:
    """'ok' when there are ``expected`` allocations without duplicate or gap."""
    from sqlalchemy import func, select

    from oncotrial.server.db.models import Allocation, ListSlot
    from oncotrial.server.db.session import make_engine, make_session_factory
    from oncotrial.server.services import audit

    engine = make_engine(url)
    problems = []
    with make_session_factory(engine)() as session:
        seqs = session.scalars(select(Allocation.sequence).order_by(Allocation.sequence)).all()
        if seqs != list(range(1, expected + 1)):
            problems.append(f"sequence is not 1..{expected} ({len(seqs)} allocations)")
        if session.scalar(select(func.count(func.distinct(Allocation.subject_id)))) != len(seqs):
            problems.append("a subject has two allocations")
        for (label,) in session.execute(select(ListSlot.stratum).distinct()):
            used = session.scalars(select(ListSlot.position).where(
                ListSlot.stratum == label, ListSlot.allocation_id.is_not(None)).order_by(
                ListSlot.position)).all()
            if used != list(range(1, len(used) + 1)):
                problems.append(f"stratum {label}: slots used {used[:5]}... have a gap")
        if not audit.verify(session).ok:
            problems.append("the audit chain does not verify")
    engine.dispose()
    return "ok" if not problems else "; ".join(problems)


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) of process ``pid``, or of the whole machine (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    if pid is None:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return (sum(int(f) for f in fields) - int(fields[3]) - int(fields[4])) / ticks
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def _summary(latencies: list[float], elapsed: float) -> tuple[float, float, float]:
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / elapsed, qs[49] * 1000, qs[98] * 1000


class _Connection:
    """One keep-alive HTTP/1.1 connection, as each investigator's browser holds one.

    The load generator shares the two cores with the server and the database, so it must
    cost little and the same at every run: a client with a connection pool (httpx) spends
    1-5 ms of CPU per request here, varying from run to run, and that shows up as the
    service's latency. ``h11`` (the HTTP/1.1 state machine under httpx and uvicorn) frames
    the messages; each simulated client owns its connection, so nothing is shared or
    searched per request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        import h11

        self._h11 = h11
        self._reader, self._writer, self._host = reader, writer, host
        self._conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, payload: dict[str, Any],
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """POST ``payload`` as JSON; the status, the headers (lower-case names) and the body."""
        h11 = self._h11
        body = json.dumps(payload).encode()
        head = [("Host", self._host), ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))), *(headers or {}).items()]
        conn = self._conn
        self._writer.write(conn.send(h11.Request(method="POST", target=path, headers=head))
                           + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        status, answer, chunks = 0, {}, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionError(f"the server closed the connection during POST {path}")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                answer = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                conn.start_next_cycle()
                return status, answer, b"".join(chunks)
            else:
                raise ConnectionError(f"unexpected HTTP event {event!r} during POST {path}")

    def close(self) -> None:
        self._writer.close()


async def _http_clients(host: str, port: int, jobs: list[tuple[str, str]], n_clients: int,
                        ready: Callable[[], None]) -> tuple[list[float], float, int]:
    """Open each client's connection and log each site's investigator in, call ``ready``
    (the CPU counters start there, so a trial with more sites is not charged for its
    logins), then randomise ``jobs``."""
    connections = [await _Connection.open(host, port) for _ in range(n_clients)]
    try:
        tokens = {}
        for site in sorted({site for _, site in jobs}):
            status, _, body = await connections[0].post(
                "/api/auth/login", {"username": f"inv-{site}", "password": PASSWORD})
            if status != 200:
                raise RuntimeError(f"login of inv-{site}: HTTP {status} {body[:200]!r}")
            tokens[site] = json.loads(body)["token"]
        latencies: list[float] = []
        errors = retries = 0
        shares = [jobs[i::n_clients] for i in range(n_clients)]

        async def one_client(connection: _Connection, share: list[tuple[str, str]]) -> None:
            nonlocal errors, retries
            for code, site in share:
                key = str(uuid.uuid4())
                t0 = time.perf_counter()  # the latency includes the retries
                for _ in range(50):  # 409 + Retry-After from a busy database: retry same key
                    status, headers, body = await connection.post(
                        f"/api/subjects/{code}/randomise", {"password": PASSWORD},
                        {"Authorization": f"Bearer {tokens[site]}", "Idempotency-Key": key})
                    if status == 409 and "retry-after" in headers:
                        retries += 1
                        await asyncio.sleep(0.01)
                        continue
                    latencies.append(time.perf_counter() - t0)
                    if status != 200:
                        errors += 1
                        print(f"  {code}: HTTP {status} {body[:200]!r}", file=sys.stderr)
                    break

        ready()
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(c, s) for c, s in zip(connections, shares, strict=True)))
        if retries:
            print(f"  {retries} requests answered 409 busy and retried", file=sys.stderr)
        return latencies, time.perf_counter() - t0, errors
    finally:
        for connection in connections:
            connection.close()


def run_http(url: str, jobs: list[tuple[str, str]], n_clients: int,
             workers: int) -> tuple[float, float, float, int, str, float]:
    """Rate, p50 and p99 (ms), errors, the CPU breakdown as text, and the CPU seconds per
    allocation of the service (server and database: the machine's CPU less the clients'),
    less disturbed by other jobs than wall-clock latencies.

    The set-up's objects are frozen out of the garbage collector first: the clients run in
    this process, and full collections over a large trial's set-up would stall them and
    show up as the service's latency."""
    gc.collect()
    gc.freeze()
    port = _free_port()
    env = {**os.environ, "ONCOTRIAL_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "oncotrial.server.app:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        servers = [proc.pid, *_children(proc.pid)]
        before: list[Any] = []

        def ready() -> None:
            before[:] = [[_cpu_seconds(p) for p in servers], time.process_time(), _cpu_seconds()]

        latencies, elapsed, errors = asyncio.run(_http_clients("127.0.0.1", port, jobs, n_clients, ready))
        server_cpu = sum(_cpu_seconds(p) for p in servers) - sum(before[0])
        client_cpu = time.process_time() - before[1]
        machine_cpu = _cpu_seconds() - before[2]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rate, p50, p99 = _summary(latencies, elapsed)
    n = len(latencies)
    cpu = (f"CPU per allocation: server {server_cpu / n * 1000:.1f} ms, clients "
           f"{client_cpu / n * 1000:.1f} ms, database and the rest "
           f"{(machine_cpu - server_cpu - client_cpu) / n * 1000:.1f} ms; machine busy "
           f"{machine_cpu / elapsed / (os.cpu_count() or 1):.0%}")
    return rate, p50, p99, errors, cpu, (machine_cpu - client_cpu) / n


def _children(pid: int) -> list[int]:
    """The worker processes of a uvicorn started with ``--workers`` > 1."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def run_direct(url: str, jobs: list[tuple[str, str]], n_clients: int) -> tuple[float, float, float, int]:
    """The same randomisations through the service function, ``n_clients`` threads."""
    from sqlalchemy import select

    from oncotrial.core.errors import ConcurrencyConflict
    from oncotrial.server.db.models import User
    from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
    from oncotrial.server.services import accounts, randomisation

    engine = make_engine(url, pool_size=n_clients, max_overflow=10) if url.startswith("postgres") \
        else make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        principals = {site: accounts.principal(session, session.scalars(
            select(User).where(User.username == f"inv-{site}")).one()) for _, site in jobs}
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client(share: list[tuple[str, str]]) -> None:
        nonlocal errors
        for code, site in share:
            key = str(uuid.uuid4())
            t0 = time.perf_counter()
            for _ in range(50):
                try:
                    with write_transaction(factory) as session:
                        randomisation.randomise(session, principals[site], code, password=PASSWORD,
                                                idempotency_key=key)
                except ConcurrencyConflict:
                    time.sleep(0.01)
                    continue
                except Exception as exc:
                    with lock:
                        errors += 1
                    print(f"  {code}: {exc}", file=sys.stderr)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                break

    threads = [threading.Thread(target=client, args=(jobs[i::n_clients],)) for i in range(n_clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    rate, p50, p99 = _summary(latencies, elapsed)
    return rate, p50, p99, errors


def bench(label: str, http_url: str, direct_url: str, args: argparse.Namespace,
          scale_url: str | None = None) -> None:
    n = args.clients * args.per_client
    jobs = setup_trial(http_url, n)
    rate, p50, p99, errors, cpu, cpu_each = run_http(http_url, jobs, args.clients, args.workers)
    verdict = check(http_url, n)
    print(f"{label:10s} HTTP   {n} allocations, {args.clients} clients: {rate:7.1f} alloc/s, "
          f"p50 {p50:6.1f} ms, p99 {p99:6.1f} ms, errors {errors}, duplicates/gaps: {verdict}")
    print(f"{label:10s}        {cpu}")
    jobs = setup_trial(direct_url, n)
    drate, dp50, dp99, derrors = run_direct(direct_url, jobs, args.clients)
    dverdict = check(direct_url, n)
    print(f"{label:10s} direct {n} allocations, {args.clients} threads: {drate:7.1f} alloc/s, "
          f"p50 {dp50:6.1f} ms, p99 {dp99:6.1f} ms, errors {derrors}, duplicates/gaps: {dverdict}")
    print(f"{label:10s} HTTP/direct throughput ratio {rate / drate:.2f}")
    record(f"allocations over HTTP, {label}, {args.clients} clients", rate, SERVICE_RATE,
           peer="the randomisation service's target", unit="alloc/s",
           context=f"p99 {p99:.0f} ms; the service function without HTTP: {drate:.0f} alloc/s")
    if scale_url is None:
        return
    t0 = time.perf_counter()
    big = setup_trial(scale_url, SCALE_SUBJECTS, n_sites=SCALE_SITES, randomised=SCALE_SUBJECTS - n)
    setup = time.perf_counter() - t0
    brate, bp50, bp99, berrors, bcpu, bcpu_each = run_http(scale_url, big, args.clients, args.workers)
    total = SCALE_SUBJECTS - n + len(big)
    bverdict = check(scale_url, total)
    print(f"{label:10s} HTTP   {len(big)} allocations after {total - len(big)} ({SCALE_SITES} sites, set up in "
          f"{setup:.0f} s): {brate:7.1f} alloc/s, p50 {bp50:6.1f} ms, p99 {bp99:6.1f} ms, errors {berrors}, "
          f"duplicates/gaps: {bverdict}")
    print(f"{label:10s}        {bcpu}")
    record(f"allocation p99 at {SCALE_SUBJECTS:,} subjects / {SCALE_SITES} sites, {label}", bp99 / p99, SCALE_P99,
           peer=f"p99 of a {n}-subject, 20-site trial", unit="x", at_most=True,
           context=f"p99 {bp99:.0f} ms vs {p99:.0f} ms; {brate:.0f} vs {rate:.0f} alloc/s")
    record(f"service CPU per allocation at {SCALE_SUBJECTS:,} subjects / {SCALE_SITES} sites, {label}",
           bcpu_each / cpu_each, SCALE_P99, peer=f"the same at a {n}-subject, 20-site trial", unit="x",
           at_most=True, context=f"{bcpu_each * 1000:.1f} ms vs {cpu_each * 1000:.1f} ms of server and database "
                                 f"CPU per allocation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--argon2", choices=["low", "default"], default="low")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database (superuser or owner); "
                                               "default: a throw-away cluster")
    parser.add_argument("--scale", action="store_true",
                        help=f"also time a trial of {SCALE_SUBJECTS:,} subjects at {SCALE_SITES} sites")
    args = parser.parse_args()
    if args.argon2 == "low":
        os.environ.update(LOW_ARGON2)
    print(f"argon2 cost: {args.argon2}; uvicorn workers: {args.workers}; {os.cpu_count()} CPUs")
    if args.db in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="oncotrial-bench-"))
        try:
            bench("SQLite", f"sqlite:///{folder / 'http.db'}", f"sqlite:///{folder / 'direct.db'}", args,
                  f"sqlite:///{folder / 'scale.db'}" if args.scale else None)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.db in ("postgres", "both"):
        if args.postgres_url:
            bench("PostgreSQL", args.postgres_url, args.postgres_url + "_direct", args,
                  args.postgres_url + "_scale" if args.scale else None)
        else:
            with postgres_cluster() as url:
                bench("PostgreSQL", url, url + "_direct", args, url + "_scale" if args.scale else None)


if __name__ == "__main__":
    main()
