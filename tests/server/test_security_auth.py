"""Authentication and the audit trail through the API: lockout after repeated failures,
expired and revoked sessions and tokens, password re-entry to randomise and unblind, a
disabled account, and no way to change an audit record (PUT/PATCH/DELETE are 405)."""

from __future__ import annotations

import datetime as dt

import pytest
from api_fixtures import PASSWORD, build_world
from sqlalchemy import update

from oncotrial.server.db.models import UserSession


@pytest.fixture
def world(database):
    w = build_world(database.url, owner_url=database.owner_url,
                    settings={"lockout_failures": 3})
    yield w
    w.close()


def test_anonymous_and_bad_tokens_are_401(world):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer "}):
        response = world.client.get("/api/subjects", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_lockout_after_repeated_failures(world):
    for _ in range(3):
        assert world.login("monitor", "wrong-password").status_code == 403
    locked = world.login("monitor", PASSWORD)
    assert locked.status_code == 403
    assert "locked" in locked.json()["detail"]
    notes = world.call("admin", "GET", "/api/notifications").json()
    assert any(n["kind"] == "lockout" for n in notes)
    # the failures are in the trail, with the request id
    records = world.call("admin", "GET", "/api/audit", params={"limit": 1000}).json()
    assert sum(r["action"] == "login.failure" for r in records) >= 4
    assert any(r["action"] == "user.lock" for r in records)


def test_unknown_user_and_wrong_password_answer_alike(world):
    unknown = world.login("nobody-here", "wrong-password")
    wrong = world.login("dm", "wrong-password")
    assert unknown.status_code == wrong.status_code == 403
    assert unknown.json() == wrong.json()


def test_logout_revokes_the_session(world):
    token = world.login("dm").json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/trial", headers=headers).status_code == 200
    assert world.client.post("/api/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/api/trial", headers=headers).status_code == 401


def test_expired_session_is_refused(world):
    token = world.login("dm").json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/trial", headers=headers).status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with world.db.write() as session:
        session.execute(update(UserSession).values(expires_at=past))
    assert world.client.get("/api/trial", headers=headers).status_code == 401


def test_api_token_works_until_revoked_and_never_replaces_the_password(world):
    created = world.call("inv_b", "POST", "/api/auth/tokens", body={"name": "script"})
    assert created.status_code == 201
    token, token_id = created.json()["token"], created.json()["id"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = world.client.get("/api/auth/tokens", headers=headers).json()
    assert [t["name"] for t in listed] == ["script"] and "token" not in listed[0]
    code = world.registered["S02"][0]
    no_password = world.client.post(f"/api/subjects/{code}/randomise", json={"password": "x"},
                                    headers={**headers, "Idempotency-Key": "k-123456789"})
    assert no_password.status_code == 403
    # another user cannot revoke it; its owner can
    assert world.call("inv_a", "DELETE", f"/api/auth/tokens/{token_id}").status_code == 403
    assert world.client.get("/api/trial", headers=headers).status_code == 200
    assert world.call("inv_b", "DELETE", f"/api/auth/tokens/{token_id}").status_code == 204
    assert world.client.get("/api/trial", headers=headers).status_code == 401


def test_randomise_and_unblind_require_the_password(world):
    code = world.registered["S02"][0]
    before = world.call("unblinded_statistician", "GET", "/api/allocations").json()
    wrong = world.randomise("inv_b", code, password="not-the-password")
    assert wrong.status_code == 403
    after = world.call("unblinded_statistician", "GET", "/api/allocations").json()
    assert after == before
    randomised = world.randomised["S02"][0]
    unblind = world.call("inv_b", "POST", f"/api/subjects/{randomised}/unblind",
                         body={"password": "not-the-password", "reason": "emergency"})
    assert unblind.status_code == 403
    assert world.call("admin", "GET", "/api/unblindings").json() == []
    missing = world.call("inv_b", "POST", f"/api/subjects/{randomised}/unblind",
                         body={"reason": "emergency"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "password"]


def test_disabled_user_is_locked_out_at_once(world):
    token = world.login("dm").json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert world.call("admin", "POST", "/api/users/dm/disable").status_code == 200
    assert world.client.get("/api/trial", headers=headers).status_code == 401
    assert world.login("dm").status_code == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_audit_records_cannot_be_changed_through_the_api(world, method):
    before = world.call("admin", "GET", "/api/audit/verify").json()
    for path in ("/api/audit", "/api/audit/verify", "/api/audit/export"):
        response = world.call("admin", method, path, body={"reason": "tamper"})
        assert response.status_code == 405, (method, path)
    response = world.call("admin", method, "/api/audit/1")
    assert response.status_code in (404, 405)
    after = world.call("admin", "GET", "/api/audit/verify").json()
    assert after["ok"] and after["records"] == before["records"]


def test_no_route_mutates_audit_records(world):
    schema = world.client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        if path.startswith("/api/audit"):
            assert set(item) == {"get"}, path


def test_audit_export_is_audited_and_roles_limited(world):
    export = world.call("monitor", "GET", "/api/audit/export", params={"format": "csv"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.text.startswith("seq,")
    assert world.call("inv_a", "GET", "/api/audit/export").status_code == 403
    assert world.call("admin", "GET", "/api/audit/export",
                      params={"format": "xml"}).status_code == 422
    records = world.call("admin", "GET", "/api/audit", params={"limit": 1000}).json()
    assert records[-1]["action"] == "audit.export"
