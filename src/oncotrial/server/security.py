"""Passwords, tokens, roles and site scope.

Passwords are hashed with argon2id (argon2-cffi). Session and API tokens are random
strings given to the user once; the database keeps only their SHA-256, so a copy of the
database does not let anyone log in. What each role may do is the table
:data:`PERMISSIONS`, checked by :func:`require` in the services (never in the routes only),
so every front end enforces the same rules. Investigators act on their own site's
subjects only (:func:`in_scope`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from oncotrial.core.errors import PermissionDenied
from oncotrial.server.db.models import ROLES
from oncotrial.server.settings import Settings

__all__ = ["BLINDED_ROLES", "PERMISSIONS", "ROLES", "Principal", "hash_password", "in_scope",
           "needs_rehash", "new_token", "require", "token_digest", "verify_password"]

#: every role but the unblinded statistician sees no arm, list, seed or state
BLINDED_ROLES = tuple(r for r in ROLES if r != "unblinded_statistician")

_ALL = frozenset(ROLES)
_UNBLINDED = frozenset({"unblinded_statistician"})

#: action -> the roles that may perform it (site scope is checked separately, :func:`in_scope`)
PERMISSIONS: dict[str, frozenset[str]] = {
    "trial.read": _ALL,
    "trial.go_live": frozenset({"admin"}),
    "site.manage": frozenset({"admin"}),
    "user.manage": frozenset({"admin"}),
    "token.manage": _ALL,  # one's own API tokens
    "subject.register": frozenset({"investigator"}),
    "subject.read": _ALL,
    "randomise": frozenset({"investigator"}),
    "allocation.read_arm": _UNBLINDED,
    "list.read": _UNBLINDED,
    "seed.read": _UNBLINDED,
    "state.read": _UNBLINDED,
    "unblind": frozenset({"investigator"}),
    "unblindings.read": frozenset({"admin", "monitor", "unblinded_statistician"}),
    "correct": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "monitor", "data_manager", "unblinded_statistician"}),
    "audit.export": frozenset({"admin", "monitor"}),
    "notifications.read": frozenset({"admin"}),
    "form.read": _ALL,
    "form.write": frozenset({"investigator"}),
    "casebook.sign": frozenset({"investigator"}),
    "query.read": _ALL,
    "query.raise": frozenset({"data_manager", "monitor"}),
    "query.answer": frozenset({"investigator"}),
    "query.close": frozenset({"data_manager"}),
    "sdv.flag": frozenset({"monitor"}),
    "database.lock": frozenset({"admin", "data_manager"}),
    "database.unlock": frozenset({"admin"}),
    "export.sdtm": frozenset({"admin", "data_manager", "monitor", "unblinded_statistician"}),
}


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is acting: a user in one role of one trial (an investigator at one site)."""

    user_id: int
    username: str
    role: str
    site_id: int | None
    trial_id: int
    site_code: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")
        if self.role == "investigator" and self.site_id is None:
            raise ValueError("an investigator acts for one site: site_id is required")

    @property
    def blinded(self) -> bool:
        return self.role in BLINDED_ROLES


def require(principal: Principal, action: str) -> None:
    """Raise :class:`~oncotrial.errors.PermissionDenied` unless ``principal``'s role may
    perform ``action`` (a key of :data:`PERMISSIONS`)."""
    try:
        allowed = PERMISSIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}; expected one of "
                         f"{', '.join(PERMISSIONS)}") from None
    if principal.role not in allowed:
        raise PermissionDenied(f"the {principal.role} role may not perform {action}")


def in_scope(principal: Principal, site_id: int | None) -> bool:
    """Whether ``principal`` may act on a record of ``site_id``: investigators on their
    own site only, the central roles on every site."""
    if principal.role == "investigator":
        return site_id is not None and site_id == principal.site_id
    return True


@functools.lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher_for(settings: Settings | None) -> PasswordHasher:
    s = settings if settings is not None else Settings.from_env()
    return _hasher(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism)


def hash_password(password: str, settings: Settings | None = None) -> str:
    """The argon2id hash of ``password`` with the costs of ``settings`` (default: from the
    environment, :meth:`Settings.from_env`)."""
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    return _hasher_for(settings).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (whatever costs it was made with)."""
    try:
        return bool(_hasher(1, 8, 1).verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, settings: Settings | None = None) -> bool:
    """Whether a hash was made with other costs than ``settings``' (rehash on next login)."""
    try:
        return bool(_hasher_for(settings).check_needs_rehash(password_hash))
    except InvalidHashError:
        return True


def new_token() -> tuple[str, str]:
    """A fresh random token (256 bits, URL-safe) and its SHA-256 hex digest, which is all
    the database stores."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
