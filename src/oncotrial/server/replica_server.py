"""A throw-away service for loading a simulated replica: ``uvicorn`` in a subprocess on a
free loopback port, over a database the caller made.

A replica is data from the past entered in a few minutes: every subject is randomised
today by the service, and its simulated follow-up (months or years of it) is dated after
that. The capture checks refuse a date after "today", so the served app's clock of the
checks (:data:`oncotrial.server.services.crf_forms.clock`, the hook meant for replays) is
set to the day given in :data:`CLOCK_VARIABLE`: the data are entered as if on that day.
Nothing else of the service changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from oncotrial.core.errors import OncotrialError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["CLOCK_VARIABLE", "FAST_HASHING", "ServerFailed", "create_trial", "free_port",
           "replay_app", "serve"]

#: the environment variable that sets the served app's clock of the checks (ISO date)
CLOCK_VARIABLE = "ONCOTRIAL_REPLAY_TODAY"
#: argon2 at its lowest cost (``ONCOTRIAL_ARGON2_*``): a demo hashes a password per user and
#: verifies one per randomisation; never for a real trial
FAST_HASHING = {"ONCOTRIAL_ARGON2_TIME_COST": "1", "ONCOTRIAL_ARGON2_MEMORY_KIB": "8",
                "ONCOTRIAL_ARGON2_PARALLELISM": "1"}


class ServerFailed(OncotrialError):
    """The server process exited, or did not answer in time."""


def replay_app() -> FastAPI:
    """``uvicorn --factory`` entry: :func:`~oncotrial.server.app.create_app` from the
    ``ONCOTRIAL_*`` settings, with the clock of the checks at :data:`CLOCK_VARIABLE`."""
    from oncotrial.server.app import create_app
    from oncotrial.server.services import crf_forms

    text = os.environ.get(CLOCK_VARIABLE)
    if text:
        day = dt.date.fromisoformat(text)
        crf_forms.clock = lambda: day
    return create_app()


def create_trial(database_url: str, protocol: str | Path, sites: Mapping[str, str | None], *,
                 admin: str, password: str, migration_url: str | None = None) -> str:
    """Migrate the database (as ``migration_url``, default ``database_url``) and create the
    trial of ``protocol`` with ``sites`` (code -> country) and its first admin, as
    ``oncotrial trial init`` does; password hashing at :data:`FAST_HASHING`'s cost.
    Returns the trial's code."""
    from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
    from oncotrial.server.db.upgrade import upgrade
    from oncotrial.server.services import accounts
    from oncotrial.server.settings import Settings

    upgrade(migration_url or database_url)
    settings = Settings.from_env(FAST_HASHING, database_url=database_url)
    engine = make_engine(database_url)
    try:
        with write_transaction(make_session_factory(engine)) as session:
            trial = accounts.init_trial(
                session, protocol,
                sites=[(code, f"Site {code}", country) for code, country in sites.items()],
                admin_username=admin, admin_password=password, settings=settings)
            return str(trial.code)
    finally:
        engine.dispose()


def free_port() -> int:
    """A loopback port free now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(database_url: str, *, migration_url: str | None = None, clock: dt.date | None = None,
          env: Mapping[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Serve the database's only trial with :func:`replay_app` on a free loopback port;
    yield the base URL (``http://127.0.0.1:PORT``) once it answers, stop the process after."""
    port = free_port()
    variables = {**os.environ, **(env or {}), "ONCOTRIAL_DATABASE_URL": database_url}
    if migration_url is not None:
        variables["ONCOTRIAL_MIGRATION_URL"] = migration_url
    if clock is not None:
        variables[CLOCK_VARIABLE] = clock.isoformat()
    command = [sys.executable, "-m", "uvicorn", "--factory",
               "oncotrial.server.replica_server:replay_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    with tempfile.TemporaryFile() as log:  # not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, env=variables, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _wait_until_up(process, log, f"http://127.0.0.1:{port}", timeout)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], log: IO[bytes], base: str,
                   timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise ServerFailed(f"the server exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ServerFailed(f"the server did not answer within {timeout:.0f} s")
        time.sleep(0.1)
