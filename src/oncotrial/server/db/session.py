"""Engines, sessions and the one way to write: :func:`write_transaction`.

Writers are serialised by the database, not by the application, so that several server
processes can share one database:

* SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, which takes the
  database's write lock at once (a deferred transaction that reads first and writes later
  can fail midway when another writer got there first). Readers are not blocked (WAL
  mode). A writer that cannot get the lock within ``busy_timeout`` gets
  :class:`~oncotrial.errors.ConcurrencyConflict`, which the API answers with 409 and
  ``Retry-After``. Within one process the writers of an engine first queue on a lock of
  their own: SQLite's busy handler polls with growing sleeps, so under contention a
  writer could wait a second while others came and went; the queue makes the wait
  proportional to the writers ahead of it.
* PostgreSQL: READ COMMITTED; the services lock the rows they change
  (``SELECT ... FOR UPDATE`` on the allocation state, the audit head). A deadlock or a
  serialisation failure is a :class:`~oncotrial.errors.ConcurrencyConflict` too.
"""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from oncotrial.core.errors import ConcurrencyConflict, InputError

__all__ = ["BUSY_TIMEOUT_MS", "is_postgres", "make_engine", "make_session_factory",
           "normalise_url", "write_transaction"]

#: how long a SQLite writer waits for the write lock before giving up
BUSY_TIMEOUT_MS = 30_000


class _WriterQueue:
    """A lock granted in the order it was asked for (``threading.Lock`` is not: a thread
    that just released it often takes it again before the waiters wake)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: collections.deque[threading.Event] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiting:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn in self._waiting:  # gave up before its turn came
                self._waiting.remove(turn)
                return False
        return True  # its turn came while it gave up

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # the lock passes to the next in line
            else:
                self._held = False


#: per SQLite engine, the queue its writers in this process wait in (see the module text)
_WRITE_QUEUES: weakref.WeakKeyDictionary[Engine, _WriterQueue] = weakref.WeakKeyDictionary()

#: PostgreSQL SQLSTATEs that a retry may resolve: serialisation failure, deadlock,
#: lock not available
_RETRYABLE_PG = {"40001", "40P01", "55P03"}


def normalise_url(url: str | URL) -> URL:
    """The SQLAlchemy URL of ``url``: ``postgresql://`` and ``postgres://`` use psycopg 3;
    only SQLite and PostgreSQL are supported."""
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy raises ArgumentError for text it cannot parse
        raise InputError(f"database_url: not a database URL: {str(url)!r}; expected e.g. "
                         "sqlite:///oncotrial.db or postgresql://user@host/db",
                         field="database_url") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise InputError(f"database_url: unsupported SQLite driver {parsed.drivername!r}",
                             field="database_url")
        return parsed
    raise InputError(f"database_url: unsupported database {backend!r}; expected sqlite:/// or "
                     "postgresql://", field="database_url")


def make_engine(url: str | URL, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """An engine for ``url`` (SQLite: WAL, foreign keys on, ``busy_timeout``; PostgreSQL:
    psycopg 3, READ COMMITTED, connections checked before use)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        # each request thread (Settings.threads) and each script may hold a connection;
        # ten stay open between bursts
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 30)
        return create_engine(parsed, isolation_level="READ COMMITTED", **kwargs)
    if parsed.database in (None, "", ":memory:"):
        raise InputError("database_url: an in-memory SQLite database cannot be shared between "
                         "connections; give a file, e.g. sqlite:///oncotrial.db",
                         field="database_url")
    folder = Path(parsed.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise InputError(f"database_url: directory {folder} of the SQLite database does not "
                         "exist", field="database_url")
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", busy_timeout_ms / 1000)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the driver's own transaction handling would send a deferred BEGIN before the first
        # write; switch it off and begin explicitly (the "begin" listener below)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("oncotrial_write") else ""
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    _WRITE_QUEUES[engine] = _WriterQueue()
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; objects stay readable after commit (``expire_on_commit``
    off) so that a service can return what it wrote."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_postgres(session: Session) -> bool:
    """Whether ``session`` talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_PG:
        return True
    text = str(orig).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text
                                                  or "database is busy" in text)


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a write transaction: committed when the block ends, rolled back if it
    raises. On SQLite the database write lock is taken at the start (``BEGIN IMMEDIATE``);
    a lock that cannot be had, a deadlock or a serialisation failure raises
    :class:`~oncotrial.errors.ConcurrencyConflict` (retry-able)."""
    session = factory()
    bind = session.get_bind()
    queue = _WRITE_QUEUES.get(bind) if isinstance(bind, Engine) else None
    if queue is not None and not queue.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        session.close()
        raise ConcurrencyConflict("the database is busy with another change; retry the request")
    try:
        session.connection(execution_options={"oncotrial_write": True})
        yield session
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        if _is_retryable(exc):
            raise ConcurrencyConflict("the database is busy with another change; retry the "
                                      "request") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if queue is not None:
            queue.release()
