"""``oncotrial serve``, ``db``, ``trial``, ``users`` and ``audit`` as an administrator runs
them, on SQLite (the PostgreSQL paths of the same services are tested in tests/server).

Most commands run in-process (Typer's runner, in the test's working directory) to keep the
suite fast; ``serve`` and the error path of an unreachable database run the real script.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from clihelpers import ONCOTRIAL, error_line

FAST = {"ONCOTRIAL_ARGON2_TIME_COST": "1", "ONCOTRIAL_ARGON2_MEMORY_KIB": "8",
        "ONCOTRIAL_ARGON2_PARALLELISM": "1"}
ADMIN_PASSWORD = "Admin-pass-4711"


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("ONCOTRIAL_"):
            monkeypatch.delenv(key)
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def run(*args: object, cwd: Path, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command in-process in ``cwd``; the result looks like a finished process."""
    from typer.testing import CliRunner

    from oncotrial.cli import app

    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], input=stdin or "", env=env)
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def script(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed script (a real process)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONCOTRIAL_")}
    environment.update(FAST)
    return subprocess.run([str(ONCOTRIAL), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=environment, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    """A working directory with a trial in ./oncotrial.db (the default database)."""
    out = ok(run("trial", "init", "--protocol", "gastric_example", "--site", "A:Alpha:FR",
                 "--site", "B:Beta", "--admin", "boss", "--password-stdin", cwd=tmp_path,
                 stdin=ADMIN_PASSWORD + "\n"))
    assert "trial GASTRIC-EXAMPLE set up with 2 site(s) and admin boss" in out
    assert (tmp_path / "oncotrial.db").is_file()
    return tmp_path


def test_trial_init_migrates_and_audits(trial_dir):
    out = ok(run("audit", "verify", cwd=trial_dir))
    assert out.startswith("audit trail verified: 5 records, head ")
    again = run("trial", "init", "--protocol", "gastric_example", "--site", "C:Gamma",
                "--admin", "boss2", "--password-stdin", cwd=trial_dir,
                stdin=ADMIN_PASSWORD + "\n")
    assert "trial GASTRIC-EXAMPLE is already set up" in error_line(again)


def test_trial_init_with_a_database_url(tmp_path):
    url = f"sqlite:///{tmp_path}/elsewhere.db"
    ok(run("trial", "init", "--protocol", "gastric_example", "--site", "A:Alpha",
           "--admin", "boss", "--password-stdin", "--database-url", url, cwd=tmp_path,
           stdin=ADMIN_PASSWORD + "\n"))
    assert not (tmp_path / "oncotrial.db").exists()
    env_run = run("audit", "verify", cwd=tmp_path, env={"ONCOTRIAL_DATABASE_URL": url})
    assert "4 records" in ok(env_run)  # trial, one site, the admin and their role


@pytest.mark.parametrize("args, stdin, message", [
    (["--site", "A"], ADMIN_PASSWORD, "--site: expected CODE:NAME or CODE:NAME:COUNTRY"),
    (["--site", "A:Alpha:France"], ADMIN_PASSWORD, "--site: country of site A"),
    (["--site", "A:a", "--site", "A:b"], ADMIN_PASSWORD, "--site: duplicate site code A"),
    (["--site", "A:a"], "", "--password-stdin: standard input is empty"),
    (["--site", "A:a"], "short", "--password-stdin: must be at least 10 characters"),
])
def test_trial_init_bad_input(tmp_path, args, stdin, message):
    result = run("trial", "init", "--protocol", "gastric_example", *args, "--admin", "boss",
                 "--password-stdin", cwd=tmp_path, stdin=stdin + "\n" if stdin else "")
    assert message in error_line(result)


def test_trial_init_bad_protocol_and_url(tmp_path):
    result = run("trial", "init", "--protocol", "nope", "--site", "A:a", "--admin", "boss",
                 "--password-stdin", cwd=tmp_path, stdin=ADMIN_PASSWORD + "\n")
    assert "no bundled protocol 'nope'" in error_line(result)
    result = run("trial", "init", "--protocol", "gastric_example", "--site", "A:a", "--admin",
                 "boss", "--password-stdin", "--database-url", "mysql://x/y", cwd=tmp_path,
                 stdin=ADMIN_PASSWORD + "\n")
    assert "--database-url: unsupported database 'mysql'" in error_line(result)
    result = run("trial", "init", "--protocol", "gastric_example", "--site", "A:a", "--admin",
                 "boss", cwd=tmp_path)
    assert "no terminal to prompt" in error_line(result)


def test_users_add_and_disable(trial_dir):
    out = ok(run("users", "add", "alice", "--role", "investigator", "--site", "A",
                 "--full-name", "Alice A", "--password-stdin", cwd=trial_dir,
                 stdin="Inv-pass-4711\n"))
    assert out.strip() == "added alice as investigator at site A"
    ok(run("users", "add", "mo", "--role", "monitor", "--password-stdin", cwd=trial_dir,
           stdin="Mon-pass-4711\n"))
    assert ok(run("users", "disable", "alice", cwd=trial_dir)).strip() == "disabled alice"
    rows = sqlite3.connect(trial_dir / "oncotrial.db").execute(
        "SELECT username, active FROM users ORDER BY id").fetchall()
    assert rows == [("boss", 1), ("alice", 0), ("mo", 1)]
    assert "records" in ok(run("audit", "verify", cwd=trial_dir))


@pytest.mark.parametrize("args, message", [
    (["bob", "--role", "investigator"], "--site: an investigator works at one site"),
    (["bob", "--role", "monitor", "--site", "A"], "--site: the monitor role is central"),
    (["bob", "--role", "wizard"], "--role: expected one of admin, investigator"),
    (["bob", "--role", "investigator", "--site", "Q"], "--site: no site 'Q'"),
    (["boss", "--role", "monitor"], "user 'boss' already exists"),
    (["bob", "--role", "monitor", "--trial", "OTHER"], "--trial: no trial 'OTHER'"),
])
def test_users_add_bad_input(trial_dir, args, message):
    result = run("users", "add", *args, "--password-stdin", cwd=trial_dir,
                 stdin="Good-pass-4711\n")
    assert message in error_line(result)


def test_users_disable_bad_input(trial_dir):
    assert "no user 'ghost'" in error_line(run("users", "disable", "ghost", cwd=trial_dir))


def test_commands_on_a_missing_or_empty_database(tmp_path):
    result = script("audit", "verify", cwd=tmp_path)
    assert "--database-url: no database file oncotrial.db" in error_line(result)
    assert not (tmp_path / "oncotrial.db").exists()  # nothing created
    sqlite3.connect(tmp_path / "empty.db").close()
    result = run("users", "disable", "x", "--database-url", f"sqlite:///{tmp_path}/empty.db",
                 cwd=tmp_path)
    assert "holds no oncotrial schema" in error_line(result)
    result = script("audit", "verify", "--database-url", "postgresql://u@127.0.0.1:1/x",
                    cwd=tmp_path)
    assert "database error: connection failed" in error_line(result, code=1)


def test_audit_verify_detects_tampering(trial_dir):
    db = sqlite3.connect(trial_dir / "oncotrial.db")
    db.execute("DROP TRIGGER audit_records_no_update")
    db.execute("UPDATE audit_records SET reason = 'hidden' WHERE seq = 2")
    db.commit()
    db.close()
    result = run("audit", "verify", cwd=trial_dir)
    assert result.returncode == 1
    assert "record 2: content does not match its hash (edited)" in result.stdout
    assert result.stderr.startswith("error: the audit trail does not verify: 1 problem(s)")
    assert result.stderr.count("\n") == 1
    as_json = run("audit", "verify", "--json", cwd=trial_dir)
    assert json.loads(as_json.stdout)["ok"] is False and as_json.returncode == 1


def test_audit_export(trial_dir):
    out = ok(run("audit", "export", "--out", "trail.csv", cwd=trial_dir))
    assert out.strip() == "wrote 5 audit records to trail.csv"
    lines = (trial_dir / "trail.csv").read_text().splitlines()
    assert lines[0].startswith("seq,at,trial_id,user_id,username,role,site_id,action")
    ok(run("audit", "export", "--out", "trail.json", cwd=trial_dir))
    data = json.loads((trial_dir / "trail.json").read_text())
    assert [r["action"] for r in data][:2] == ["trial.create", "site.create"]
    ok(run("audit", "export", "--out", "trail.txt", "--format", "json", cwd=trial_dir))
    assert json.loads((trial_dir / "trail.txt").read_text()) == data


def test_audit_export_filters(trial_dir):
    ok(run("users", "add", "mo", "--role", "monitor", "--password-stdin", cwd=trial_dir,
           stdin="Mon-pass-4711\n"))
    ok(run("audit", "export", "--out", "mo.json", "--entity-id", "mo", cwd=trial_dir))
    assert [r["action"] for r in json.loads((trial_dir / "mo.json").read_text())] == [
        "user.create", "role.grant"]
    ok(run("audit", "export", "--out", "cli.json", "--user", "nobody", cwd=trial_dir))
    assert json.loads((trial_dir / "cli.json").read_text()) == []
    ok(run("audit", "export", "--out", "old.json", "--until", "2020-01-01", cwd=trial_dir))
    assert json.loads((trial_dir / "old.json").read_text()) == []
    ok(run("audit", "export", "--out", "new.json", "--since", "2020-01-01", cwd=trial_dir))
    assert len(json.loads((trial_dir / "new.json").read_text())) == 7


@pytest.mark.parametrize("args, message", [
    (["--out", "t.csv", "--since", "1/2/2026"], "--since: expected a date as YYYY-MM-DD"),
    (["--out", "trail.xml"], "--out: cannot tell the format from 'trail.xml'"),
    (["--out", "t.csv", "--format", "pdf"], "--format: expected csv or json, got 'pdf'"),
    (["--out", "missing/t.csv"], "--out: directory missing does not exist"),
])
def test_audit_export_bad_input(trial_dir, args, message):
    assert message in error_line(run("audit", "export", *args, cwd=trial_dir))


def test_audit_unblindings_without_any(trial_dir):
    assert ok(run("audit", "unblindings", cwd=trial_dir)).strip() == "no emergency unblindings"
    assert json.loads(ok(run("audit", "unblindings", "--json", cwd=trial_dir))) == []


def test_db_backup_and_restore(trial_dir):
    out = ok(run("db", "backup", "--out", "copy.db", cwd=trial_dir))
    assert out.startswith("wrote copy.db (") and "audit trail: 5 records" in out
    again = run("db", "backup", "--out", "copy.db", cwd=trial_dir)
    assert "--out: copy.db exists; a backup never overwrites a file" in error_line(again)
    restored = ok(run("db", "restore", "--from", "copy.db", "--database-url",
                      "sqlite:///restored.db", cwd=trial_dir))
    assert "audit trail: 5 records" in restored
    assert "5 records" in ok(run("audit", "verify", "--database-url", "sqlite:///restored.db",
                                 cwd=trial_dir))
    info = json.loads(ok(run("db", "backup", "--out", "copy2.db", "--json", cwd=trial_dir)))
    assert info["audit_records"] == 5 and len(info["sha256"]) == 64


def test_db_restore_bad_input(trial_dir):
    (trial_dir / "junk.db").write_text("junk")
    assert "--from: " in error_line(run("db", "restore", "--from", "junk.db", cwd=trial_dir))
    assert "no backup file" in error_line(run("db", "restore", "--from", "none.db",
                                              cwd=trial_dir))


def test_db_upgrade(tmp_path):
    out = ok(run("db", "upgrade", "--database-url", "sqlite:///fresh.db", cwd=tmp_path))
    assert out.strip() == "database sqlite:///fresh.db at schema revision 0004"
    result = run("db", "upgrade", "--database-url", "sqlite:///fresh.db", "--app-role", "app",
                 cwd=tmp_path)
    assert "--app-role: database roles exist on PostgreSQL only" in error_line(result)


def test_serve_bad_input(tmp_path):
    result = run("serve", "--protocol", "nope", cwd=tmp_path)
    assert "no bundled protocol 'nope'" in error_line(result)
    result = run("serve", "--protocol", "gastric_example", "--database-url", "oracle://x",
                 cwd=tmp_path)
    assert "unsupported database 'oracle'" in error_line(result)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_migrates_an_empty_database_and_answers(tmp_path, workers):
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONCOTRIAL_")}
    environment.update(FAST)
    proc = subprocess.Popen([str(ONCOTRIAL), "serve", "--protocol", "gastric_example",
                             "--port", str(port), "--workers", str(workers)], cwd=tmp_path,
                            env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json",
                                            timeout=2) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, proc.stderr.read() if proc.poll() is not None else "timeout"
        assert "/api/auth/login" in body["paths"]
        tables = {r[0] for r in sqlite3.connect(tmp_path / "oncotrial.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"alembic_version", "audit_records", "trials"} <= tables
    finally:
        proc.terminate()
        if workers > 1:  # the supervisor names its worker processes
            out, err = proc.communicate(timeout=15)
            assert f"{workers} processes" in out
            assert err.count("Started server process") == workers, err
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_version_does_not_import_the_server():
    code = ("import sys, oncotrial.cli; "
            "print(any(m.split('.')[0] in ('sqlalchemy', 'fastapi', 'uvicorn') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
