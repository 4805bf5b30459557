"""A randomising process killed with SIGKILL in the middle of a burst: every acknowledged
allocation is in the database, no slot is used twice or skipped, the state still replays,
the audit chain and the sealed list verify, and randomisation carries on after the crash."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import signal
import time

import pytest
from randomisation_fixtures import build_trial, worker_loop
from sqlalchemy import func, select

from oncotrial.protocol import Protocol
from oncotrial.randomise import replay_state
from oncotrial.server.db.models import Allocation, ListSlot, SealedSeed, Subject
from oncotrial.server.services import allocation_store, audit, sealing

pytestmark = pytest.mark.slow

STRATA = [{"origin": o, "stage": s} for o, s in itertools.product(("uterine", "soft_tissue"),
                                                                 ("locally_advanced", "metastatic"))]


@pytest.mark.parametrize("kill_after", [7, 23])
def test_sigkill_mid_burst_loses_nothing_acknowledged(database_url, kill_after: int) -> None:
    db = build_trial(database_url, "lms04", n_sites=4)
    db.go_live(per_stratum=80, seed=99)
    jobs = []
    for i in range(120):
        site = db.sites[i % 4]
        jobs.append((db.register(site, STRATA[(i * 7) % 4]).code, site))
    ctx = mp.get_context("spawn")
    done = ctx.Queue()
    proc = ctx.Process(target=worker_loop, args=(database_url, "lms04", jobs, done))
    proc.start()
    acknowledged = []
    while len(acknowledged) < kill_after:
        subject, outcome, detail = done.get(timeout=120)
        assert outcome == "ok", detail
        acknowledged.append(subject)
    time.sleep(0.001 * (kill_after % 5))  # land somewhere inside a later allocation
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL
    with db.read() as session:
        randomised = set(session.scalars(select(Subject.code).join(
            Allocation, Allocation.subject_id == Subject.id)))
        assert set(acknowledged) <= randomised
        assert len(randomised) <= len(acknowledged) + 2
        for label, in session.execute(select(ListSlot.stratum).distinct()):
            used = session.scalars(select(ListSlot.position).where(
                ListSlot.stratum == label, ListSlot.allocation_id.is_not(None)).order_by(ListSlot.position)).all()
            assert used == list(range(1, len(used) + 1)), label
        count = session.scalar(select(func.count()).select_from(Allocation))
        assert session.scalars(select(Allocation.sequence).order_by(Allocation.sequence)).all() == \
            list(range(1, count + 1))
        state = allocation_store.stored_state(session, db.trial_id)
        assert state.counter == count == len(state.allocations)
        seed = session.get(SealedSeed, db.trial_id).seed
        assert replay_state(state, Protocol.load("lms04"), seed, per_stratum=80).ok
        assert audit.verify(session).ok
        sealing.verify(session, db.trial_id)
    # the service carries on where it stopped
    remaining = [(s, site) for s, site in jobs if s not in randomised]
    view = db.randomise(*remaining[0])
    assert view.sequence == count + 1
    db.dispose()
