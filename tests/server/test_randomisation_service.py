"""The randomisation service: go-live and the sealed list, allocation, idempotency, refusals,
tamper detection, masking and corrections (on every database of ``database_url``)."""

from __future__ import annotations

import json

import pytest
from randomisation_fixtures import BLINDED, PASSWORD, build_trial
from sqlalchemy import select, text, update

from oncotrial.core.errors import AllocationError, InputError, PermissionDenied
from oncotrial.protocol import Protocol
from oncotrial.randomise import AllocationState, generate_list, replay_state
from oncotrial.server.db.models import (
    Allocation,
    AuditRecord,
    ListSlot,
    Notification,
    SealedSeed,
    Subject,
    Trial,
)
from oncotrial.server.services import audit, corrections, randomisation, sealing

UT_MET = {"origin": "uterine", "stage": "metastatic"}
SEED = 20261203


@pytest.fixture
def lms(database_url):
    db = build_trial(database_url, "lms04", n_sites=3)
    yield db
    db.dispose()


@pytest.fixture
def blinded(database_url):
    db = build_trial(database_url, BLINDED, n_sites=2)
    yield db
    db.dispose()


def _list_arms(protocol: str, per_stratum: int, label: str, seed: int = SEED) -> list[str]:
    frame = generate_list(Protocol.load(protocol), seed, per_stratum).to_frame()
    return frame.loc[frame["stratum"].astype(str) == label, "arm"].astype(str).tolist()


# ----------------------------------------------------------------------------- go-live

def test_go_live_seals_list_seed_and_state(lms) -> None:
    live = lms.go_live(per_stratum=12, seed=SEED)
    assert live.method == "blocks" and live.strata == 4 and live.slots == 48
    assert live.list_sha256 == generate_list(Protocol.load("lms04"), SEED, 12).sha256
    assert "seed" not in live.to_dict()
    with lms.read() as session:
        assert session.get(SealedSeed, lms.trial_id).seed == SEED
        assert session.scalar(select(Trial.status)) == "live"
        sealing.verify(session, lms.trial_id)
        go = session.scalars(select(AuditRecord).where(AuditRecord.action == "trial.go_live")).one()
        assert {c["field"] for c in json.loads(go.changes_json)} >= {"list_sha256", "slots_sha256",
                                                                      "protocol_sha256"}


def test_go_live_seed_comes_from_the_csprng(database_url) -> None:
    db = build_trial(database_url, "lms04")
    with db.write() as session:
        sealing.go_live(session, db.principal("admin"), per_stratum=4)
    with db.read() as session:
        seed = session.get(SealedSeed, db.trial_id).seed
    db.dispose()
    assert 0 <= seed < 2 ** 62 and seed != SEED


def test_go_live_default_list_length_is_the_design_sample_size(lms) -> None:
    from oncotrial.design import protocol_design

    live = lms.go_live()
    assert live.per_stratum == int(-(-protocol_design(Protocol.load("lms04")).enrolled // 1))


def test_go_live_twice_and_by_non_admin_refused(lms) -> None:
    with pytest.raises(PermissionDenied), lms.write() as session:
        sealing.go_live(session, lms.investigator("S01"), per_stratum=4)
    lms.go_live(per_stratum=4)
    with pytest.raises(AllocationError, match="already live"), lms.write() as session:
        sealing.go_live(session, lms.principal("admin"), per_stratum=4)


def test_go_live_bad_per_stratum(lms) -> None:
    with pytest.raises(InputError) as info, lms.write() as session:
        sealing.go_live(session, lms.principal("admin"), per_stratum=0)
    assert info.value.field == "per_stratum"


def test_minimisation_has_no_list_and_per_stratum_is_refused(database_url) -> None:
    db = build_trial(database_url, "gastric_example")
    with pytest.raises(InputError) as info, db.write() as session:
        sealing.go_live(session, db.principal("admin"), per_stratum=5, seed=SEED)
    assert info.value.field == "per_stratum"
    live = db.go_live()
    assert live.method == "minimisation" and live.slots == 0 and live.per_stratum is None
    db.dispose()


# ----------------------------------------------------------------------------- allocate

def test_allocations_follow_the_sealed_list_and_are_audited(lms) -> None:
    lms.go_live(per_stratum=12)
    arms = []
    for i in range(8):
        site = lms.sites[i % 3]
        subject = lms.register(site, UT_MET)
        view = lms.randomise(subject.code, site)
        assert view.sequence == i + 1 and view.stratum == UT_MET and view.code is None
        arms.append(view.arm)
    label = "origin=uterine|stage=metastatic"
    assert arms == _list_arms("lms04", 12, label)[:8]
    with lms.read() as session:
        used = session.execute(select(ListSlot.position, Allocation.sequence).join(
            Allocation, ListSlot.allocation_id == Allocation.id).order_by(ListSlot.position)).all()
        assert [p for p, _ in used] == list(range(1, 9))
        assert session.scalar(select(Subject.status).where(Subject.code == "S01-001")) == "randomised"
        records = session.scalars(select(AuditRecord).where(AuditRecord.action == "randomise")).all()
        assert len(records) == 8
        assert audit.verify(session).ok


def test_same_idempotency_key_returns_the_original(lms) -> None:
    lms.go_live(per_stratum=6)
    subject = lms.register("S01", UT_MET)
    first = lms.randomise(subject.code, "S01", key="k-1")
    again = lms.randomise(subject.code, "S01", key="k-1")
    assert again.to_dict() == first.to_dict()
    with pytest.raises(AllocationError, match="already randomised"):
        lms.randomise(subject.code, "S01", key="k-2")
    other = lms.register("S01", UT_MET)
    with pytest.raises(InputError) as info:
        lms.randomise(other.code, "S01", key="k-1")
    assert info.value.field == "idempotency_key"
    with lms.read() as session:
        assert session.scalar(select(text("count(*)")).select_from(Allocation)) == 1
        refused = session.scalars(select(AuditRecord).where(AuditRecord.action == "randomise.refused")).all()
        assert len(refused) == 1 and refused[0].entity_id == subject.code


def test_ineligible_subject_is_refused_with_reasons(lms) -> None:
    lms.go_live(per_stratum=6)
    data = {"age": 15, "histology": "leiomyosarcoma", "expert_pathology_review": True,
            "origin": "uterine", "stage": "metastatic", "prior_chemotherapy": False,
            "measurable_lesions": 1, "ecog": 0, "adequate_organ_function": True,
            "other_cancer_in_remission_lt_3y": False, "cns_metastases": False}
    subject = lms.register("S01", UT_MET, eligibility=data)
    assert subject.status == "ineligible" and any("age" in r for r in subject.refusal_reasons)
    with pytest.raises(AllocationError, match="age"):
        lms.randomise(subject.code, "S01")
    with lms.read() as session:
        assert session.scalar(select(text("count(*)")).select_from(Allocation)) == 0
        assert session.scalars(select(AuditRecord.action).where(
            AuditRecord.entity_id == subject.code)).all()[-1] == "randomise.refused"


def test_exhausted_list_is_refused_and_notified(lms) -> None:
    lms.go_live(per_stratum=2)
    codes = [lms.register("S01", UT_MET).code for _ in range(3)]
    lms.randomise(codes[0], "S01")
    lms.randomise(codes[1], "S01")
    with pytest.raises(AllocationError, match="exhausted"):
        lms.randomise(codes[2], "S01")
    with lms.read() as session:
        notes = session.scalars(select(Notification)).all()
        assert [n.kind for n in notes] == ["list_exhausted"]
        assert "DOX" not in notes[0].message
    # another stratum still randomises
    other = lms.register("S01", {"origin": "soft_tissue", "stage": "metastatic"})
    assert lms.randomise(other.code, "S01").sequence == 3


def test_wrong_password_and_roles(lms) -> None:
    lms.go_live(per_stratum=4)
    subject = lms.register("S01", UT_MET)
    with pytest.raises(PermissionDenied), lms.write() as session:
        randomisation.randomise(session, lms.investigator("S01"), subject.code,
                                password="not the password", idempotency_key="x")
    for who in ("admin", "monitor", "dm", "stat"):
        with pytest.raises(PermissionDenied), lms.write() as session:
            randomisation.randomise(session, lms.principal(who), subject.code, password=PASSWORD,
                                    idempotency_key="x")
    from oncotrial.server.services.subjects import SubjectNotFound

    with pytest.raises(SubjectNotFound):
        lms.randomise(subject.code, "S02")
    with pytest.raises(SubjectNotFound):
        lms.randomise("S01-999", "S01")


def test_not_live_refused(lms) -> None:
    subject = lms.register("S01", UT_MET)
    with pytest.raises(AllocationError, match="not live"):
        lms.randomise(subject.code, "S01")


# ----------------------------------------------------------------------------- tampering

def test_edited_next_slot_refuses_to_randomise(lms) -> None:
    lms.go_live(per_stratum=6)
    label = "origin=uterine|stage=metastatic"
    first = _list_arms("lms04", 6, label)[0]
    other = "DOXTRAB" if first == "DOX" else "DOX"
    with lms.write() as session:
        session.execute(update(ListSlot).where(ListSlot.stratum == label, ListSlot.position == 1)
                        .values(arm=other))
    subject = lms.register("S01", UT_MET)
    with pytest.raises(AllocationError, match="sealed list"):
        lms.randomise(subject.code, "S01")
    with lms.read() as session:
        assert [n.kind for n in session.scalars(select(Notification))] == ["integrity"]
        assert session.scalar(select(text("count(*)")).select_from(Allocation)) == 0
    with lms.read() as session, pytest.raises(AllocationError, match="position 1"):
        sealing.verify(session, lms.trial_id)


def test_verify_detects_an_edit_anywhere_in_the_list(lms) -> None:
    lms.go_live(per_stratum=6)
    with lms.write() as session:
        session.execute(update(ListSlot).where(ListSlot.stratum == "origin=soft_tissue|stage=metastatic",
                                               ListSlot.position == 5).values(block_size=6))
    with lms.read() as session, pytest.raises(AllocationError, match="differs from the sealed"):
        sealing.verify(session, lms.trial_id)


def test_rehashed_list_and_seed_edits_are_caught(lms) -> None:
    lms.go_live(per_stratum=6)
    with lms.write() as session:
        session.execute(update(SealedSeed).values(seed=SEED + 1))
    with lms.read() as session, pytest.raises(AllocationError, match="seed"):
        sealing.verify(session, lms.trial_id)


@pytest.mark.parametrize("rehash", [False, True])
def test_edited_protocol_refuses_to_randomise(lms, rehash: bool) -> None:
    lms.go_live(per_stratum=6)
    subject = lms.register("S01", UT_MET)
    with lms.write() as session:
        trial = session.get(Trial, lms.trial_id)
        edited = trial.protocol_yaml.replace("block_sizes: [2, 4, 6]", "block_sizes: [2]")
        assert edited != trial.protocol_yaml
        values: dict = {"protocol_yaml": edited}
        if rehash:
            from oncotrial.server.services.subjects import protocol_sha256

            values["protocol_sha256"] = protocol_sha256(edited)
        session.execute(update(Trial).values(**values))
    with pytest.raises(AllocationError, match="protocol"):
        lms.randomise(subject.code, "S01")
    with lms.read() as session, pytest.raises(AllocationError, match="protocol"):
        sealing.verify(session, lms.trial_id)


# ----------------------------------------------------------------------------- replay

def test_stored_state_replays_every_allocation(database_url) -> None:
    db = build_trial(database_url, "gastric_example", n_sites=2)
    db.go_live(seed=SEED)
    levels = [("asia", 0, 1), ("rest_of_world", 1, 3), ("asia", 1, 2), ("rest_of_world", 0, 3)]
    views = []
    for i in range(16):
        region, ecog, cps = levels[i % 4 if i % 3 else (i + 1) % 4]
        factors = {"region": region, "ecog": ecog, "pd_l1_cps_class": cps}
        subject = db.register(db.sites[i % 2], factors)
        views.append(db.randomise(subject.code, db.sites[i % 2]))
    with db.write() as session:
        view = sealing.state(session, db.principal("stat"))
    assert view.replay_ok and view.replay_problems == ()
    state = AllocationState.from_dict(view.state)
    replay = replay_state(state, Protocol.load("gastric_example"), SEED)
    assert replay.ok
    assert [r["arm"] for r in view.state["allocations"]] == [v.arm for v in views]
    db.dispose()


# ----------------------------------------------------------------------------- masking

def test_blinded_views_mask_the_arm_for_every_role_but_the_statistician(blinded) -> None:
    blinded.go_live(per_stratum=9)
    factors = {"region": "asia", "ecog": 0, "pd_l1_cps_class": 2}
    subject = blinded.register("S01", factors)
    view = blinded.randomise(subject.code, "S01")
    assert view.arm is None and view.code is not None and len(view.code) == 8
    for who in ("admin", "monitor", "dm", "inv-S01"):
        with blinded.read() as session:
            rows = randomisation.list_allocations(session, blinded.principal(who))
        assert [r.arm for r in rows] == [None]
        text_ = json.dumps([r.to_dict() for r in rows])
        assert "CAPOX" not in text_
    with blinded.read() as session:
        rows = randomisation.list_allocations(session, blinded.principal("stat"))
    assert rows[0].arm in ("CAPOX", "CAPOXPD1") and rows[0].code == view.code
    with blinded.read() as session:
        assert randomisation.list_allocations(session, blinded.investigator("S02")) == []
        changes = " ".join(r.changes_json for r in session.scalars(select(AuditRecord)))
    assert "CAPOX" not in changes and view.code in changes


def test_view_keys_are_the_same_for_every_arm_and_role(blinded) -> None:
    blinded.go_live(per_stratum=9)
    for _ in range(6):
        subject = blinded.register("S01", {"region": "asia", "ecog": 0, "pd_l1_cps_class": 2})
        blinded.randomise(subject.code, "S01")
    shapes = set()
    for who in ("admin", "stat", "inv-S01"):
        with blinded.read() as session:
            for row in randomisation.list_allocations(session, blinded.principal(who)):
                shapes.add(tuple(row.to_dict()))
                assert row.code is None or len(row.code) == 8
    assert len(shapes) == 1


@pytest.mark.parametrize("reader", ["sealed_list", "sealed_seed", "state"])
def test_sealed_reads_are_for_the_unblinded_statistician_only(blinded, reader: str) -> None:
    blinded.go_live(per_stratum=9)
    for who in ("admin", "monitor", "dm", "inv-S01"):
        with pytest.raises(PermissionDenied), blinded.write() as session:
            getattr(sealing, reader)(session, blinded.principal(who))
    with blinded.write() as session:
        result = getattr(sealing, reader)(session, blinded.principal("stat"))
    assert result.to_dict()
    with blinded.read() as session:
        reads = session.scalars(select(AuditRecord).where(AuditRecord.action.like("%.read"))).all()
    assert len(reads) == 1 and reads[0].username == "stat"


def test_sealed_list_rows(blinded) -> None:
    blinded.go_live(per_stratum=9)
    subject = blinded.register("S01", {"region": "asia", "ecog": 1, "pd_l1_cps_class": 3})
    blinded.randomise(subject.code, "S01")
    with blinded.write() as session:
        listed = sealing.sealed_list(session, blinded.principal("stat"))
    assert len(listed.rows) == 12 * 9 and listed.block_sizes == (3, 6)
    used = [r for r in listed.rows if r["subject"]]
    assert len(used) == 1 and used[0]["position"] == 1
    codes = [r["code"] for r in listed.rows]
    assert len(set(codes)) == len(codes)


def test_open_label_shows_the_arm_but_never_the_list(lms) -> None:
    lms.go_live(per_stratum=4)
    subject = lms.register("S01", UT_MET)
    lms.randomise(subject.code, "S01")
    with lms.read() as session:
        rows = randomisation.list_allocations(session, lms.investigator("S01"))
    assert rows[0].arm in ("DOX", "DOXTRAB") and rows[0].code is None
    with pytest.raises(PermissionDenied), lms.write() as session:
        sealing.sealed_list(session, lms.principal("admin"))


# ----------------------------------------------------------------------------- corrections

def test_randomised_in_error_never_reuses_the_slot(lms) -> None:
    lms.go_live(per_stratum=6)
    first = lms.register("S01", UT_MET)
    lms.randomise(first.code, "S01")
    with pytest.raises(InputError) as info, lms.write() as session:
        corrections.correct(session, lms.principal("admin"), first.code, kind="randomised_in_error",
                              reason="  ", password=PASSWORD)
    assert info.value.field == "reason"
    with pytest.raises(PermissionDenied), lms.write() as session:
        corrections.correct(session, lms.investigator("S01"), first.code,
                              kind="randomised_in_error", reason="consent withdrawn", password=PASSWORD)
    with lms.write() as session:
        view = corrections.correct(session, lms.principal("admin"), first.code,
                                     kind="randomised_in_error", reason="randomised twice by mistake",
                                     password=PASSWORD)
    assert view.status == "in_error"
    second = lms.register("S01", UT_MET)
    assert lms.randomise(second.code, "S01").sequence == 2
    with lms.read() as session:
        positions = session.scalars(select(ListSlot.position).where(
            ListSlot.allocation_id.is_not(None)).order_by(ListSlot.position)).all()
        assert positions == [1, 2]
        record = session.scalars(select(AuditRecord).where(
            AuditRecord.action == "correct.randomised_in_error")).one()
        assert record.reason == "randomised twice by mistake"
    with pytest.raises(AllocationError), lms.write() as session:
        corrections.correct(session, lms.principal("admin"), first.code, kind="randomised_in_error",
                              reason="again", password=PASSWORD)


def test_wrong_stratum_is_recorded_and_the_allocation_kept(lms) -> None:
    lms.go_live(per_stratum=6)
    subject = lms.register("S01", UT_MET)
    before = lms.randomise(subject.code, "S01")
    with lms.write() as session:
        view = corrections.correct(session, lms.principal("admin"), subject.code, kind="wrong_stratum",
                                     reason="stage misread at entry", password=PASSWORD,
                                     factors={"stage": "locally_advanced"})
    assert view.stratum == UT_MET and view.arm == before.arm
    assert view.corrected_stratum == {"origin": "uterine", "stage": "locally_advanced"}
    with lms.read() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "correct.wrong_stratum")).one()
    changes = {c["field"]: (c["old"], c["new"]) for c in json.loads(record.changes_json)}
    assert changes["factor.stage"] == ("metastatic", "locally_advanced")
    for bad in ({"stage": "locally_advanced"}, {"stage": "stage IV"}, None):
        with pytest.raises(InputError) as info, lms.write() as session:
            corrections.correct(session, lms.principal("admin"), subject.code, kind="wrong_stratum",
                                  reason="x", password=PASSWORD, factors=bad)
        assert info.value.field == "factors"
    with pytest.raises(InputError) as info, lms.write() as session:
        corrections.correct(session, lms.principal("admin"), subject.code, kind="typo",
                              reason="x", password=PASSWORD)
    assert info.value.field == "kind"


@pytest.mark.parametrize("codes", ["kit", "arm_letter"])
def test_blinded_minimisation_codes(database_url, tmp_path, codes: str) -> None:
    from importlib import resources

    text = (resources.files("oncotrial") / "protocols" / "gastric_example.yaml").read_text()
    marker = "  minimisation: {weights: {region: 1, ecog: 1, pd_l1_cps_class: 1}, p: 0.8}\n"
    assert marker in text
    path = tmp_path / "gastric_masked.yaml"
    path.write_text(text.replace(marker, marker + f"  blinding: {{masked: true, codes: {codes}}}\n"))
    db = build_trial(database_url, str(path), n_sites=2)
    db.go_live(seed=SEED)
    shown = []
    for i in range(8):
        subject = db.register("S01", {"region": "asia", "ecog": i % 2, "pd_l1_cps_class": 1 + i % 3})
        view = db.randomise(subject.code, "S01")
        assert view.arm is None
        shown.append(view.code)
    with db.read() as session:
        truth = [a.arm for a in randomisation.list_allocations(session, db.principal("stat"))]
    if codes == "kit":
        assert len(set(shown)) == 8 and all(len(c) == 8 for c in shown)
    else:
        pairs = set(zip(truth, shown, strict=True))
        assert len(pairs) == len(set(truth)) == len({c for _, c in pairs})  # one letter per arm
        assert {c for _, c in pairs} <= {"A", "B"}
    db.dispose()
