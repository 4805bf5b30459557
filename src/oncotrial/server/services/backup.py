"""Backup and restore of the service's database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
while the service keeps running; writers wait only for the page copy steps. PostgreSQL:
``pg_dump -Fc`` (one consistent snapshot, custom format) and ``pg_restore``, from the
PostgreSQL client binaries (on ``PATH`` or under ``/usr/lib/postgresql/*/bin``).

A restore ends with :func:`~oncotrial.server.services.audit.verify` of the restored trail;
a backup records the audit head it contains, so that a restore can be checked against
the number and hash written down when the backup was taken.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from oncotrial.core.errors import InputError, OncotrialError
from oncotrial.core.results import Result
from oncotrial.server.db.session import make_engine, make_session_factory, normalise_url
from oncotrial.server.services import audit

__all__ = ["BackupResult", "RestoreResult", "backup", "pg_binary", "restore"]


@dataclasses.dataclass(frozen=True, repr=False)
class BackupResult(Result):
    """A backup file: where, how large, its SHA-256, and the audit head it holds."""

    path: str
    database: str
    bytes: int
    sha256: str
    audit_records: int
    audit_head_hash: str


@dataclasses.dataclass(frozen=True, repr=False)
class RestoreResult(Result):
    """A restored database and the verification of its audit trail."""

    source: str
    database: str
    audit: audit.AuditVerification


def pg_binary(name: str) -> str:
    """The path of a PostgreSQL client program (``pg_dump``, ``pg_restore``), newest
    version first."""
    on_path = shutil.which(name)
    if on_path:
        return on_path
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        raise OncotrialError(f"{name} not found on PATH or under /usr/lib/postgresql/*/bin; "
                             "install the PostgreSQL client programs")
    return found[-1]


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the programs, and the environment carrying the
    password (so that it does not appear in the process list)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: URL) -> Path:
    assert url.database
    return Path(url.database)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _head(url: str | URL) -> audit.AuditVerification:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return audit.verify(session)
    finally:
        engine.dispose()


def backup(database_url: str | URL, out: str | Path) -> BackupResult:
    """Write a consistent copy of the database at ``database_url`` to ``out`` (which must
    not exist: a backup never overwrites another)."""
    url = normalise_url(database_url)
    target = Path(out)
    if target.exists():
        raise InputError(f"out: {target} exists; a backup never overwrites a file", field="out")
    if not target.parent.is_dir():
        raise InputError(f"out: directory {target.parent} does not exist", field="out")
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.is_file():
            raise InputError(f"database_url: no SQLite database {source_path}",
                             field="database_url")
        source = sqlite3.connect(source_path)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dest.close()
            source.close()
    else:
        conninfo, env = _libpq(url)
        run = subprocess.run([pg_binary("pg_dump"), "--format=custom", "--no-password",
                              "--file", str(target), "--dbname", conninfo],
                             capture_output=True, text=True, env=env)
        if run.returncode != 0:
            target.unlink(missing_ok=True)
            raise OncotrialError(f"pg_dump failed: {_first_line(run.stderr)}")
    seq, head_hash = _sqlite_head(target) if url.get_backend_name() == "sqlite" \
        else _dump_head(target)
    return BackupResult(path=str(target), database=url.render_as_string(hide_password=True),
                        bytes=target.stat().st_size, sha256=_digest(target),
                        audit_records=seq, audit_head_hash=head_hash)


def _sqlite_head(path: Path) -> tuple[int, str]:
    """The audit head stored in a SQLite backup (read-only: the file stays as written)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    finally:
        conn.close()
    return (int(row[0]), str(row[1])) if row else (0, "")


def _dump_head(path: Path) -> tuple[int, str]:
    """The audit head stored in a pg_dump file (its snapshot, not the live database's)."""
    run = subprocess.run([pg_binary("pg_restore"), "--data-only", "--table", "audit_head",
                          "--file", "-", str(path)], capture_output=True, text=True)
    if run.returncode != 0:
        raise OncotrialError(f"pg_restore could not read {path}: {_first_line(run.stderr)}")
    lines = run.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "audit_head" in line and i + 1 < len(lines):
            fields = lines[i + 1].split("\t")
            if len(fields) == 3:
                return int(fields[1]), fields[2]
    return 0, ""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def restore(database_url: str | URL, source: str | Path) -> RestoreResult:
    """Replace the database at ``database_url`` by the backup ``source``, then verify its
    audit trail. Stop the service first: a restore replaces everything it would be using.
    On PostgreSQL, run it with the owner's URL, into an empty database or one made by
    these migrations (its objects are dropped and recreated)."""
    url = normalise_url(database_url)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"from: no backup file {path}", field="from")
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        target_path = _sqlite_path(url)
        if not target_path.parent.is_dir():
            raise InputError(f"database_url: directory {target_path.parent} does not exist",
                             field="database_url")
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dest = sqlite3.connect(target_path)
        try:
            src.backup(dest)
            dest.execute("PRAGMA journal_mode=WAL")
        finally:
            dest.close()
            src.close()
    else:
        with path.open("rb") as fh:
            if fh.read(5) != b"PGDMP":
                raise InputError(f"from: {path} is not a pg_dump custom-format backup",
                                 field="from")
        conninfo, env = _libpq(url)
        run = subprocess.run([pg_binary("pg_restore"), "--clean", "--if-exists",
                              "--single-transaction", "--exit-on-error", "--no-owner",
                              "--no-password", "--dbname", conninfo, str(path)],
                             capture_output=True, text=True, env=env)
        if run.returncode != 0:
            raise OncotrialError(f"pg_restore failed: {_first_line(run.stderr)}")
    return RestoreResult(source=str(path), database=url.render_as_string(hide_password=True),
                         audit=_head(database_url))


def _check_sqlite_backup(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise InputError(f"from: {path} is not a SQLite database", field="from")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    missing = {"alembic_version", "audit_records", "audit_head", "trials"} - tables
    if missing:
        raise InputError(f"from: {path} is not an oncotrial database (no "
                         f"{', '.join(sorted(missing))})", field="from")
