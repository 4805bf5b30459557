"""Support of the HTTP API tests (imported by name; conftest.py is foundation's).

:func:`build_world` makes a live trial (through the services of
``randomisation_fixtures.build_trial``), randomises a few subjects at two sites, builds the
app with :func:`oncotrial.server.app.create_app` and logs every role in over HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
from fastapi.testclient import TestClient
from randomisation_fixtures import BLINDED, FAST, PASSWORD, TrialDB, build_trial, eligible
from sqlalchemy import func, select

from oncotrial.protocol import Protocol
from oncotrial.server.app import create_app
from oncotrial.server.db.models import AuditRecord, ListSlot
from oncotrial.server.settings import Settings

__all__ = ["BLINDED", "PASSWORD", "ROLE_USERS", "SEED", "World", "build_world", "factors",
           "free_port", "leaks", "subject_body", "uvicorn_server"]

SEED = 3_301_944_211_853_606_117

#: the roles of the walks and the user of each (None: no token)
ROLE_USERS: dict[str, str | None] = {
    "admin": "admin", "inv_a": "inv-S01", "inv_b": "inv-S02", "data_manager": "dm",
    "monitor": "monitor", "unblinded_statistician": "stat", "anonymous": None,
}


def factors(i: int, protocol: str = "gastric") -> dict[str, Any]:
    """Stratification factors of the i-th test subject (cycling through a few strata)."""
    if protocol == "lms04":
        return {"origin": ("uterine", "soft_tissue")[i % 2], "stage": "metastatic"}
    return {"region": ("asia", "rest_of_world")[i % 2], "ecog": i % 2, "pd_l1_cps_class": 2}


@dataclasses.dataclass
class World:
    db: TrialDB
    settings: Settings
    client: TestClient
    tokens: dict[str, str]
    randomised: dict[str, list[str]]   # site -> subject codes randomised
    registered: dict[str, list[str]]   # site -> registered, not randomised
    protocol: Protocol

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.client.post("/api/auth/login", json={"username": username,
                                                         "password": password})

    def token(self, role: str) -> str | None:
        user = ROLE_USERS[role]
        if user is None:
            return None
        if role not in self.tokens:
            response = self.login(user)
            assert response.status_code == 200, response.text
            self.tokens[role] = response.json()["token"]
        return self.tokens[role]

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        token = self.token(role)
        return {**({"Authorization": f"Bearer {token}"} if token else {}), **extra}

    def call(self, role: str, method: str, path: str, *, body: Any = None,
             headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
             ) -> httpx.Response:
        return self.client.request(method, path, json=body, params=params,
                                   headers={**self.headers(role), **(headers or {})})

    def randomise(self, role: str, code: str, key: str | None = None,
                  password: str = PASSWORD) -> httpx.Response:
        return self.call(role, "POST", f"/api/subjects/{code}/randomise",
                         body={"password": password},
                         headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def audit_count(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)

    def future_codes(self) -> list[str]:
        """Masked codes (kit numbers) of list slots not used yet."""
        with self.db.read() as session:
            return [c for c in session.scalars(select(ListSlot.masked_code).where(
                ListSlot.allocation_id.is_(None))) if c]

    def concealed_strings(self) -> list[str]:
        """What no blinded role may ever read: arm codes and labels, the seed, the codes
        of future slots, and the names of the concealed structures."""
        arms = [a.code for a in self.protocol.arms] + [a.label for a in self.protocol.arms]
        return sorted({*arms, str(SEED), *self.future_codes(), "block_size", "block_sizes",
                       "state_json"}, key=len, reverse=True)

    def close(self) -> None:
        self.client.close()
        self.db.dispose()


def build_world(url: str, protocol: str = BLINDED, *, owner_url: str | None = None,
                randomise_per_site: int = 3, register_per_site: int = 2, per_stratum: int = 24,
                settings: dict[str, Any] | None = None) -> World:
    """A live trial at ``url`` with sites S01 and S02, subjects randomised and registered at
    both (through the services), and the app over it."""
    db = build_trial(url, protocol, n_sites=2)
    db.go_live(per_stratum=per_stratum, seed=SEED)
    randomised: dict[str, list[str]] = {}
    registered: dict[str, list[str]] = {}
    for site in db.sites:
        for i in range(randomise_per_site):
            view = db.register(site, factors(i, db.protocol))
            db.randomise(view.code, site)
            randomised.setdefault(site, []).append(view.code)
        for i in range(register_per_site):
            view = db.register(site, factors(i, db.protocol))
            registered.setdefault(site, []).append(view.code)
    cfg = Settings(database_url=url, migration_url=owner_url, **FAST, **(settings or {}))
    app = create_app(cfg)
    client = TestClient(app, raise_server_exceptions=False)
    world = World(db, cfg, client, {}, randomised, registered, Protocol.load(protocol))
    for role in ROLE_USERS:  # log in now: a login writes an audit record
        world.token(role)
    return world


def leaks(response: httpx.Response, concealed: Iterable[str]) -> list[str]:
    """The concealed strings that appear in a response's body or headers."""
    text = response.text + "\n" + json.dumps(dict(response.headers))
    return [s for s in concealed if s in text]


def subject_body(site: str, i: int = 0, protocol: str = "gastric", **extra: Any) -> dict[str, Any]:
    f = factors(i, protocol)
    return {"site": site, "eligibility": eligible(protocol, f), "factors": f, **extra}


# ----------------------------------------------------------------------------- a real server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(database_url: str, *, migration_url: str | None = None,
                   workers: int = 1,
                   timeout: float = 60) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A ``uvicorn`` process serving :func:`~oncotrial.server.app.create_app` (the
    database's only trial; settings from ``ONCOTRIAL_*`` variables) over ``database_url``
    on a free loopback port: yields (process, base URL), stops it after
    (the crash tests may kill it first)."""
    port = free_port()
    env = {**os.environ, "ONCOTRIAL_DATABASE_URL": database_url}
    if migration_url:
        env["ONCOTRIAL_MIGRATION_URL"] = migration_url
    command = [sys.executable, "-m", "uvicorn", "--factory", "oncotrial.server.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer in time")
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
