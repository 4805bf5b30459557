"""kill -9 of the HTTP server during a burst of randomisations, then a restart: every
acknowledged allocation is present, no slot is used twice or skipped, the audit chain and
the sealed list verify at start, and retrying the unanswered requests with their
idempotency keys allocates each subject exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from randomisation_fixtures import PASSWORD, build_trial
from sqlalchemy import func, select

from oncotrial.server.db.models import Allocation, ListSlot
from oncotrial.server.services import audit, sealing

pytestmark = pytest.mark.slow

STRATA = [{"origin": "uterine", "stage": "metastatic"}, {"origin": "soft_tissue", "stage": "metastatic"}]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ONCOTRIAL_DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "oncotrial.server.app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def test_kill_server_mid_burst_and_restart(database_url) -> None:
    db = build_trial(database_url, "lms04", n_sites=4)
    db.go_live(per_stratum=60, seed=5)
    jobs = [(db.register(db.sites[i % 4], STRATA[i % 2]).code, db.sites[i % 4]) for i in range(80)]
    keys = {code: f"crash-key-{code}" for code, _ in jobs}
    port = _port()
    server = _serve(database_url, port)
    base = f"http://127.0.0.1:{port}"
    tokens = {site: httpx.post(f"{base}/api/auth/login", json={"username": f"inv-{site}",
                                                                "password": PASSWORD}).json()["token"]
              for site in db.sites}
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()

    def client(share: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for code, site in share:
                try:
                    r = http.post(f"/api/subjects/{code}/randomise", json={"password": PASSWORD},
                                  headers={"Authorization": f"Bearer {tokens[site]}",
                                           "Idempotency-Key": keys[code]})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        acknowledged[code] = r.json()["sequence"]

    threads = [threading.Thread(target=client, args=(jobs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    while len(acknowledged) < 15:
        time.sleep(0.005)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    for t in threads:
        t.join(timeout=60)
    with db.read() as session:
        stored = dict(session.execute(select(Allocation.idempotency_key, Allocation.sequence)).all())
        assert all(stored[keys[c]] == seq for c, seq in acknowledged.items())
        count = len(stored)
        assert sorted(stored.values()) == list(range(1, count + 1))
        assert count < len(jobs)  # the burst was interrupted
        for (label,) in session.execute(select(ListSlot.stratum).distinct()):
            used = session.scalars(select(ListSlot.position).where(
                ListSlot.stratum == label, ListSlot.allocation_id.is_not(None)).order_by(ListSlot.position)).all()
            assert used == list(range(1, len(used) + 1))
        assert audit.verify(session).ok
        sealing.verify(session, db.trial_id)
    server = _serve(database_url, port)  # restart: verifies the list at start
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            for code, site in jobs:  # retry everything with the same keys
                r = http.post(f"/api/subjects/{code}/randomise", json={"password": PASSWORD},
                              headers={"Authorization": f"Bearer {tokens[site]}",
                                       "Idempotency-Key": keys[code]})
                assert r.status_code == 200, r.text
                if code in acknowledged:
                    assert r.json()["sequence"] == acknowledged[code]
    finally:
        server.terminate()
        server.wait(timeout=30)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Allocation)) == len(jobs)
        assert audit.verify(session).ok
    db.dispose()
