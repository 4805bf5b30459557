"""Concurrent randomisation from separate processes (multiprocessing ``spawn``, one engine
per process, a barrier so that they fire together), on SQLite and PostgreSQL.

* 50 subjects of one stratum from 20 sites -> 50 allocations, slots 1..50 of the stratum
  used once each in list order, the arms the sealed list's prefix, 50 audit records;
* one subject submitted concurrently (same key and different keys) -> one allocation;
* k slots left, more concurrent requests -> exactly k succeed, the rest refused;
* minimisation under contention -> the stored state replays from the sealed seed.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import uuid
from collections.abc import Sequence

import pytest
from randomisation_fixtures import build_trial, worker_randomise
from sqlalchemy import func, select

from oncotrial.protocol import Protocol
from oncotrial.randomise import AllocationState, generate_list, replay_state
from oncotrial.server.db.models import Allocation, AuditRecord, ListSlot, SealedSeed, Subject
from oncotrial.server.services import audit, sealing

pytestmark = pytest.mark.slow

SEED = 777
LABEL = "origin=uterine|stage=metastatic"
UT_MET = {"origin": "uterine", "stage": "metastatic"}


def _run(url: str, protocol: str, batches: Sequence[list[tuple[str, str, str]]]) -> list[tuple[str, str, str]]:
    """One process per batch, all released by one barrier; the outcomes of every job."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(batches))
    results = ctx.Queue()
    procs = [ctx.Process(target=worker_randomise, args=(url, protocol, jobs, barrier, results))
             for jobs in batches]
    for p in procs:
        p.start()
    n = sum(len(b) for b in batches)
    out = []
    try:
        for _ in range(n):
            out.append(results.get(timeout=240))
    except queue.Empty:
        pytest.fail(f"only {len(out)} of {n} randomisations reported")
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def _arms(per_stratum: int) -> list[str]:
    frame = generate_list(Protocol.load("lms04"), SEED, per_stratum).to_frame()
    return frame.loc[frame["stratum"].astype(str) == LABEL, "arm"].astype(str).tolist()


def test_fifty_simultaneous_randomisations_in_one_stratum(database_url) -> None:
    db = build_trial(database_url, "lms04", n_sites=20)
    db.go_live(per_stratum=60, seed=SEED)
    jobs = [(db.register(db.sites[i % 20], UT_MET).code, db.sites[i % 20], str(uuid.uuid4()))
            for i in range(50)]
    outcomes = _run(database_url, "lms04", [jobs[i::20] for i in range(20)])
    assert [o[1] for o in outcomes] == ["ok"] * 50
    with db.read() as session:
        rows = session.execute(select(ListSlot.position, ListSlot.arm, Allocation.sequence, Allocation.arm)
                               .join(Allocation, ListSlot.allocation_id == Allocation.id)
                               .where(ListSlot.stratum == LABEL).order_by(ListSlot.position)).all()
        assert [r[0] for r in rows] == list(range(1, 51))  # once each, no gap
        assert [r[2] for r in rows] == list(range(1, 51))  # in list order
        assert [r[1] for r in rows] == [r[3] for r in rows] == _arms(60)[:50]
        assert session.scalar(select(func.count()).select_from(Allocation)) == 50
        assert session.scalar(select(func.count(func.distinct(Allocation.subject_id)))) == 50
        assert session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "randomise")) == 50
        assert set(session.scalars(select(Subject.status))) == {"randomised"}
        assert audit.verify(session).ok
        sealing.verify(session, db.trial_id)
    db.dispose()


def test_concurrent_double_submit_gives_one_allocation(database_url) -> None:
    db = build_trial(database_url, "lms04", n_sites=2)
    db.go_live(per_stratum=10, seed=SEED)
    code = db.register("S01", UT_MET).code
    batches = [[(code, "S01", "same-key")] for _ in range(4)] + \
              [[(code, "S01", f"other-{i}")] for i in range(4)]
    outcomes = _run(database_url, "lms04", batches)
    ok = [o for o in outcomes if o[1] == "ok"]
    refused = [o for o in outcomes if o[1] == "refused"]
    assert len(ok) + len(refused) == 8
    assert len({o[2] for o in ok}) == 1  # every success is the one allocation
    assert all("already randomised" in o[2] for o in refused)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Allocation)) == 1
        assert session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "randomise")) == 1
        assert session.scalar(select(func.count()).select_from(ListSlot).where(
            ListSlot.allocation_id.is_not(None))) == 1
        assert audit.verify(session).ok
    db.dispose()


def test_exhaustion_under_contention(database_url) -> None:
    db = build_trial(database_url, "lms04", n_sites=10)
    db.go_live(per_stratum=12, seed=SEED)
    for i in range(8):  # 4 slots left
        db.randomise(db.register(db.sites[i % 10], UT_MET).code, db.sites[i % 10])
    jobs = [(db.register(db.sites[i % 10], UT_MET).code, db.sites[i % 10], str(uuid.uuid4()))
            for i in range(10)]
    outcomes = _run(database_url, "lms04", [[j] for j in jobs])
    assert sorted(o[1] for o in outcomes) == ["ok"] * 4 + ["refused"] * 6
    assert all("exhausted" in o[2] for o in outcomes if o[1] == "refused")
    with db.read() as session:
        positions = session.scalars(select(ListSlot.position).where(
            ListSlot.stratum == LABEL, ListSlot.allocation_id.is_not(None)).order_by(ListSlot.position)).all()
        assert positions == list(range(1, 13))
        assert session.scalar(select(func.count()).select_from(Allocation)) == 12
        refused = session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "randomise.refused"))
        assert refused == 6
        assert audit.verify(session).ok
    db.dispose()


def test_minimisation_under_contention_replays(database_url) -> None:
    db = build_trial(database_url, "gastric_example", n_sites=10)
    db.go_live(seed=SEED)
    levels = [("asia", 0, 1), ("asia", 1, 3), ("rest_of_world", 1, 2), ("rest_of_world", 0, 3),
              ("asia", 1, 2)]
    jobs = []
    for i in range(30):
        region, ecog, cps = levels[i % 5]
        site = db.sites[i % 10]
        code = db.register(site, {"region": region, "ecog": ecog, "pd_l1_cps_class": cps}).code
        jobs.append((code, site, str(uuid.uuid4())))
    outcomes = _run(database_url, "gastric", [jobs[i::10] for i in range(10)])
    assert [o[1] for o in outcomes] == ["ok"] * 30
    with db.read() as session:
        seed = session.get(SealedSeed, db.trial_id).seed
        allocations = session.execute(select(Subject.code, Allocation.arm, Allocation.sequence).join(
            Subject, Allocation.subject_id == Subject.id).order_by(Allocation.sequence)).all()
    with db.write() as session:
        view = sealing.state(session, db.principal("stat"))
    state = AllocationState.from_dict(view.state)
    assert replay_state(state, Protocol.load("gastric_example"), seed).ok
    assert [(s, a) for s, a, _ in allocations] == [(r["subject"], r["arm"]) for r in view.state["allocations"]]
    assert [q for _, _, q in allocations] == list(range(1, 31))
    db.dispose()
