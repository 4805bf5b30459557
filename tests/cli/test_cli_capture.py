"""``oncotrial db lock``, ``db unlock`` and ``export sdtm`` on a database with captured
data: the lock's SHA-256 is that of the export of the frozen data, the export of a
blinded trial is masked unless ``--unblinded``, and bad input is one line."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from clihelpers import error_line

from oncotrial.protocol import Protocol

FAST = {"ONCOTRIAL_ARGON2_TIME_COST": "1", "ONCOTRIAL_ARGON2_MEMORY_KIB": "8",
        "ONCOTRIAL_ARGON2_PARALLELISM": "1"}
PASSWORD = "Capture-pass-4711"
BLINDED = Path(__file__).resolve().parents[1] / "server" / "data" / "gastric_blinded.yaml"


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("ONCOTRIAL_"):
            monkeypatch.delenv(key)
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def run(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    from typer.testing import CliRunner

    from oncotrial.cli import app

    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def trial_dir(tmp_path):
    """./oncotrial.db: a live blinded trial, one randomised subject with a baseline form and a
    cycle (entered through the services)."""
    from sqlalchemy import select

    from oncotrial.server.db.models import User
    from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
    from oncotrial.server.db.upgrade import upgrade
    from oncotrial.server.services import accounts, capture, randomisation, sealing, subjects
    from oncotrial.server.settings import Settings

    url = f"sqlite:///{tmp_path / 'oncotrial.db'}"
    upgrade(url)
    settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8,
                        argon2_parallelism=1)
    factory = make_session_factory(make_engine(url))
    eligibility = {"age": 64, "histology": "adenocarcinoma", "her2_positive": False, "ecog": 1,
                   "measurable_or_evaluable": True, "prior_systemic_therapy_advanced": False,
                   "creatinine_clearance": 80, "autoimmune_disease_active": False,
                   "region": "asia", "pd_l1_cps_class": 2}

    def who(name):
        with factory() as session:
            user = session.scalars(select(User).where(User.username == name)).one()
            return accounts.principal(session, user)

    try:
        with write_transaction(factory) as session:
            trial = accounts.init_trial(session, str(BLINDED), sites=[("A", "Alpha", "FR"),
                                                                      ("B", "Beta", "FR")],
                                        admin_username="boss", admin_password=PASSWORD,
                                        settings=settings)
            accounts.add_user(session, None, "inv", PASSWORD, "investigator", "A",
                              trial_code=trial.code, settings=settings)
        with write_transaction(factory) as session:
            sealing.go_live(session, who("boss"), per_stratum=8)
        with write_transaction(factory) as session:
            subjects.register(session, who("inv"), subject_code="A-001", site_code="A",
                              eligibility=eligibility,
                              factors={"region": "asia", "pd_l1_cps_class": 2})
        with write_transaction(factory) as session:
            randomisation.randomise(session, who("inv"), "A-001", password=PASSWORD,
                                    idempotency_key="cli-capture-1")
        today = dt.datetime.now(dt.UTC).date()
        with write_transaction(factory) as session:
            capture.save_form(session, who("inv"), "A-001", "baseline", None, {
                "age": 64, "sex": "F", "region": "asia", "ecog": 1, "pd_l1_cps_class": 2,
                "height_cm": 160.0, "weight_kg": 60.0})
        with write_transaction(factory) as session:
            capture.save_form(session, who("inv"), "A-001", "cycle", None, {
                "phase": "combination", "cycle": 1, "date": today.isoformat(),
                "oxaliplatin_dose": 130.0, "capecitabine_dose": 1000.0})
    finally:
        factory.kw["bind"].dispose()
    return tmp_path


def _arm_strings():
    protocol = Protocol.load(BLINDED)
    return [a.code for a in protocol.arms] + [a.label for a in protocol.arms]


def test_lock_export_unlock(trial_dir):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    locked = run("db", "lock", "--cutoff", today, "--out", "locked", cwd=trial_dir)
    assert locked.returncode == 0, locked.stderr
    assert "database locked at the cut-off" in locked.stdout and "2 records frozen" in locked.stdout
    sha = locked.stdout.strip().rsplit(" ", 1)[1]
    assert "ARMCD" in (trial_dir / "locked" / "dm.csv").read_text()
    again = run("db", "lock", "--cutoff", today, cwd=trial_dir)
    assert "already locked" in error_line(again, 1)
    full = run("export", "sdtm", "--out", "full", "--cutoff", today, "--unblinded",
               cwd=trial_dir)
    assert full.returncode == 0 and sha in full.stdout
    masked = run("export", "sdtm", "--out", "masked", cwd=trial_dir)
    assert masked.returncode == 0 and "(masked)" in masked.stdout
    text = "".join(p.read_text() for p in (trial_dir / "masked").glob("*.csv"))
    assert "ARMCD" not in text and not [s for s in _arm_strings() if s in text]
    unlocked = run("db", "unlock", "--reason", "late data", cwd=trial_dir)
    assert unlocked.returncode == 0 and "late data" in unlocked.stdout
    assert "not locked" in error_line(run("db", "unlock", "--reason", "again", cwd=trial_dir), 1)


def test_bad_input(trial_dir, tmp_path):
    assert error_line(run("db", "lock", "--cutoff", "31/12/2026", cwd=trial_dir)).startswith(
        "--cutoff: ")
    assert "--reason: " in error_line(run("db", "unlock", "--reason", " ", cwd=trial_dir))
    (trial_dir / "file").write_text("x")
    assert "--out: " in error_line(run("export", "sdtm", "--out", "file", cwd=trial_dir))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "--database-url: " in error_line(run("export", "sdtm", "--out", "x", cwd=empty))
