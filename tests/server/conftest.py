"""Fixtures of the server tests: a fresh migrated database per test, on SQLite and on a
throw-away PostgreSQL 15 cluster, and a trial with sites and a user of every role.

``database`` (and ``database_url``, its application URL; ``make_trial`` on it) is
parametrised over ``sqlite`` and ``postgresql``; the PostgreSQL cases carry the
``postgres`` marker (``sqlite_database``/``postgres_database`` and
``make_sqlite_trial``/``make_postgres_trial`` for one database only). The
cluster is started once per test session (``initdb`` + ``pg_ctl`` from
``/usr/lib/postgresql/*/bin``, as the unprivileged ``postgres`` user when the tests run as
root, on a free loopback port, trust authentication on 127.0.0.1 only) and removed at the
end. If it cannot start, the PostgreSQL tests fail: they are part of CI, not optional.

Each PostgreSQL test gets its own database, copied (``CREATE DATABASE ... TEMPLATE``) from
one migrated at session start; each SQLite test a copy of a migrated file. Two roles:
``oncotrial_owner`` owns the schema and runs migrations (``TestDatabase.owner_url``);
``oncotrial_app`` is the application's, with only SELECT and INSERT on the audit trail
(``TestDatabase.url``).

Password hashing runs with the lowest argon2 costs (``ONCOTRIAL_ARGON2_*`` environment
variables, inherited by server processes the tests start).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest


def _root_conftest() -> Any:
    """tests/conftest.py as a plain module (not a second plugin)."""
    spec = importlib.util.spec_from_file_location(
        "oncotrial_tests_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Test modules elsewhere import shared helpers with ``from conftest import ...``. Once this
# file is collected, Python knows it as ``conftest`` (pytest's prepend import mode, test
# folders without __init__.py), so it hands the root conftest's helpers on.
_ROOT = _root_conftest()
FIXTURES, RTOL, ATOL = _ROOT.FIXTURES, _ROOT.RTOL, _ROOT.ATOL
load_fixture, assert_close = _ROOT.load_fixture, _ROOT.assert_close

os.environ.setdefault("ONCOTRIAL_ARGON2_TIME_COST", "1")
os.environ.setdefault("ONCOTRIAL_ARGON2_MEMORY_KIB", "8")
os.environ.setdefault("ONCOTRIAL_ARGON2_PARALLELISM", "1")

OWNER_ROLE = "oncotrial_owner"
APP_ROLE = "oncotrial_app"
TEMPLATE_DB = "oncotrial_template"


# ----------------------------------------------------------------------------- PostgreSQL

def _pg_bin() -> Path:
    """The newest PostgreSQL bin directory holding initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found under "
                       "/usr/lib/postgresql/*/bin or on PATH; install postgresql-15")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_user() -> str | None:
    """The unprivileged user to run PostgreSQL as (``None``: the current user, not root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                        "postgres"], check=True, capture_output=True)
    return "postgres"


@dataclasses.dataclass
class PgCluster:
    """A running throw-away cluster."""

    bin_dir: Path
    root: Path
    port: int
    user: str | None

    host = "127.0.0.1"

    def url(self, role: str, database: str) -> str:
        return f"postgresql://{role}@{self.host}:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._cmd(*args), check=True, capture_output=True, text=True,
                              timeout=timeout)

    def sql(self, statement: str, *, database: str = "postgres", role: str = "postgres") -> None:
        """Run ``statement`` outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=role, dbname=database,
                             autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def start(self) -> None:
        data = self.root / "data"
        sockets = self.root / "sockets"
        sockets.mkdir()
        if self.user:
            shutil.chown(self.root, self.user)
            shutil.chown(sockets, self.user)
        self.run(str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                 timeout=120)
        # connections only from the loopback interface; trust there (test cluster)
        (data / "pg_hba.conf").write_text("local all all trust\n"
                                          "host all all 127.0.0.1/32 trust\n")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=300 -c shared_buffers=64MB")
        self.run(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"),
                 "-o", options, "-w", "-t", "60", "start", timeout=90)

    def stop(self) -> None:
        data = self.root / "data"
        if data.exists():
            subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                     "immediate", "-w", "stop"), capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            return (self.root / "log").read_text()[-2000:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for this test session, with the owner and app roles and a
    migrated template database. Fails (does not skip) when it cannot start."""
    from oncotrial.server.db.upgrade import upgrade

    cluster = PgCluster(bin_dir=_pg_bin(), root=Path(tempfile.mkdtemp(prefix="oncotrial-pg-")),
                        port=_free_port(), user=_service_user())
    try:
        cluster.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        log = cluster.log_tail()
        cluster.stop()
        pytest.fail(f"could not start the test PostgreSQL cluster: {exc}\n{detail}\n{log}",
                    pytrace=False)
    try:
        cluster.sql(f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB")
        cluster.sql(f"CREATE ROLE {APP_ROLE} LOGIN")
        cluster.sql(f"CREATE DATABASE {TEMPLATE_DB} OWNER {OWNER_ROLE}")
        cluster.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=TEMPLATE_DB)
        cluster.sql(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}", database=TEMPLATE_DB)
        upgrade(cluster.url(OWNER_ROLE, TEMPLATE_DB), app_role=APP_ROLE)
        yield cluster
    finally:
        cluster.stop()


# ----------------------------------------------------------------------------- databases

@dataclasses.dataclass(frozen=True)
class TestDatabase:
    """A fresh migrated database: ``url`` is the application's, ``owner_url`` the
    schema owner's (the same on SQLite); ``kind`` is ``"sqlite"`` or ``"postgresql"``."""

    kind: str
    url: str
    owner_url: str
    path: Path | None = None  # the SQLite file
    cluster: PgCluster | None = None
    name: str | None = None  # the PostgreSQL database

    __test__ = False  # not a test class

    def settings(self, **overrides: Any) -> Any:
        from oncotrial.server.settings import Settings

        return Settings.from_env(database_url=self.url, migration_url=self.owner_url,
                                 **overrides)

    def factory(self) -> Any:
        """A session factory on the application URL (its engine is disposed at teardown
        when made through the ``session_factory`` fixture)."""
        from oncotrial.server.db.session import make_engine, make_session_factory

        return make_session_factory(make_engine(self.url))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from oncotrial.server.db.upgrade import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _sqlite_database(template: Path, folder: Path) -> TestDatabase:
    path = folder / "oncotrial.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    return TestDatabase(kind="sqlite", url=url, owner_url=url, path=path)


@pytest.fixture
def sqlite_database(_sqlite_template: Path, tmp_path: Path) -> TestDatabase:
    """A fresh migrated SQLite database (only SQLite)."""
    return _sqlite_database(_sqlite_template, tmp_path)


def _pg_database(cluster: PgCluster) -> TestDatabase:
    name = f"t_{uuid.uuid4().hex[:16]}"
    for attempt in range(20):  # the template must have no open connection
        try:
            cluster.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} OWNER {OWNER_ROLE} "
                        "STRATEGY FILE_COPY")
            break
        except Exception:
            if attempt == 19:
                raise
            time.sleep(0.1)
    return TestDatabase(kind="postgresql", url=cluster.url(APP_ROLE, name),
                        owner_url=cluster.url(OWNER_ROLE, name), cluster=cluster, name=name)


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """A fresh migrated PostgreSQL database (only PostgreSQL; mark the test ``postgres``)."""
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    db = _pg_database(cluster)
    yield db
    cluster.sql(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield _sqlite_database(request.getfixturevalue("_sqlite_template"),
                               request.getfixturevalue("tmp_path"))
        return
    yield request.getfixturevalue("postgres_database")


@pytest.fixture
def other_database(database: TestDatabase, tmp_path: Path,
                   request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """A second fresh migrated database of the same kind as :func:`database` (to restore
    into, or to compare with)."""
    if database.kind == "sqlite":
        folder = tmp_path / "other"
        folder.mkdir()
        yield _sqlite_database(request.getfixturevalue("_sqlite_template"), folder)
        return
    assert database.cluster is not None
    db = _pg_database(database.cluster)
    yield db
    database.cluster.sql(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")


@pytest.fixture
def database_url(database: TestDatabase) -> str:
    """The application URL of :func:`database`."""
    return database.url


@pytest.fixture
def settings(database: TestDatabase) -> Any:
    """Settings for :func:`database` (low argon2 costs, from the environment)."""
    return database.settings()


@pytest.fixture
def session_factory(database: TestDatabase) -> Iterator[Any]:
    """A session factory on :func:`database` (application URL)."""
    from oncotrial.server.db.session import make_engine, make_session_factory

    engine = make_engine(database.url)
    yield make_session_factory(engine)
    engine.dispose()


# ----------------------------------------------------------------------------- a trial

@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    role: str
    site: str | None


@dataclasses.dataclass(frozen=True)
class TrialSetup:
    """What :func:`make_trial` made.

    ``users`` maps a key to :class:`Credentials`: ``admin``, ``investigator_a`` and
    ``investigator_b`` (sites ``sites[0]`` and ``sites[1]``), ``data_manager``,
    ``monitor``, ``unblinded_statistician`` (alias ``statistician``), and
    ``investigator_<CODE>`` for every site code. ``sites`` are the site codes.
    """

    database: TestDatabase
    settings: Any
    protocol: str
    trial_code: str
    trial_id: int
    sites: tuple[str, ...]
    users: dict[str, Credentials]

    @property
    def url(self) -> str:
        return self.database.url

    def factory(self) -> Any:
        return self.database.factory()

    def principal(self, key: str, factory: Any = None) -> Any:
        """The :class:`~oncotrial.server.security.Principal` of user ``key``."""
        from sqlalchemy import select

        from oncotrial.server.db.models import User
        from oncotrial.server.services import accounts

        own = factory is None
        factory = factory or self.factory()
        try:
            with factory() as session:
                user = session.execute(select(User).where(
                    User.username == self.users[key].username)).scalar_one()
                return accounts.principal(session, user, self.trial_code)
        finally:
            if own:
                factory.kw["bind"].dispose()


def password_of(username: str) -> str:
    """The test password of ``username`` (deterministic; passes the password policy)."""
    return "Pw-" + hashlib.sha256(username.encode()).hexdigest()[:10] + "!"


@pytest.fixture
def make_trial(database: TestDatabase) -> Callable[..., TrialSetup]:
    """``make_trial(protocol="gastric_example", sites=("A", "B"))``: the trial of
    ``protocol`` (a bundled name or a YAML path) in :func:`database`, with the sites
    (codes, or a number ``n`` for ``S01..Snn``) and a user of every role (see
    :class:`TrialSetup`; passwords: :func:`password_of`)."""
    return trial_maker(database)


@pytest.fixture
def make_postgres_trial(postgres_database: TestDatabase) -> Callable[..., TrialSetup]:
    """:func:`make_trial` in :func:`postgres_database` (PostgreSQL-only tests)."""
    return trial_maker(postgres_database)


@pytest.fixture
def make_sqlite_trial(sqlite_database: TestDatabase) -> Callable[..., TrialSetup]:
    """:func:`make_trial` in :func:`sqlite_database` (SQLite-only tests)."""
    return trial_maker(sqlite_database)


def trial_maker(database: TestDatabase) -> Callable[..., TrialSetup]:
    """The ``make_trial`` function for ``database``."""
    from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
    from oncotrial.server.services import accounts

    def make(protocol: str | Path = "gastric_example",
             sites: Sequence[str] | int = ("A", "B")) -> TrialSetup:
        codes = tuple(f"S{i:02d}" for i in range(1, sites + 1)) if isinstance(sites, int) \
            else tuple(sites)
        if len(codes) < 2:
            raise ValueError("make_trial needs two sites or more")
        settings = database.settings()
        engine = make_engine(database.url)
        factory = make_session_factory(engine)
        users: dict[str, Credentials] = {}

        def cred(username: str, role: str, site: str | None) -> Credentials:
            return Credentials(username, password_of(username), role, site)

        try:
            admin = cred("admin", "admin", None)
            with write_transaction(factory) as session:
                trial = accounts.init_trial(
                    session, protocol, sites=[(c, f"Site {c}", "FR") for c in codes],
                    admin_username=admin.username, admin_password=admin.password,
                    settings=settings)
                trial_code, trial_id = trial.code, trial.id
                users["admin"] = admin
                plan = [("investigator_a", cred("inv-a", "investigator", codes[0])),
                        ("investigator_b", cred("inv-b", "investigator", codes[1])),
                        ("data_manager", cred("dm", "data_manager", None)),
                        ("monitor", cred("monitor", "monitor", None)),
                        ("unblinded_statistician", cred("stat", "unblinded_statistician",
                                                        None))]
                plan += [(f"investigator_{c}", cred(f"inv-{c.lower()}", "investigator", c))
                         for c in codes[2:]]
                for key, c in plan:
                    accounts.add_user(session, None, c.username, c.password, c.role,
                                      site_code=c.site, trial_code=trial_code,
                                      settings=settings)
                    users[key] = c
            users["statistician"] = users["unblinded_statistician"]
            users[f"investigator_{codes[0]}"] = users["investigator_a"]
            users[f"investigator_{codes[1]}"] = users["investigator_b"]
        finally:
            engine.dispose()
        return TrialSetup(database=database, settings=settings, protocol=str(protocol),
                          trial_code=trial_code, trial_id=trial_id, sites=codes, users=users)

    return make
