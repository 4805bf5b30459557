"""Trials, sites, users and roles (logins, sessions and tokens:
:mod:`~oncotrial.server.services.authentication`).

Each user has one role per trial; an investigator's role names one site. Disabling a user
revokes their sessions and API tokens at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.core.results import Result
from oncotrial.core.specfile import load_yaml, read_source
from oncotrial.protocol import Protocol, ProtocolError, bundled_protocols
from oncotrial.server.db.models import (
    ROLES,
    ApiToken,
    RoleAssignment,
    Site,
    Trial,
    User,
    UserSession,
)
from oncotrial.server.security import (
    Principal,
    hash_password,
    require,
)
from oncotrial.server.services import audit
from oncotrial.server.settings import Settings

__all__ = ["MIN_PASSWORD_LENGTH", "SiteSpec", "SiteView", "TrialView", "UserView", "add_site",
           "add_user", "check_password_policy", "disable_user", "find_trial", "init_trial",
           "list_sites", "list_users", "parse_site", "principal", "settings_or_env", "trial_view",
           "utc_now"]

#: the shortest password accepted
MIN_PASSWORD_LENGTH = 10

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
_SITE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_COUNTRY = re.compile(r"^[A-Z]{2,3}$")


#: a (site code, name, country or None) triple
SiteSpec = tuple[str, str, str | None]


@dataclasses.dataclass(frozen=True, repr=False)
class SiteView(Result):
    """A site of the trial."""

    code: str
    name: str
    country: str | None

    @classmethod
    def of(cls, site: Site) -> SiteView:
        return cls(code=site.code, name=site.name, country=site.country)


@dataclasses.dataclass(frozen=True, repr=False)
class UserView(Result):
    """A user's account and role in the trial (never the password hash)."""

    username: str
    full_name: str
    role: str | None
    site: str | None
    blinded: bool
    active: bool
    locked_until: dt.datetime | None
    last_login: dt.datetime | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, repr=False)
class TrialView(Result):
    """What every role may know of the trial: its protocol's identity and SHA-256, whether
    it is blinded, its status, the randomisation method and factors, the sites. Never the
    block sizes, the list or the seed."""

    code: str
    title: str
    protocol_sha256: str
    blinded: bool
    status: str
    method: str
    factors: list[dict[str, object]]
    sites: list[dict[str, object]]


def utc_now() -> dt.datetime:
    """Now, in UTC (what every stored time is)."""
    return dt.datetime.now(dt.UTC)


def settings_or_env(settings: Settings | None) -> Settings:
    """``settings``, else those of the ``ONCOTRIAL_*`` environment."""
    return settings if settings is not None else Settings.from_env()


# ----------------------------------------------------------------------------- checks

def parse_site(text: str) -> SiteSpec:
    """``CODE:NAME[:COUNTRY]`` (as typed on the command line) -> ``(code, name, country)``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise InputError(f"site: expected CODE:NAME or CODE:NAME:COUNTRY, got {text!r}",
                         field="site")
    return parts[0].strip(), parts[1].strip(), parts[2].strip() if len(parts) == 3 else None


def _check_site(code: str, name: str, country: str | None) -> None:
    if not isinstance(code, str) or not _SITE_CODE.match(code):
        raise InputError(f"site: code {code!r} must be 1-32 letters, digits, '-' or '_', "
                         "starting with a letter or digit", field="site")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"site: site {code} needs a name", field="site")
    if country is not None and (not isinstance(country, str) or not _COUNTRY.match(country)):
        raise InputError(f"site: country of site {code} must be an ISO 3166 code such as FR "
                         f"or FRA, got {country!r}", field="site")


def _check_username(username: str) -> None:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise InputError(f"username: {username!r} must be 2-64 letters, digits, '.', '_', '-' "
                         "or '@', starting with a letter or digit", field="username")


def check_password_policy(username: str, password: str) -> None:
    """Refuse a password that is too short, of fewer than four distinct characters, or
    containing the username."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters",
                         field="password")
    name = username.lower() if isinstance(username, str) else ""
    if len(set(password)) < 4 or (len(name) >= 3 and name in password.lower()):
        raise InputError("password: too easy to guess (repeats few characters or contains the "
                         "username)", field="password")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"role: expected one of {', '.join(ROLES)}, got {role!r}", field="role")


# ----------------------------------------------------------------------------- trial

def find_trial(session: Session, trial_code: str | None = None) -> Trial:
    """The trial called ``trial_code``; without a code, the database's only trial."""
    if trial_code is not None:
        trial = session.execute(select(Trial).where(Trial.code == trial_code)).scalar_one_or_none()
        if trial is None:
            raise InputError(f"trial: no trial {trial_code!r} in this database", field="trial")
        return trial
    trials = session.execute(select(Trial).order_by(Trial.id)).scalars().all()
    if not trials:
        raise InputError("trial: the database holds no trial yet; run `oncotrial trial init`",
                         field="trial")
    if len(trials) > 1:
        raise InputError(f"trial: the database holds several trials "
                         f"({', '.join(t.code for t in trials)}); name one", field="trial")
    return trials[0]


def init_trial(session: Session, protocol: str | Path, *, sites: Sequence[SiteSpec],
               admin_username: str, admin_password: str, settings: Settings | None = None,
               request_id: str | None = None, actor: str = "cli") -> Trial:
    """Create the trial of ``protocol`` (a YAML file or a bundled name) with its sites and
    first admin. The protocol's text is stored with its SHA-256, so that what the service
    randomises by can be checked against the file at any time."""
    text, source = read_source(protocol, folder="protocols", kind="protocol",
                               bundled=bundled_protocols, error=ProtocolError)
    # validate the very text that is stored and hashed (the file is read once)
    data = load_yaml(text, source=source, kind="protocol", error=ProtocolError)
    parsed = Protocol.from_dict(data if data is not None else {}, source=source)
    if not sites:
        raise InputError("site: a trial needs at least one site", field="site")
    for code, name, country in sites:
        _check_site(code, name, country)
    codes = [s[0] for s in sites]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise InputError(f"site: duplicate site code {', '.join(dupes)}", field="site")
    _check_username(admin_username)
    check_password_policy(admin_username, admin_password)
    if session.execute(select(Trial).where(Trial.code == parsed.id)).first() is not None:
        raise InputError(f"protocol: trial {parsed.id} is already set up in this database",
                         field="protocol")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    trial = Trial(code=parsed.id, title=parsed.title, protocol_yaml=text,
                  protocol_sha256=digest, blinded=parsed.randomisation.blinded, status="setup",
                  created_at=utc_now())
    session.add(trial)
    session.flush()
    audit.append(session, action="trial.create", entity="trial", entity_id=trial.code,
                 trial_id=trial.id, actor=actor, request_id=request_id,
                 changes=[("protocol", None, source), ("protocol_sha256", None, digest),
                          ("blinded", None, trial.blinded), ("status", None, "setup")])
    for code, name, country in sites:
        _new_site(session, trial, code, name, country, None, request_id, actor)
    add_user(session, None, admin_username, admin_password, "admin", trial_code=trial.code,
             settings=settings, request_id=request_id, actor=actor)
    return trial


def _protocol_of(trial: Trial) -> Protocol:
    data = load_yaml(trial.protocol_yaml, source=trial.code, kind="protocol", error=ProtocolError)
    return Protocol.from_dict(data if data is not None else {}, source=trial.code)


def _new_site(session: Session, trial: Trial, code: str, name: str, country: str | None,
              principal: Principal | None, request_id: str | None, actor: str | None) -> Site:
    site = Site(trial_id=trial.id, code=code, name=name.strip(), country=country)
    session.add(site)
    session.flush()
    audit.append(session, action="site.create", entity="site", entity_id=code,
                 principal=principal, trial_id=trial.id, actor=actor, request_id=request_id,
                 changes=[("name", None, site.name), ("country", None, country)])
    return site


def add_site(session: Session, principal: Principal | None, code: str, name: str,
             country: str | None = None, *, trial_code: str | None = None,
             request_id: str | None = None, actor: str = "cli") -> SiteView:
    """Add a site to the trial (admin; ``principal=None`` is the command line)."""
    trial = _trial_of(session, principal, trial_code)
    _check_site(code, name, country)
    exists = session.execute(select(Site).where(Site.trial_id == trial.id, Site.code == code)
                             ).first()
    if exists is not None:
        raise InputError(f"site: site {code} already exists", field="site")
    return SiteView.of(_new_site(session, trial, code, name, country, principal, request_id,
                                 None if principal is not None else actor))


def list_sites(session: Session, principal: Principal) -> list[SiteView]:
    """The trial's sites (every role: a site list reveals no allocation)."""
    require(principal, "trial.read")
    rows = session.execute(select(Site).where(Site.trial_id == principal.trial_id)
                           .order_by(Site.code)).scalars()
    return [SiteView.of(s) for s in rows]


def trial_view(session: Session, principal: Principal) -> TrialView:
    """The trial as :class:`TrialView` shows it."""
    require(principal, "trial.read")
    trial = session.get(Trial, principal.trial_id)
    assert trial is not None
    protocol = _protocol_of(trial)
    factors: list[dict[str, object]] = [
        {"name": f.name, "label": f.label, "levels": list(f.levels)}
        for f in protocol.stratification]
    return TrialView(code=trial.code, title=trial.title, protocol_sha256=trial.protocol_sha256,
                     blinded=trial.blinded, status=trial.status,
                     method=protocol.randomisation.method, factors=factors,
                     sites=[s.to_dict() for s in list_sites(session, principal)])

def _trial_of(session: Session, principal: Principal | None, trial_code: str | None) -> Trial:
    if principal is None:
        return find_trial(session, trial_code)
    require(principal, "site.manage")
    trial = session.get(Trial, principal.trial_id)
    assert trial is not None
    return trial


# ----------------------------------------------------------------------------- users

def add_user(session: Session, principal: Principal | None, username: str, password: str,
             role: str, site_code: str | None = None, *, full_name: str = "",
             trial_code: str | None = None, settings: Settings | None = None,
             request_id: str | None = None, actor: str = "cli") -> UserView:
    """Create a user with one role in the trial (admin; ``principal=None`` is the command
    line). An investigator needs the code of their site; the other roles are central and
    take none."""
    if principal is not None:
        require(principal, "user.manage")
        trial = session.get(Trial, principal.trial_id)
        assert trial is not None
    else:
        trial = find_trial(session, trial_code)
    _check_username(username)
    _check_role(role)
    check_password_policy(username, password)
    if role == "investigator" and site_code is None:
        raise InputError("site: an investigator works at one site; give its code",
                         field="site")
    if role != "investigator" and site_code is not None:
        raise InputError(f"site: the {role} role is central and takes no site", field="site")
    site = None
    if site_code is not None:
        site = session.execute(select(Site).where(Site.trial_id == trial.id,
                                                  Site.code == site_code)).scalar_one_or_none()
        if site is None:
            raise InputError(f"site: no site {site_code!r} in trial {trial.code}", field="site")
    if session.execute(select(User).where(User.username == username)).first() is not None:
        raise InputError(f"username: user {username!r} already exists", field="username")
    user = User(username=username, full_name=full_name, password_hash=hash_password(
        password, settings), active=True, failed_logins=0, created_at=utc_now())
    session.add(user)
    session.flush()
    session.add(RoleAssignment(user_id=user.id, trial_id=trial.id, role=role,
                               site_id=site.id if site else None))
    session.flush()
    who = None if principal is not None else actor
    audit.append(session, action="user.create", entity="user", entity_id=username,
                 principal=principal, trial_id=trial.id, actor=who, request_id=request_id,
                 changes=[("active", None, True), ("full_name", None, full_name)])
    audit.append(session, action="role.grant", entity="user", entity_id=username,
                 principal=principal, trial_id=trial.id, actor=who, request_id=request_id,
                 changes=[("role", None, role), ("site", None, site_code)])
    return _user_view(session, user, trial.id)


def _user_view(session: Session, user: User, trial_id: int) -> UserView:
    row = session.execute(select(RoleAssignment, Site)
                          .outerjoin(Site, Site.id == RoleAssignment.site_id)
                          .where(RoleAssignment.user_id == user.id,
                                 RoleAssignment.trial_id == trial_id)).first()
    role = row[0].role if row is not None else None
    return UserView(username=user.username, full_name=user.full_name, role=role,
                    site=row[1].code if row is not None and row[1] is not None else None,
                    blinded=role != "unblinded_statistician", active=user.active,
                    locked_until=user.locked_until, last_login=user.last_login,
                    created_at=user.created_at)


def _user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise InputError(f"username: no user {username!r}", field="username")
    return user


def disable_user(session: Session, principal: Principal | None, username: str, *,
                 trial_code: str | None = None, request_id: str | None = None,
                 actor: str = "cli") -> UserView:
    """Disable an account (admin; ``principal=None`` is the command line): it can no longer
    log in, and its sessions and API tokens are revoked. The user and their records stay."""
    if principal is not None:
        require(principal, "user.manage")
        trial_id = principal.trial_id
    else:
        trial_id = find_trial(session, trial_code).id
    user = _user(session, username)
    if principal is not None and user.id == principal.user_id:
        raise InputError("username: you cannot disable your own account", field="username")
    if not user.active:
        raise InputError(f"username: user {username!r} is already disabled", field="username")
    user.active = False
    now = utc_now()
    revoked = 0
    for row in session.execute(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None))).scalars():
        row.revoked_at = now
        revoked += 1
    for token in session.execute(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars():
        token.revoked_at = now
        revoked += 1
    audit.append(session, action="user.disable", entity="user", entity_id=username,
                 principal=principal, trial_id=trial_id,
                 actor=None if principal is not None else actor, request_id=request_id,
                 changes=[("active", True, False)])
    return _user_view(session, user, trial_id)


def list_users(session: Session, principal: Principal) -> list[UserView]:
    """Who has which role, blinded or not, and when they last logged in (an access review;
    admin)."""
    require(principal, "user.manage")
    users = session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.trial_id == principal.trial_id).order_by(User.username)).scalars()
    return [_user_view(session, u, principal.trial_id) for u in users]

def principal(session: Session, user: User, trial_code: str | None = None) -> Principal:
    """``user`` acting in their role of the trial (default: the database's only trial)."""
    trial = find_trial(session, trial_code)
    row = session.execute(select(RoleAssignment, Site)
                          .outerjoin(Site, Site.id == RoleAssignment.site_id)
                          .where(RoleAssignment.user_id == user.id,
                                 RoleAssignment.trial_id == trial.id)).first()
    if row is None:
        raise PermissionDenied(f"user {user.username} has no role in trial {trial.code}")
    assignment, site = row
    return Principal(user_id=user.id, username=user.username, role=assignment.role,
                     site_id=assignment.site_id, trial_id=trial.id,
                     site_code=site.code if site is not None else None)
