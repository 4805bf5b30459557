"""The service's configuration: one frozen object, from arguments or ``ONCOTRIAL_*``
environment variables.

Two database URLs because two database users: ``database_url`` is the application's,
which on PostgreSQL may only read and append the audit trail; ``migration_url`` (default:
the same URL) owns the schema and runs the migrations. On SQLite both are the same file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from oncotrial.core.errors import InputError

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]

#: the embedded default: a SQLite file (WAL mode) in the working directory
DEFAULT_DATABASE_URL = "sqlite:///oncotrial.db"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the service needs to run.

    ``argon2_*`` are the password-hashing costs (argon2id); the defaults are those of
    argon2-cffi's RFC 9106 low-memory profile. Tests lower them to keep the suite fast; a
    hash records its own parameters, so passwords hashed with other costs still verify.

    ``protocol`` (a protocol file or bundled name) names the trial a server process runs
    when the command line cannot pass it (``oncotrial serve --workers`` starts each worker
    from the environment). ``threads`` is the number of requests a server process works on
    at once; the others wait in its event loop. Allocations are serialised per trial, so
    more threads only make the lock's holder share the interpreter with more waiters: 16
    gave the best 99th-percentile latency with 50 clients on two cores.
    """

    database_url: str = DEFAULT_DATABASE_URL
    migration_url: str | None = None
    protocol: str | None = None
    threads: int = 16
    session_minutes: int = 30
    lockout_failures: int = 5
    lockout_minutes: int = 15
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    def __post_init__(self) -> None:
        if not isinstance(self.database_url, str) or "://" not in self.database_url:
            raise InputError(f"database_url: expected a URL such as {DEFAULT_DATABASE_URL} or "
                             f"postgresql://user@host/db, got {self.database_url!r}",
                             field="database_url")
        for name in ("threads", "session_minutes", "lockout_failures", "lockout_minutes",
                     "argon2_time_cost", "argon2_memory_kib", "argon2_parallelism"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name}: expected a positive whole number, got {value!r}",
                                 field=name)
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise InputError(f"argon2_memory_kib: must be at least 8 x argon2_parallelism "
                             f"({8 * self.argon2_parallelism}), got {self.argon2_memory_kib}",
                             field="argon2_memory_kib")

    @property
    def owner_url(self) -> str:
        """The URL migrations run with: ``migration_url``, else ``database_url``."""
        return self.migration_url or self.database_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``ONCOTRIAL_<FIELD>`` variables (``ONCOTRIAL_DATABASE_URL``,
        ``ONCOTRIAL_SESSION_MINUTES``, ...); ``overrides`` that are not ``None`` win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            key = f"ONCOTRIAL_{field.name.upper()}"
            if key not in env:
                continue
            text = env[key]
            if field.type in ("int", int):
                try:
                    values[field.name] = int(text)
                except ValueError:
                    raise InputError(f"{key}: expected a whole number, got {text!r}",
                                     field=field.name) from None
            else:
                values[field.name] = text
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)
