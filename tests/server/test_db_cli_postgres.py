"""The administration commands against PostgreSQL: migrations as the schema owner with the
application's role granted its rights, then the trial, users, audit and backup through
the application's role."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.server.db.session import make_engine

pytestmark = pytest.mark.postgres


def _run(*args: object, stdin: str = ""):
    result = CliRunner().invoke(app, [str(a) for a in args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def empty_database(pg_cluster):
    name = f"e_{uuid.uuid4().hex[:12]}"
    pg_cluster.sql(f"CREATE DATABASE {name} OWNER oncotrial_owner")
    pg_cluster.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=name)
    pg_cluster.sql("ALTER SCHEMA public OWNER TO oncotrial_owner", database=name)
    yield pg_cluster.url("oncotrial_owner", name), pg_cluster.url("oncotrial_app", name)
    pg_cluster.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_owner_migrates_app_role_runs(empty_database, tmp_path):
    owner, app_url = empty_database
    # the application's role cannot create the schema itself
    refused = _run("trial", "init", "--protocol", "gastric_example", "--site", "A:Alpha",
                   "--admin", "boss", "--password-stdin", "--database-url", app_url,
                   stdin="Admin-pass-4711\n")
    assert refused.exit_code == 1 and "permission denied" in refused.stderr
    upgraded = _run("db", "upgrade", "--database-url", owner, "--app-role", "oncotrial_app")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert "schema revision 0004; rights granted to oncotrial_app" in upgraded.stdout
    init = _run("trial", "init", "--protocol", "gastric_example", "--site", "A:Alpha",
                "--site", "B:Beta", "--admin", "boss", "--password-stdin", "--database-url",
                app_url, "--migration-url", owner, stdin="Admin-pass-4711\n")
    assert init.exit_code == 0, init.stderr
    added = _run("users", "add", "alice", "--role", "investigator", "--site", "B",
                 "--password-stdin", "--database-url", app_url, stdin="Inv-pass-4711\n")
    assert added.exit_code == 0, added.stderr
    verified = _run("audit", "verify", "--database-url", app_url)
    assert verified.exit_code == 0 and "7 records" in verified.stdout
    engine = make_engine(app_url)
    try:
        with pytest.raises(Exception, match="permission denied"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_records SET reason = 'x'"))
    finally:
        engine.dispose()
    backup = _run("db", "backup", "--out", tmp_path / "trial.dump", "--database-url", owner)
    assert backup.exit_code == 0, backup.stderr
    restored = _run("db", "restore", "--from", tmp_path / "trial.dump", "--database-url", owner)
    assert restored.exit_code == 0 and "7 records" in restored.stdout
    assert "7 records" in _run("audit", "verify", "--database-url", app_url).stdout
