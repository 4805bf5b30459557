"""Go-live, the sealed list and its verification, and the reads of the sealed material.

Go-live seals the randomisation: a seed from the operating system's CSPRNG
(:func:`secrets.randbits`) goes into its own table, and for block methods the stratified
list is generated in the platform with :func:`oncotrial.randomise.generate_list` (the list's
SHA-256 covers the seed, the configuration and every row). Minimisation and simple
randomisation have no list; their :class:`~oncotrial.randomise.AllocationState` is stored
and replayable. The go-live audit record commits the list's, the slots' and the
protocol's SHA-256: an edit of the list, the slots or the protocol text — even one that also
rewrites the recorded hash on its row — no longer matches the hash-chained audit trail, and
:func:`verify` refuses to randomise.

The list, the seed, the block sizes and the state are readable by the unblinded
statistician only, and each read is audited.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Row, insert, select
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import check_seed
from oncotrial.protocol import Protocol
from oncotrial.randomise import (
    ALGORITHM_VERSION,
    AllocationState,
    generate_list,
    minimisation,
    replay_state,
    simple,
)
from oncotrial.randomise.allocation import seed_fingerprint
from oncotrial.randomise.strata import Design
from oncotrial.server.db.models import (
    Allocation,
    AllocationStateRow,
    AuditRecord,
    ListSlot,
    RandomisationList,
    SealedSeed,
    Subject,
    Trial,
)
from oncotrial.server.db.session import is_postgres
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, masking
from oncotrial.server.services.allocation_store import compact_state_json, stored_state
from oncotrial.server.services.subjects import protocol_sha256, trial_protocol

__all__ = ["GoLive", "ListView", "SeedView", "StateView", "check_protocol", "commitments",
           "go_live", "sealed_list", "sealed_seed", "state", "trial_row", "verify"]

#: the "list" of a method without one: its hash commits the method and the seed
_NO_LIST = "oncotrial.server.no-list/1"

_COMMITMENTS: dict[int, dict[str, str]] = {}
_COMMITMENTS_LOCK = threading.Lock()


@dataclass(frozen=True, repr=False)
class GoLive(Result):
    """What go-live sealed: the method, list size and the SHA-256 commitments (no seed)."""

    trial: str
    method: str
    strata: int
    per_stratum: int | None
    slots: int
    list_sha256: str
    protocol_sha256: str
    live_at: datetime


@dataclass(frozen=True, repr=False)
class ListView(Result):
    """The sealed list (unblinded statistician only): one row per slot."""

    trial: str
    method: str
    per_stratum: int | None
    algorithm_version: str
    sha256: str
    block_sizes: tuple[int, ...]
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True, repr=False)
class SeedView(Result):
    """The sealed seed (unblinded statistician only)."""

    trial: str
    seed: int
    created_at: datetime


@dataclass(frozen=True, repr=False)
class StateView(Result):
    """The stored allocation state (unblinded statistician only) and its replay check."""

    trial: str
    version: int
    state: dict[str, Any]
    replay_ok: bool
    replay_problems: tuple[str, ...]



# ----------------------------------------------------------------------------- helpers

def trial_row(session: Session, trial_id: int) -> Trial:
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise InputError(f"trial: no trial with id {trial_id}", field="trial")
    return trial


def _slots_sha256(rows: list[tuple[str, int, int, int, str, str | None]]) -> str:
    """SHA-256 of the stored slots (stratum, position, block, block size, arm, code)."""
    digest = hashlib.sha256(b"oncotrial.server.slots/1\n")
    for row in sorted(rows, key=lambda r: (r[0], r[1])):
        digest.update(json.dumps(list(row), separators=(",", ":")).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _no_list_sha256(method: str, seed: int) -> str:
    return hashlib.sha256(f"{_NO_LIST}\nmethod={method}\nseed={seed}\n".encode()).hexdigest()



def commitments(session: Session, trial_id: int, *, fresh: bool) -> dict[str, str]:
    """The SHA-256 values the go-live audit record committed (cached: audit rows are
    append-only and hash-chained; :func:`verify` re-reads them)."""
    with _COMMITMENTS_LOCK:
        cached = _COMMITMENTS.get(trial_id)
    if cached is not None and not fresh:
        return cached
    record = session.scalars(select(AuditRecord).where(
        AuditRecord.trial_id == trial_id, AuditRecord.action == "trial.go_live").order_by(
        AuditRecord.seq)).first()
    if record is None:
        raise AllocationError("the trial's go-live record is missing from the audit trail; "
                              "randomisation is refused")
    values = {c["field"]: c["new"] for c in json.loads(record.changes_json)}
    with _COMMITMENTS_LOCK:
        _COMMITMENTS[trial_id] = values
    return values


def check_protocol(trial: Trial | Row[*tuple[Any, ...]], committed: Mapping[str, str] | None) -> None:
    actual = protocol_sha256(trial.protocol_yaml)
    if actual != trial.protocol_sha256 or (committed is not None
                                           and committed.get("protocol_sha256") != actual):
        raise AllocationError(f"the protocol text of trial {trial.code} does not match its "
                              f"recorded SHA-256; randomisation is refused until it is restored")



# ----------------------------------------------------------------------------- go-live

def _per_stratum(protocol: Protocol, per_stratum: int | None) -> int:
    if per_stratum is None:
        from oncotrial.design import protocol_design

        return int(np.ceil(protocol_design(protocol).enrolled))
    if isinstance(per_stratum, bool) or not isinstance(per_stratum, int) or per_stratum < 1:
        raise InputError(f"per_stratum: expected a positive whole number, got {per_stratum!r}",
                         field="per_stratum")
    return per_stratum


def go_live(session: Session, principal: Principal, *, per_stratum: int | None = None,
            seed: int | None = None, request_id: str | None = None) -> GoLive:
    """Seal the randomisation and open the trial (admin; inside a write transaction).

    ``per_stratum`` (block methods): the list length of every stratum, by default the
    design's sample size, so that no stratum can run out before the trial has recruited.
    ``seed`` is for tests only; production seeds come from :func:`secrets.randbits`.
    """
    require(principal, "trial.go_live")
    query = select(Trial).where(Trial.id == principal.trial_id)
    trial = session.scalars(query.with_for_update() if is_postgres(session) else query).one_or_none()
    if trial is None:
        raise InputError(f"trial: no trial with id {principal.trial_id}", field="trial")
    if trial.status == "live":
        raise AllocationError(f"trial {trial.code} is already live; its list is sealed")
    check_protocol(trial, None)
    protocol = trial_protocol(trial)
    design = Design.from_protocol(protocol)
    method = protocol.randomisation.method
    if method != "blocks" and per_stratum is not None:
        raise InputError(f"per_stratum: only used by method 'blocks' (a sealed list), not "
                         f"{method!r}", field="per_stratum")
    seed = secrets.randbits(62) if seed is None else check_seed(seed)
    now = datetime.now(UTC)
    session.add(SealedSeed(trial_id=trial.id, seed=seed, created_at=now))
    codes = protocol.randomisation.blinding.codes if protocol.randomisation.blinded else None
    slot_rows: list[tuple[str, int, int, int, str, str | None]] = []
    n = None
    if method == "blocks":
        n = _per_stratum(protocol, per_stratum)
        sealed = generate_list(protocol, seed, n)
        frame = sealed.to_frame()
        arms = frame["arm"].astype(str).tolist()
        letters = masking.arm_letters(design, seed) if codes == "arm_letter" else {}
        kits = masking.new_kits(len(frame), set()) if codes == "kit" else [None] * len(frame)
        slot_rows = [(str(s), int(p), int(b), int(bs), a, letters[a] if letters else k)
                     for s, p, b, bs, a, k in zip(frame["stratum"].astype(str), frame["sequence"],
                                                  frame["block"], frame["block_size"], arms, kits,
                                                  strict=True)]
        list_sha, version = sealed.sha256, ALGORITHM_VERSION
    else:
        list_sha = _no_list_sha256(method, seed)
        version = (minimisation.ALGORITHM_VERSION if method == "minimisation"
                   else simple.ALGORITHM_VERSION)
    lst = RandomisationList(trial_id=trial.id, method=method, per_stratum=n,
                            algorithm_version=version, sha256=list_sha, created_at=now)
    session.add(lst)
    session.flush()
    if slot_rows:
        session.execute(insert(ListSlot), [
            {"list_id": lst.id, "stratum": s, "position": p, "block": b, "block_size": bs, "arm": a,
             "masked_code": c} for s, p, b, bs, a, c in slot_rows])
    session.add(AllocationStateRow(trial_id=trial.id, version=0,
                                   state_json=compact_state_json(AllocationState.initial(protocol))))
    trial.status = "live"
    slots_sha = _slots_sha256(slot_rows)
    audit.append(session, action="trial.go_live", entity="trial", entity_id=trial.code,
                 changes=[("status", "setup", "live"), ("method", None, method),
                          ("per_stratum", None, None if n is None else str(n)),
                          ("list_sha256", None, list_sha), ("slots_sha256", None, slots_sha),
                          ("protocol_sha256", None, trial.protocol_sha256)],
                 principal=principal, trial_id=trial.id, request_id=request_id)
    with _COMMITMENTS_LOCK:
        _COMMITMENTS.pop(trial.id, None)
    return GoLive(trial.code, method, len(design.stratum_labels), n, len(slot_rows), list_sha,
                  trial.protocol_sha256, now)


# ----------------------------------------------------------------------------- verification

def verify(session: Session, trial_id: int) -> None:
    """Check the sealed randomisation of a trial in full; raise
    :class:`~oncotrial.core.errors.AllocationError` naming what no longer matches.

    Run at every start of the service and by the ``verify`` endpoint: the protocol text
    against its SHA-256 and the go-live commitment; the list regenerated from the sealed
    seed against the recorded SHA-256 (so the seed is checked too); every stored slot
    against the regenerated list and the committed slot SHA-256; the state's seed
    fingerprint.
    """
    trial = trial_row(session, trial_id)
    if trial.status != "live":
        check_protocol(trial, None)
        return
    committed = commitments(session, trial_id, fresh=True)
    check_protocol(trial, committed)
    protocol = trial_protocol(trial)
    lst = session.scalars(select(RandomisationList).where(RandomisationList.trial_id == trial_id)).one()
    seed_row = session.get(SealedSeed, trial_id)
    if seed_row is None:
        raise AllocationError(f"trial {trial.code}: the sealed seed is missing")
    if lst.sha256 != committed.get("list_sha256"):
        raise AllocationError(f"trial {trial.code}: the recorded list SHA-256 differs from the "
                              f"one committed at go-live")
    rows: list[tuple[str, int, int, int, str, str | None]] = [
        (r[0], r[1], r[2], r[3], r[4], r[5]) for r in session.execute(select(
            ListSlot.stratum, ListSlot.position, ListSlot.block, ListSlot.block_size, ListSlot.arm,
            ListSlot.masked_code).where(ListSlot.list_id == lst.id)).all()]
    if lst.method == "blocks":
        assert lst.per_stratum is not None
        sealed = generate_list(protocol, int(seed_row.seed), lst.per_stratum)
        if sealed.sha256 != lst.sha256:
            raise AllocationError(f"trial {trial.code}: the list regenerated from the sealed seed "
                                  f"does not match the recorded SHA-256 (seed or protocol changed)")
        frame = sealed.to_frame()
        expected = {(str(s), int(p)): (int(b), int(bs), str(a)) for s, p, b, bs, a in zip(
            frame["stratum"].astype(str), frame["sequence"], frame["block"], frame["block_size"],
            frame["arm"].astype(str), strict=True)}
        stored = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
        if stored != expected:
            bad = sorted(k for k in set(stored) | set(expected) if stored.get(k) != expected.get(k))
            where = ", ".join(f"{s} position {p}" for s, p in bad[:3])
            raise AllocationError(f"trial {trial.code}: the stored list differs from the sealed "
                                  f"list at {where}; randomisation is refused")
    elif lst.sha256 != _no_list_sha256(lst.method, int(seed_row.seed)):
        raise AllocationError(f"trial {trial.code}: the sealed seed does not match the recorded "
                              f"SHA-256")
    if _slots_sha256(rows) != committed.get("slots_sha256"):
        raise AllocationError(f"trial {trial.code}: the stored slots (or their codes) differ "
                              f"from those sealed at go-live")
    state_row = session.get(AllocationStateRow, trial_id)
    if state_row is None:
        raise AllocationError(f"trial {trial.code}: the allocation state is missing")
    current = AllocationState.from_dict(json.loads(state_row.state_json))
    if current.seed_check is not None and current.seed_check != seed_fingerprint(int(seed_row.seed)):
        raise AllocationError(f"trial {trial.code}: the allocation state was made with another seed")


# ----------------------------------------------------------------------------- sealed reads

def _sealed_read(session: Session, principal: Principal, action: str, what: str,
                 request_id: str | None) -> Trial:
    require(principal, action)
    trial = trial_row(session, principal.trial_id)
    audit.append(session, action=action, entity="trial", entity_id=trial.code,
                 changes=[(what, None, "read")], principal=principal, trial_id=trial.id,
                 request_id=request_id)
    return trial


def sealed_list(session: Session, principal: Principal, request_id: str | None = None) -> ListView:
    """The sealed list with the use of each slot (unblinded statistician; the read is audited,
    so call it inside a write transaction)."""
    trial = _sealed_read(session, principal, "list.read", "list", request_id)
    lst = session.scalars(select(RandomisationList).where(RandomisationList.trial_id == trial.id)).one_or_none()
    if lst is None:
        raise AllocationError(f"trial {trial.code} is not live yet: there is no list")
    rows = session.execute(select(ListSlot, Subject.code).outerjoin(
        Allocation, ListSlot.allocation_id == Allocation.id).outerjoin(
        Subject, Allocation.subject_id == Subject.id).where(ListSlot.list_id == lst.id).order_by(
        ListSlot.id)).all()
    sizes = tuple(trial_protocol(trial).randomisation.block_sizes or ())
    return ListView(trial.code, lst.method, lst.per_stratum, lst.algorithm_version, lst.sha256, sizes,
                    tuple({"stratum": s.stratum, "position": s.position, "block": s.block,
                           "block_size": s.block_size, "arm": s.arm, "code": s.masked_code,
                           "subject": code} for s, code in rows))


def sealed_seed(session: Session, principal: Principal, request_id: str | None = None) -> SeedView:
    """The sealed seed (unblinded statistician; audited)."""
    trial = _sealed_read(session, principal, "seed.read", "seed", request_id)
    row = session.get(SealedSeed, trial.id)
    if row is None:
        raise AllocationError(f"trial {trial.code} is not live yet: there is no seed")
    return SeedView(trial.code, int(row.seed), row.created_at)


def state(session: Session, principal: Principal, request_id: str | None = None) -> StateView:
    """The stored allocation state and a replay of every allocation from the sealed seed
    (unblinded statistician; audited)."""
    trial = _sealed_read(session, principal, "state.read", "state", request_id)
    row = session.get(AllocationStateRow, trial.id)
    seed_row = session.get(SealedSeed, trial.id)
    if row is None or seed_row is None:
        raise AllocationError(f"trial {trial.code} is not live yet: there is no state")
    lst = session.scalars(select(RandomisationList).where(RandomisationList.trial_id == trial.id)).one()
    current = stored_state(session, trial.id)
    result = replay_state(current, trial_protocol(trial), int(seed_row.seed),
                          per_stratum=lst.per_stratum if lst.method == "blocks" else None)
    return StateView(trial.code, row.version, current.to_dict(), result.ok, result.problems)
