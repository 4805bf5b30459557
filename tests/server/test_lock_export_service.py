"""Database lock at a cut-off (frozen records, 409 until an admin unlocks with a reason,
the export's SHA-256 in the audit trail) and the role-checked SDTM export (arms for the
unblinded statistician only in a blinded trial)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from capture_fixtures import count_rows, make_world
from randomisation_fixtures import BLINDED
from sqlalchemy import select

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.protocol import Protocol
from oncotrial.server.db.models import AuditRecord
from oncotrial.server.services import exports, locking


def _fill(world):
    for site in ("S01", "S02"):
        subject = world.subjects[site][0]
        world.save(subject, "baseline")
        world.save(subject, "tumour_assessment")
        world.save(subject, "cycle")
        world.save(subject, "follow_up")  # 42 days after randomisation


@pytest.fixture
def world(database, monkeypatch):
    w = make_world(database.url, monkeypatch, protocol=BLINDED)
    _fill(w)
    yield w
    w.db.dispose()


def _lock(world, role="dm", cutoff=None):
    with world.db.write() as session:
        return locking.lock(session, world.principal(role),
                            cutoff or world.start + dt.timedelta(days=10))


def test_lock_freezes_records_up_to_the_cutoff_until_unlocked(world):
    subject = world.subjects["S01"][0]
    view = _lock(world)
    assert view.status == "locked" and view.records == 6  # baseline, assessment, cycle x 2
    before = count_rows(world.db)
    with pytest.raises(locking.RecordLocked, match="locked"):
        world.edit(subject, "cycle", "combination:1", "dose typo", oxaliplatin_dose=100.0,
                   oxaliplatin_reduced=True, oxaliplatin_reason="neuropathy")
    with pytest.raises(locking.RecordLocked, match="locked period"):
        world.save(subject, "adverse_event")  # dated in the locked period
    assert count_rows(world.db) == before
    # after the cut-off, data are still entered and edited
    world.edit(subject, "follow_up", None, "last contact later", date=(
        world.start + dt.timedelta(days=60)).isoformat())
    with pytest.raises(locking.RecordLocked, match="already locked"):
        _lock(world)
    with world.db.write() as session, pytest.raises(PermissionDenied):
        locking.unlock(session, world.principal("dm"), reason="typo")
    with world.db.write() as session, pytest.raises(InputError) as err:
        locking.unlock(session, world.principal("admin"), reason=" ")
    assert err.value.field == "reason"
    with world.db.write() as session:
        unlocked = locking.unlock(session, world.principal("admin"),
                                  reason="dose typo found after lock")
    assert unlocked.status == "unlocked" and unlocked.unlock_reason == "dose typo found after lock"
    world.edit(subject, "cycle", "combination:1", "dose typo", oxaliplatin_dose=100.0,
                   oxaliplatin_reduced=True, oxaliplatin_reason="neuropathy")
    with world.db.read() as session:
        actions = [r.action for r in session.scalars(select(AuditRecord).where(
            AuditRecord.entity == "database").order_by(AuditRecord.seq))]
        assert actions == ["database.lock", "database.unlock"]
        assert [v.status for v in locking.lock_status(session, world.principal("monitor"))] == \
            ["unlocked"]


def test_lock_records_the_export_sha256(world):
    cutoff = world.start + dt.timedelta(days=10)
    view = _lock(world, cutoff=cutoff)
    with world.db.write() as session:
        again = exports.export_sdtm(session, world.principal("stat"), cutoff=cutoff)
    assert again.sha256 == view.export_sha256 and not again.masked
    with world.db.read() as session:
        record = session.scalars(select(AuditRecord).where(
            AuditRecord.action == "database.lock")).one()
    assert {"field": "export_sha256", "old": None, "new": view.export_sha256} in json.loads(
        record.changes_json)
    with world.db.write() as session, pytest.raises(PermissionDenied):
        locking.lock(session, world.principal("monitor"), cutoff)
    with world.db.write() as session, pytest.raises(InputError) as err:
        locking.lock(session, world.principal("admin"), "31/12/2026")
    assert err.value.field == "cutoff"


def test_blinded_roles_get_a_masked_export(world):
    protocol = Protocol.load(BLINDED)
    arm_strings = [a.code for a in protocol.arms] + [a.label for a in protocol.arms]
    with world.db.write() as session:
        full = exports.export_sdtm(session, world.principal("stat"))
    dm = full.content("dm.csv").decode()
    assert {"ARM", "ARMCD", "ACTARM"} <= set(dm.splitlines()[0].split(","))
    assert any(code in dm for code in arm_strings)
    for role in ("monitor", "dm", "admin"):
        with world.db.write() as session:
            masked = exports.export_sdtm(session, world.principal(role))
        assert masked.masked and masked.sha256 != full.sha256
        text = "\n".join(masked.content(f.name).decode() for f in masked.files)
        header = masked.content("dm.csv").decode().splitlines()[0].split(",")
        assert not {"ARM", "ARMCD", "ACTARM"} & set(header)
        assert not [s for s in arm_strings if s in text], role
        assert "anti_pd1" not in text  # a treatment of one arm only names the arm
    with world.db.write() as session, pytest.raises(PermissionDenied):
        exports.export_sdtm(session, world.inv("S01"))
    with world.db.read() as session:
        exported = session.scalars(select(AuditRecord).where(
            AuditRecord.action == "export.sdtm")).all()
    assert len(exported) == 4


def test_export_files_zip_and_write(world, tmp_path):
    with world.db.write() as session:
        export = exports.export_sdtm(session, world.principal("stat"))
    names = [f.name for f in export.files]
    assert names == sorted(names) and "dm.csv" in names
    paths = export.write(tmp_path / "out")
    assert sorted(p.name for p in paths) == names
    assert export.zip_bytes() == export.zip_bytes()
    with world.db.write() as session:
        assert exports.export_sdtm(session, world.principal("stat")).sha256 == export.sha256
