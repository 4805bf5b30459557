"""Trial set-up, users and roles, logins with lockout, sessions, API tokens and
re-authentication (services/accounts.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, text, update

from oncotrial.errors import InputError, PermissionDenied, SpecError
from oncotrial.protocol import Protocol
from oncotrial.server.db.models import (
    ApiToken,
    AuditRecord,
    Notification,
    RoleAssignment,
    Trial,
    User,
    UserSession,
)
from oncotrial.server.db.session import write_transaction
from oncotrial.server.security import token_digest
from oncotrial.server.services import accounts, audit, authentication


@pytest.fixture
def trial(make_trial):
    return make_trial()


@pytest.fixture
def factory(trial):
    f = trial.factory()
    yield f
    f.kw["bind"].dispose()


def _actions(factory, since: int = 0) -> list[tuple[str, str | None, str | None]]:
    with factory() as session:
        return [(r["action"], r["entity_id"], r["reason"])
                for r in audit.list_records(session, after_seq=since)]


def _head(factory) -> int:
    with factory() as session:
        return audit.verify(session).head_seq


# ----------------------------------------------------------------------------- set-up

def test_init_trial_stores_protocol_sites_admin_and_audits(trial, factory):
    with factory() as session:
        row = session.execute(select(Trial)).scalar_one()
        assert row.code == "GASTRIC-EXAMPLE" and row.status == "setup" and not row.blinded
        text_ = (Path(__file__).parents[2] / "src/oncotrial/protocols/gastric_example.yaml"
                 ).read_text(encoding="utf-8")
        import hashlib

        assert row.protocol_yaml == text_
        assert row.protocol_sha256 == hashlib.sha256(text_.encode()).hexdigest()
        admin = trial.principal("admin", factory)
        view = accounts.trial_view(session, admin).to_dict()
        assert view["sites"] == [{"code": "A", "name": "Site A", "country": "FR"},
                                 {"code": "B", "name": "Site B", "country": "FR"}]
        assert view["method"] == Protocol.load("gastric_example").randomisation.method
        assert "block_sizes" not in str(view) and "arms" not in view
        assert [s.code for s in accounts.list_sites(session, trial.principal("monitor",
                                                                             factory))] == ["A",
                                                                                            "B"]
        assert audit.verify(session).ok
    actions = [a for a, _, _ in _actions(factory)]
    assert actions[:4] == ["trial.create", "site.create", "site.create", "user.create"]
    assert actions.count("role.grant") == 6  # admin + the five users make_trial adds


def test_init_trial_of_a_blinded_protocol(make_trial, tmp_path):
    data = Protocol.load("gastric_example").to_dict()
    data["randomisation"]["blinding"] = {"masked": True}
    path = tmp_path / "blinded.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    setup = make_trial(protocol=path, sites=3)
    f = setup.factory()
    try:
        with f() as session:
            assert session.execute(select(Trial.blinded)).scalar_one() is True
        assert setup.sites == ("S01", "S02", "S03") and "investigator_S03" in setup.users
    finally:
        f.kw["bind"].dispose()


@pytest.mark.parametrize("sites, admin, password, message", [
    ([], "boss", "Good-pass-123", "site: a trial needs at least one site"),
    ([("A", "a", None), ("A", "b", None)], "boss", "Good-pass-123", "duplicate site code A"),
    ([("A b", "a", None)], "boss", "Good-pass-123", "code 'A b' must be"),
    ([("A", " ", None)], "boss", "Good-pass-123", "site A needs a name"),
    ([("A", "a", "France")], "boss", "Good-pass-123", "ISO 3166"),
    ([("A", "a", None)], "b", "Good-pass-123", "username: 'b' must be"),
    ([("A", "a", None)], "boss", "short", "password: must be at least 10"),
    ([("A", "a", None)], "boss", "aaaaaaaaaaaa", "too easy"),
    ([("A", "a", None)], "boss", "boss-is-best-1", "too easy"),
])
def test_init_trial_refuses_bad_input(session_factory, sites, admin, password, message):
    with pytest.raises(InputError, match=message), write_transaction(session_factory) as s:
        accounts.init_trial(s, "gastric_example", sites=sites, admin_username=admin,
                            admin_password=password)
    with session_factory() as s:
        assert s.execute(select(Trial)).first() is None  # nothing written
        assert s.execute(select(AuditRecord)).first() is None


def test_init_trial_refuses_a_second_copy_and_bad_protocols(trial, factory, tmp_path):
    with pytest.raises(InputError, match="already set up"), write_transaction(factory) as s:
        accounts.init_trial(s, "gastric_example", sites=[("C", "c", None)],
                            admin_username="boss2", admin_password="Good-pass-123")
    with pytest.raises(SpecError, match="no bundled protocol 'nope'"), \
            write_transaction(factory) as s:
        accounts.init_trial(s, "nope", sites=[("C", "c", None)], admin_username="boss2",
                            admin_password="Good-pass-123")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: X\n", encoding="utf-8")
    with pytest.raises(SpecError), write_transaction(factory) as s:
        accounts.init_trial(s, bad, sites=[("C", "c", None)], admin_username="boss2",
                            admin_password="Good-pass-123")


@pytest.mark.parametrize("text_, expected", [
    ("A:Alpha", ("A", "Alpha", None)), ("B:Beta hospital:DE", ("B", "Beta hospital", "DE"))])
def test_parse_site(text_, expected):
    assert accounts.parse_site(text_) == expected


@pytest.mark.parametrize("text_", ["A", "A:", ":x", "A:b:c:d"])
def test_parse_site_refuses(text_):
    with pytest.raises(InputError, match="CODE:NAME"):
        accounts.parse_site(text_)


def test_find_trial(trial, factory):
    with factory() as s:
        assert accounts.find_trial(s).code == trial.trial_code
        assert accounts.find_trial(s, trial.trial_code).id == trial.trial_id
        with pytest.raises(InputError, match="no trial 'X'"):
            accounts.find_trial(s, "X")


def test_find_trial_without_trials(session_factory):
    with session_factory() as s, pytest.raises(InputError, match="trial init"):
        accounts.find_trial(s)


# ----------------------------------------------------------------------------- users

def test_add_user_by_admin_and_roles(trial, factory):
    admin = trial.principal("admin", factory)
    with write_transaction(factory) as s:
        view = accounts.add_user(s, admin, "carol", "Blue-pass-123", "investigator",
                                 site_code="B", full_name="Carol C", request_id="r1")
    assert (view.username, view.role, view.site, view.blinded, view.active) == \
        ("carol", "investigator", "B", True, True)
    assert "password" not in str(view.to_dict())
    with factory() as s:
        users = {u.username: u for u in accounts.list_users(s, admin)}
        assert users["stat"].blinded is False and users["inv-a"].site == "A"
        stored = s.execute(select(User).where(User.username == "carol")).scalar_one()
        assert stored.password_hash.startswith("$argon2id$")
        assert "Blue-pass-123" not in stored.password_hash
    assert _actions(factory)[-2:] == [("user.create", "carol", None), ("role.grant", "carol", None)]
    with factory() as s:
        last = audit.list_records(s)[-1]
    assert (last["username"], last["role"], last["request_id"]) == ("admin", "admin", "r1")
    assert last["changes"] == [{"field": "role", "old": None, "new": "investigator"},
                               {"field": "site", "old": None, "new": "B"}]


@pytest.mark.parametrize("role, site, username, message", [
    ("investigator", None, "newbie", "site: an investigator works at one site"),
    ("monitor", "A", "newbie", "the monitor role is central"),
    ("investigator", "Z", "newbie", "no site 'Z'"),
    ("wizard", None, "newbie", "role: expected one of"),
    ("monitor", None, "inv-a", "user 'inv-a' already exists"),
    ("monitor", None, "bad name", "username: 'bad name' must be"),
])
def test_add_user_refuses_bad_input(trial, factory, role, site, username, message):
    head = _head(factory)
    with pytest.raises(InputError, match=message), write_transaction(factory) as s:
        accounts.add_user(s, None, username, "Fresh-pass-123", role, site_code=site)
    assert _head(factory) == head


@pytest.mark.parametrize("key", ["investigator_a", "monitor", "data_manager",
                                 "unblinded_statistician"])
def test_only_admins_manage_users_and_sites(trial, factory, key):
    who = trial.principal(key, factory)
    with pytest.raises(PermissionDenied), write_transaction(factory) as s:
        accounts.add_user(s, who, "sneaky", "Quiet-pass-123", "admin")
    with pytest.raises(PermissionDenied), write_transaction(factory) as s:
        accounts.add_site(s, who, "C", "Site C")
    with pytest.raises(PermissionDenied), write_transaction(factory) as s:
        accounts.disable_user(s, who, "inv-b")
    with pytest.raises(PermissionDenied), factory() as s:
        accounts.list_users(s, who)


def test_add_site(trial, factory):
    admin = trial.principal("admin", factory)
    with write_transaction(factory) as s:
        view = accounts.add_site(s, admin, "C", "Site C", "DE", request_id="r2")
    assert view.to_dict() == {"code": "C", "name": "Site C", "country": "DE"}
    with pytest.raises(InputError, match="site C already exists"), write_transaction(factory) as s:
        accounts.add_site(s, admin, "C", "again")
    with write_transaction(factory) as s:
        accounts.add_site(s, None, "D", "Site D")  # the command line
    assert [a for a, _, _ in _actions(factory)][-2:] == ["site.create", "site.create"]


def test_disable_user_revokes_sessions_and_tokens(trial, factory):
    settings = trial.settings
    creds = trial.users["investigator_b"]
    with write_transaction(factory) as s:
        login = authentication.login(s, username=creds.username, password=creds.password,
                               settings=settings)
        inv_b = accounts.principal(s, authentication.user_for_token(s, login.token, settings))
        api = authentication.create_api_token(s, inv_b, "script")
    admin = trial.principal("admin", factory)
    with write_transaction(factory) as s:
        view = accounts.disable_user(s, admin, creds.username, request_id="r3")
    assert view.active is False
    with factory() as s:
        for token in (login.token, api.token):
            with pytest.raises(PermissionDenied):
                authentication.user_for_token(s, token, settings)
    with pytest.raises(PermissionDenied, match="invalid username or password"), \
            write_transaction(factory) as s:
        authentication.authenticate(s, creds.username, creds.password, settings)
    with pytest.raises(InputError, match="already disabled"), write_transaction(factory) as s:
        accounts.disable_user(s, admin, creds.username)
    with pytest.raises(InputError, match="your own account"), write_transaction(factory) as s:
        accounts.disable_user(s, admin, "admin")
    with pytest.raises(InputError, match="no user 'ghost'"), write_transaction(factory) as s:
        accounts.disable_user(s, None, "ghost")
    assert ("user.disable", "inv-b", None) in _actions(factory)


# ----------------------------------------------------------------------------- logins

def test_login_success_is_audited_and_gives_an_expiring_session(trial, factory):
    creds = trial.users["investigator_a"]
    with write_transaction(factory) as s:
        login = authentication.login(s, username=creds.username, password=creds.password,
                               settings=trial.settings, client="10.0.0.1", request_id="r4")
    assert (login.username, login.role, login.site, login.trial) == \
        ("inv-a", "investigator", "A", trial.trial_code)
    assert login.token not in repr(login)
    now = dt.datetime.now(dt.UTC)
    assert now + dt.timedelta(minutes=29) < login.expires_at <= now + dt.timedelta(minutes=30)
    with factory() as s:
        stored = s.execute(select(UserSession)).scalar_one()
        assert stored.token_sha256 == token_digest(login.token)
        # the plaintext is nowhere in the database
        for table in ("sessions", "api_tokens", "audit_records"):
            dump = str(s.execute(text(f"SELECT * FROM {table}")).all())
            assert login.token not in dump
        user = authentication.user_for_token(s, login.token, trial.settings)
        assert user.username == "inv-a" and user.last_login is not None
        p = authentication.token_principal(s, login.token, trial.settings)
        assert (p.role, p.site_code) == ("investigator", "A")
        last = audit.list_records(s)[-1]
    assert (last["action"], last["username"], last["client"], last["request_id"]) == \
        ("login.success", "inv-a", "10.0.0.1", "r4")


def test_a_session_expires_and_logout_revokes_it(trial, factory):
    creds = trial.users["monitor"]
    with write_transaction(factory) as s:
        login = authentication.login(s, username=creds.username, password=creds.password,
                               settings=trial.settings)
        second = authentication.login(s, username=creds.username, password=creds.password,
                                settings=trial.settings)
    with write_transaction(factory) as s:
        s.execute(update(UserSession).where(UserSession.token_sha256 == token_digest(
            login.token)).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with factory() as s, pytest.raises(PermissionDenied, match="expired"):
        authentication.user_for_token(s, login.token, trial.settings)
    monitor = trial.principal("monitor", factory)
    with write_transaction(factory) as s:
        authentication.logout(s, monitor, second.token, request_id="r5")
        authentication.logout(s, monitor, second.token)  # twice: no error
        authentication.logout(s, monitor, "unknown")
    with factory() as s, pytest.raises(PermissionDenied, match="closed"):
        authentication.user_for_token(s, second.token, trial.settings)
    assert _actions(factory)[-1] == ("logout", "monitor", None)
    with factory() as s:
        for bad in ("", "nonsense"):
            with pytest.raises(PermissionDenied):
                authentication.user_for_token(s, bad, trial.settings)


def test_failed_logins_are_audited_with_one_message(trial, factory):
    creds = trial.users["investigator_a"]
    head = _head(factory)
    for username, password in ((creds.username, "wrong-password"), ("ghost", creds.password)):
        with pytest.raises(PermissionDenied) as info, write_transaction(factory) as s:
            authentication.login(s, username=username, password=password, settings=trial.settings,
                           client="10.0.0.2")
        assert str(info.value) == "invalid username or password"
    assert _actions(factory, head) == [("login.failure", "inv-a", "wrong password"),
                                       ("login.failure", "ghost", "unknown user")]
    with factory() as s:
        user = s.execute(select(User).where(User.username == "inv-a")).scalar_one()
        assert user.failed_logins == 1  # committed although the caller rolled back
        assert audit.verify(s).ok


def test_lockout_after_repeated_failures(make_trial, database):
    setup = make_trial()
    settings = database.settings(lockout_failures=3, lockout_minutes=10)
    creds = setup.users["investigator_a"]
    f = setup.factory()
    try:
        for _ in range(3):
            with pytest.raises(PermissionDenied), write_transaction(f) as s:
                authentication.authenticate(s, creds.username, "not-the-password", settings)
        with pytest.raises(PermissionDenied, match="locked"), write_transaction(f) as s:
            authentication.authenticate(s, creds.username, creds.password, settings)
        with f() as s:
            user = s.execute(select(User).where(User.username == creds.username)).scalar_one()
            assert user.locked_until is not None
            assert user.locked_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9)
            notes = s.execute(select(Notification)).scalars().all()
            assert [n.kind for n in notes] == ["lockout"] and "inv-a" in notes[0].message
            actions = [r["action"] for r in audit.list_records(s, entity_id=creds.username)]
            assert actions[-5:] == ["login.failure"] * 3 + ["user.lock", "login.failure"]
            assert audit.verify(s).ok
        # the lock ends after lockout_minutes
        with write_transaction(f) as s:
            s.execute(update(User).where(User.username == creds.username).values(
                locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        with write_transaction(f) as s:
            assert authentication.authenticate(s, creds.username, creds.password, settings).username \
                == creds.username
    finally:
        f.kw["bind"].dispose()


def test_a_locked_account_cannot_use_its_session(trial, factory):
    creds = trial.users["data_manager"]
    with write_transaction(factory) as s:
        login = authentication.login(s, username=creds.username, password=creds.password,
                               settings=trial.settings)
        s.execute(update(User).where(User.username == creds.username).values(
            locked_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)))
    with factory() as s, pytest.raises(PermissionDenied, match="locked"):
        authentication.user_for_token(s, login.token, trial.settings)


def test_reauthentication(make_trial, database):
    setup = make_trial()
    settings = database.settings(lockout_failures=2)
    creds = setup.users["investigator_a"]
    f = setup.factory()
    try:
        inv = setup.principal("investigator_a", f)
        with write_transaction(f) as s:
            assert authentication.reauthenticate(s, inv.user_id, creds.password, settings).id == \
                inv.user_id
        with pytest.raises(PermissionDenied, match="password is not correct"), \
                write_transaction(f) as s:
            authentication.reauthenticate(s, inv.user_id, "wrong", settings, request_id="r6")
        with f() as s:
            last = audit.list_records(s)[-1]
            assert (last["action"], last["request_id"]) == ("reauthentication.failure", "r6")
        with pytest.raises(PermissionDenied), write_transaction(f) as s:
            authentication.reauthenticate(s, inv.user_id, "wrong again", settings)
        # two failures lock the account: even the right password is refused now
        with pytest.raises(PermissionDenied, match="locked"), write_transaction(f) as s:
            authentication.reauthenticate(s, inv.user_id, creds.password, settings)
        with pytest.raises(PermissionDenied, match="disabled"), write_transaction(f) as s:
            authentication.reauthenticate(s, 9999, creds.password, settings)
    finally:
        f.kw["bind"].dispose()


def test_a_user_without_a_role_in_the_trial_has_no_principal(trial, factory):
    with write_transaction(factory) as s:
        user = s.execute(select(User).where(User.username == "dm")).scalar_one()
        s.execute(RoleAssignment.__table__.delete().where(RoleAssignment.user_id == user.id))
    with factory() as s, pytest.raises(PermissionDenied, match="no role"):
        accounts.principal(s, user)


def test_weak_hash_parameters_are_upgraded_at_login(trial, factory, database):
    creds = trial.users["monitor"]
    stronger = database.settings(argon2_time_cost=2)
    with write_transaction(factory) as s:
        authentication.authenticate(s, creds.username, creds.password, stronger)
    with factory() as s:
        stored = s.execute(select(User.password_hash).where(User.username == "monitor")
                           ).scalar_one()
    assert ",t=2," in stored


# ----------------------------------------------------------------------------- API tokens

def test_api_tokens_are_hashed_listed_and_revocable(trial, factory):
    stat = trial.principal("unblinded_statistician", factory)
    with write_transaction(factory) as s:
        issued = authentication.create_api_token(s, stat, " nightly export ", request_id="r7")
    assert issued.to_dict()["name"] == "nightly export" and issued.token not in repr(issued)
    with factory() as s:
        row = s.execute(select(ApiToken)).scalar_one()
        assert row.token_sha256 == token_digest(issued.token)
        assert authentication.user_for_token(s, issued.token, trial.settings).username == "stat"
        assert authentication.list_api_tokens(s, stat) == [
            {"id": issued.id, "name": "nightly export", "created_at": row.created_at.isoformat(),
             "revoked_at": None}]
    other = trial.principal("monitor", factory)
    with pytest.raises(PermissionDenied, match=f"no token {issued.id} of yours"), \
            write_transaction(factory) as s:
        authentication.revoke_api_token(s, other, issued.id)
    with pytest.raises(PermissionDenied, match="no token 999 of yours"), \
            write_transaction(factory) as s:
        authentication.revoke_api_token(s, stat, 999)
    with write_transaction(factory) as s:
        authentication.revoke_api_token(s, stat, issued.id)
    with factory() as s, pytest.raises(PermissionDenied, match="revoked"):
        authentication.user_for_token(s, issued.token, trial.settings)
    with pytest.raises(InputError, match="already revoked"), write_transaction(factory) as s:
        authentication.revoke_api_token(s, stat, issued.id)
    assert [a for a, _, _ in _actions(factory)][-2:] == ["token.create", "token.revoke"]


def test_an_admin_may_revoke_anyones_token(trial, factory):
    inv = trial.principal("investigator_b", factory)
    with write_transaction(factory) as s:
        issued = authentication.create_api_token(s, inv, "lab")
    with write_transaction(factory) as s:
        authentication.revoke_api_token(s, trial.principal("admin", factory), issued.id)


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_api_token_names(trial, factory, name):
    with pytest.raises(InputError, match="name: a token needs a name"), \
            write_transaction(factory) as s:
        authentication.create_api_token(s, trial.principal("monitor", factory), name)
