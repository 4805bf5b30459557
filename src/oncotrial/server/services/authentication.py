"""Logins, sessions, API tokens and re-entering the password.

Logins are audited whether they succeed or fail. After ``lockout_failures`` wrong
passwords in a row (at login or when re-entering the password to randomise or unblind) the
account is locked for ``lockout_minutes``, the lock is audited and the trial's admins get a
notification. A failed attempt is committed before the error is raised, so that the count
and its audit record survive the caller's rollback; call these functions first in their
transaction. Wrong username, wrong password and disabled account get the same message, so
a login form does not tell which usernames exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import Select, bindparam, func, null, select, union_all
from sqlalchemy.orm import Session

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.core.results import Result
from oncotrial.server.db.models import (
    ApiToken,
    Notification,
    RoleAssignment,
    Site,
    Trial,
    User,
    UserSession,
)
from oncotrial.server.security import (
    Principal,
    hash_password,
    needs_rehash,
    new_token,
    require,
    token_digest,
    verify_password,
)
from oncotrial.server.services import audit
from oncotrial.server.services.accounts import principal, settings_or_env, utc_now
from oncotrial.server.settings import Settings

__all__ = ["IssuedToken", "LoginView", "authenticate", "create_api_token", "list_api_tokens",
           "login", "logout", "open_session", "reauthenticate", "revoke_api_token",
           "token_principal", "user_for_token"]

_BAD_LOGIN = "invalid username or password"


@dataclasses.dataclass(frozen=True, repr=False)
class IssuedToken(Result):
    """A token as handed to its user, once: the plaintext is stored nowhere."""

    id: int
    name: str
    token: str
    expires_at: dt.datetime | None

    def __repr__(self) -> str:  # never print the secret
        return f"IssuedToken(id={self.id}, name={self.name!r}, expires_at={self.expires_at!r})"


@dataclasses.dataclass(frozen=True, repr=False)
class LoginView(Result):
    """A successful login: the session token (shown once), its expiry, who and in which role."""

    token: str
    expires_at: dt.datetime
    username: str
    role: str
    site: str | None
    trial: str

    def __repr__(self) -> str:
        return (f"LoginView(username={self.username!r}, role={self.role!r}, site={self.site!r}, "
                f"expires_at={self.expires_at!r})")


# ----------------------------------------------------------------------------- logins

def _trial_ids(session: Session, user: User) -> list[int]:
    return list(session.execute(select(RoleAssignment.trial_id).where(
        RoleAssignment.user_id == user.id)).scalars())


def _failure(session: Session, user: User | None, username: str, why: str, settings: Settings,
             *, action: str, client: str | None, request_id: str | None) -> None:
    """Record a failed attempt, lock the account at the threshold, commit."""
    trial_ids = _trial_ids(session, user) if user is not None else []
    trial_id = trial_ids[0] if len(trial_ids) == 1 else None
    audit.append(session, action=action, entity="user", entity_id=username, actor=username,
                 trial_id=trial_id, reason=why, client=client, request_id=request_id)
    if user is not None and why == "wrong password":
        user.failed_logins += 1
        if user.failed_logins >= settings.lockout_failures:
            until = utc_now() + dt.timedelta(minutes=settings.lockout_minutes)
            audit.append(session, action="user.lock", entity="user", entity_id=username,
                         actor=username, trial_id=trial_id, client=client, request_id=request_id,
                         reason=f"{user.failed_logins} wrong passwords in a row",
                         changes=[("locked_until", None, until)])
            user.locked_until, user.failed_logins = until, 0
            for tid in trial_ids:
                session.add(Notification(
                    trial_id=tid, kind="lockout", created_at=utc_now(),
                    message=f"account {username} locked until {until:%Y-%m-%d %H:%M} UTC after "
                            f"{settings.lockout_failures} wrong passwords"))
    session.commit()


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utc_now()


def authenticate(session: Session, username: str, password: str,
                 settings: Settings | None = None, *, client: str | None = None,
                 request_id: str | None = None) -> User:
    """The user whose password this is, or :class:`~oncotrial.errors.PermissionDenied`
    (audited; see the module docstring for lockout and the committed failure)."""
    cfg = settings_or_env(settings)
    user = session.execute(select(User).where(User.username == username)
                           .with_for_update()).scalar_one_or_none() \
        if isinstance(username, str) else None
    if user is None:
        # spend the time a real check takes, so timing does not reveal unknown usernames
        verify_password(_dummy_hash(cfg), password if isinstance(password, str) else "")
        _failure(session, None, str(username)[:64], "unknown user", cfg, action="login.failure",
                 client=client, request_id=request_id)
        raise PermissionDenied(_BAD_LOGIN)
    if not user.active:
        verify_password(user.password_hash, password)
        _failure(session, user, username, "account disabled", cfg, action="login.failure",
                 client=client, request_id=request_id)
        raise PermissionDenied(_BAD_LOGIN)
    if _locked(user):
        _failure(session, user, username, "account locked", cfg, action="login.failure",
                 client=client, request_id=request_id)
        raise PermissionDenied("account locked after repeated wrong passwords; try again later "
                               "or ask an admin")
    if not isinstance(password, str) or not verify_password(user.password_hash, password):
        _failure(session, user, username, "wrong password", cfg, action="login.failure",
                 client=client, request_id=request_id)
        raise PermissionDenied(_BAD_LOGIN)
    user.failed_logins, user.locked_until, user.last_login = 0, None, utc_now()
    if needs_rehash(user.password_hash, cfg):
        user.password_hash = hash_password(password, cfg)
    trial_ids = _trial_ids(session, user)
    audit.append(session, action="login.success", entity="user", entity_id=username,
                 actor=username, trial_id=trial_ids[0] if len(trial_ids) == 1 else None,
                 client=client, request_id=request_id)
    return user


_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash(settings: Settings) -> str:
    key = (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("not a password of anyone", settings)
    return _DUMMY[key]


def reauthenticate(session: Session, user_id: int, password: str,
                   settings: Settings | None = None, *, client: str | None = None,
                   request_id: str | None = None) -> User:
    """Check the password of a logged-in user again (before randomising or unblinding): a
    stolen session token alone cannot do either. A wrong password counts towards lockout
    and raises :class:`~oncotrial.errors.PermissionDenied`.

    The user's row is read without a lock: a correct password changes nothing, and a
    request that randomises must not hold the row while it waits for the trial's lock. A
    failure locks the row and counts on its committed value.
    """
    query = select(User).where(User.id == user_id)
    user = session.execute(query).scalar_one_or_none()
    if user is None or not user.active:
        raise PermissionDenied("the account is disabled")
    locked = _locked(user)
    if locked or not isinstance(password, str) or not verify_password(user.password_hash, password):
        user = session.execute(query.with_for_update().execution_options(
            populate_existing=True)).scalar_one()
        why = "account locked" if locked else "wrong password"
        _failure(session, user, user.username, why, settings_or_env(settings),
                 action="reauthentication.failure", client=client, request_id=request_id)
        raise PermissionDenied("account locked after repeated wrong passwords" if locked
                               else "the password is not correct")
    if user.failed_logins:
        user.failed_logins = 0
    return user



# ----------------------------------------------------------------------------- tokens

def open_session(session: Session, user: User, settings: Settings | None = None, *,
                 client: str | None = None, request_id: str | None = None) -> IssuedToken:
    """A session token for a user who just authenticated, valid ``session_minutes``."""
    cfg = settings_or_env(settings)
    token, digest = new_token()
    now = utc_now()
    row = UserSession(user_id=user.id, token_sha256=digest, created_at=now,
                      expires_at=now + dt.timedelta(minutes=cfg.session_minutes))
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, name="session", token=token, expires_at=row.expires_at)


def login(session: Session, *, username: str, password: str, trial_code: str | None = None,
          settings: Settings | None = None, client: str | None = None,
          request_id: str | None = None) -> LoginView:
    """:func:`authenticate`, then a session in the user's role of the trial."""
    cfg = settings_or_env(settings)
    user = authenticate(session, username, password, cfg, client=client, request_id=request_id)
    who = principal(session, user, trial_code)
    issued = open_session(session, user, cfg)
    assert issued.expires_at is not None
    trial = session.get(Trial, who.trial_id)
    assert trial is not None
    return LoginView(token=issued.token, expires_at=issued.expires_at, username=user.username,
                     role=who.role, site=who.site_code, trial=trial.code)


def logout(session: Session, principal: Principal | None, token: str, *,
           request_id: str | None = None) -> None:
    """Revoke a session token (an unknown or already revoked one is no error; an API token
    is revoked with :func:`revoke_api_token`)."""
    row = session.execute(select(UserSession).where(
        UserSession.token_sha256 == token_digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return
    if principal is not None and row.user_id != principal.user_id:
        raise PermissionDenied("not your session")
    row.revoked_at = utc_now()
    user = session.get(User, row.user_id)
    trial_ids = _trial_ids(session, user) if user is not None else []
    audit.append(session, action="logout", entity="user",
                 entity_id=user.username if user else None, principal=principal,
                 actor=None if principal is not None else (user.username if user else None),
                 trial_id=trial_ids[0] if len(trial_ids) == 1 else None, request_id=request_id)


def user_for_token(session: Session, token: str, settings: Settings | None = None) -> User:
    """The active user a session or API token belongs to; an unknown, expired or revoked
    token, or a disabled or locked account, raises
    :class:`~oncotrial.errors.PermissionDenied` (the API answers 401)."""
    if not isinstance(token, str) or not token:
        raise PermissionDenied("not authenticated")
    digest = token_digest(token)
    now = utc_now()
    user_id: int | None = None
    row = session.execute(select(UserSession).where(UserSession.token_sha256 == digest)
                          ).scalar_one_or_none()
    if row is not None:
        if row.revoked_at is not None or row.expires_at <= now:
            raise PermissionDenied("the session has expired or was closed; log in again")
        user_id = row.user_id
    else:
        api = session.execute(select(ApiToken).where(ApiToken.token_sha256 == digest)
                              ).scalar_one_or_none()
        if api is None or api.revoked_at is not None:
            raise PermissionDenied("unknown or revoked token")
        user_id = api.user_id
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise PermissionDenied("the account is disabled")
    if _locked(user):
        raise PermissionDenied("account locked after repeated wrong passwords")
    return user


def _principal_query(by_code: bool) -> Select[Any]:
    token = union_all(
        select(UserSession.user_id, UserSession.expires_at, UserSession.revoked_at).where(
            UserSession.token_sha256 == bindparam("digest")),
        select(ApiToken.user_id, null(), ApiToken.revoked_at).where(
            ApiToken.token_sha256 == bindparam("digest"))).subquery("token")
    query = select(
        User.id, User.username, User.active, User.locked_until, RoleAssignment.role,
        RoleAssignment.site_id, RoleAssignment.trial_id, Site.code.label("site_code"),
        token.c.expires_at, token.c.revoked_at,
        select(func.count()).select_from(Trial).scalar_subquery().label("trials"),
    ).select_from(token).join(User, User.id == token.c.user_id).join(
        RoleAssignment, RoleAssignment.user_id == User.id).join(
        Trial, Trial.id == RoleAssignment.trial_id).outerjoin(Site, Site.id == RoleAssignment.site_id)
    return query.where(Trial.code == bindparam("code")) if by_code else query


# every request resolves its token: one statement, built once
_PRINCIPAL_Q = _principal_query(by_code=False)
_PRINCIPAL_BY_CODE_Q = _principal_query(by_code=True)


def token_principal(session: Session, token: str, settings: Settings | None = None,
                    trial_code: str | None = None) -> Principal:
    """The :class:`~oncotrial.server.security.Principal` of a token's user.

    One statement answers the usual case (a valid token of an active user with one role in
    the trial); anything else takes the path of :func:`user_for_token` and
    :func:`principal`, which names what is wrong.
    """
    if isinstance(token, str) and token:
        rows = session.execute(_PRINCIPAL_BY_CODE_Q if trial_code is not None else _PRINCIPAL_Q,
                               {"digest": token_digest(token), "code": trial_code}).all()
        if len(rows) == 1:
            row, now = rows[0], utc_now()
            if (row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
                    and row.active and (row.locked_until is None or row.locked_until <= now)
                    and (trial_code is not None or row.trials == 1)):
                return Principal(user_id=row.id, username=row.username, role=row.role,
                                 site_id=row.site_id, trial_id=row.trial_id,
                                 site_code=row.site_code)
    return principal(session, user_for_token(session, token, settings), trial_code)


def create_api_token(session: Session, principal: Principal, name: str, *,
                     request_id: str | None = None) -> IssuedToken:
    """A long-lived token for scripts, acting as ``principal``'s user; shown once, stored
    as SHA-256, revocable. It does not replace the password to randomise or unblind."""
    require(principal, "token.manage")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise InputError("name: a token needs a name of 1-64 characters", field="name")
    token, digest = new_token()
    row = ApiToken(user_id=principal.user_id, name=name.strip(), token_sha256=digest,
                   created_at=utc_now())
    session.add(row)
    session.flush()
    audit.append(session, action="token.create", entity="api_token", entity_id=row.id,
                 principal=principal, request_id=request_id, changes=[("name", None, row.name)])
    return IssuedToken(id=row.id, name=row.name, token=token, expires_at=None)


def list_api_tokens(session: Session, principal: Principal) -> list[dict[str, object]]:
    """The principal's own tokens (never their secrets)."""
    require(principal, "token.manage")
    rows = session.execute(select(ApiToken).where(ApiToken.user_id == principal.user_id)
                           .order_by(ApiToken.id)).scalars()
    return [{"id": t.id, "name": t.name, "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t in rows]


def revoke_api_token(session: Session, principal: Principal, token_id: int, *,
                     request_id: str | None = None) -> None:
    """Revoke one of one's own tokens (an admin may revoke anyone's in the trial)."""
    require(principal, "token.manage")
    row = session.get(ApiToken, token_id)
    owner = session.get(User, row.user_id) if row is not None else None
    admin_of_owner = principal.role == "admin" and owner is not None \
        and principal.trial_id in _trial_ids(session, owner)
    if row is None or (row.user_id != principal.user_id and not admin_of_owner):
        # the same answer for a token that does not exist and one of somebody else
        raise PermissionDenied(f"no token {token_id} of yours")
    if row.revoked_at is not None:
        raise InputError(f"token: token {token_id} is already revoked", field="token")
    row.revoked_at = utc_now()
    audit.append(session, action="token.revoke", entity="api_token", entity_id=token_id,
                 principal=principal, request_id=request_id,
                 changes=[("revoked_at", None, row.revoked_at)])
