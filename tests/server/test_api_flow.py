"""The HTTP API end to end in-process (FastAPI TestClient), on SQLite and PostgreSQL:
login, registration, go-live, randomisation with an idempotency key, errors as the
architecture maps them, request ids, and nothing written by a request that fails
validation."""

from __future__ import annotations

import uuid

import pytest
from api_fixtures import PASSWORD, build_world, subject_body
from randomisation_fixtures import BLINDED


@pytest.fixture
def world(database):
    w = build_world(database.url, "lms04", owner_url=database.owner_url)
    yield w
    w.close()


@pytest.fixture
def blinded_world(database):
    w = build_world(database.url, BLINDED, owner_url=database.owner_url)
    yield w
    w.close()


def test_openapi_is_public_and_lists_the_api(world):
    response = world.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/auth/login", "/api/subjects/{code}/randomise", "/api/audit/verify",
                 "/api/list", "/api/seed", "/api/state", "/api/go-live"):
        assert path in paths
    schemes = response.json()["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())


def test_login_register_randomise_retry_and_second_key(world):
    login = world.login("inv-S01")
    assert login.status_code == 200
    body = login.json()
    assert body["role"] == "investigator" and body["site"] == "S01" and body["token"]
    created = world.call("inv_a", "POST", "/api/subjects",
                         body=subject_body("S01", 0, "lms04", subject_code="S01-X1"))
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "S01-X1"
    assert created.json()["status"] == "registered"
    key = uuid.uuid4().hex
    first = world.randomise("inv_a", "S01-X1", key)
    assert first.status_code == 200, first.text
    again = world.randomise("inv_a", "S01-X1", key)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = world.randomise("inv_a", "S01-X1", uuid.uuid4().hex)
    assert other.status_code == 409
    assert "already" in other.json()["detail"]
    listed = world.call("inv_a", "GET", "/api/allocations").json()
    assert [a["subject"] for a in listed].count("S01-X1") == 1
    verified = world.call("admin", "GET", "/api/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is True


def test_ineligible_subject_is_stored_with_reasons_and_refused(world):
    body = subject_body("S01", 0, "lms04", subject_code="S01-INEL")
    body["eligibility"]["age"] = 12
    created = world.call("inv_a", "POST", "/api/subjects", body=body)
    assert created.status_code == 201
    assert created.json()["status"] == "ineligible"
    assert any(r.startswith("age") for r in created.json()["refusal_reasons"])
    refused = world.randomise("inv_a", "S01-INEL")
    assert refused.status_code == 409


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.update(sneaky=1), "sneaky"),
    (lambda b: b.update(site=17), "site"),
    (lambda b: b.pop("eligibility"), "eligibility"),
    (lambda b: b["eligibility"].update(age=[72]), "age"),
    (lambda b: b.update(subject_code="../etc"), "subject_code"),
])
def test_invalid_body_is_422_naming_the_field_and_writes_nothing(world, mutate, field):
    body = subject_body("S01", 0, "lms04")
    mutate(body)
    before = world.audit_count()
    response = world.call("inv_a", "POST", "/api/subjects", body=body)
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert any(field in [str(x) for x in loc] for loc in locs), locs
    assert world.audit_count() == before


def test_service_input_error_is_422_naming_the_field(world):
    body = subject_body("S01", 0, "lms04")
    body["eligibility"]["no_such_field"] = True
    before = world.audit_count()
    response = world.call("inv_a", "POST", "/api/subjects", body=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "eligibility", "no_such_field"]
    assert world.audit_count() == before


def test_randomise_needs_an_idempotency_key(world):
    code = world.registered["S01"][0]
    before = world.audit_count()
    response = world.call("inv_a", "POST", f"/api/subjects/{code}/randomise",
                          body={"password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert world.audit_count() == before


def test_go_live_takes_no_seed(world):
    response = world.call("admin", "POST", "/api/go-live", body={"seed": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "seed"]


def test_request_id_is_echoed_or_made_and_recorded(world):
    code = world.registered["S01"][0]
    response = world.client.post(f"/api/subjects/{code}/randomise", json={"password": PASSWORD},
                                 headers={**world.headers("inv_a"), "X-Request-ID": "req-42.a",
                                          "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.a"
    records = world.call("admin", "GET", "/api/audit", params={"limit": 1000}).json()
    assert any(r["request_id"] == "req-42.a" and r["entity_id"] == code for r in records)
    made = world.client.get("/api/trial", headers={"X-Request-ID": "bad id\r\nx: y"})
    assert made.headers["X-Request-ID"] != "bad id\r\nx: y"
    assert len(made.headers["X-Request-ID"]) == 32


def test_unexpected_error_is_a_generic_500(world):
    def boom() -> None:
        raise RuntimeError("secret internal detail /srv/db password=hunter2")

    world.client.app.add_api_route("/api/_boom", boom)
    response = world.client.get("/api/_boom", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "request_id": "r-1"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["X-Request-ID"] == "r-1"


def test_blinded_randomisation_over_http_is_masked(blinded_world):
    w = blinded_world
    code = w.registered["S02"][0]
    response = w.randomise("inv_b", code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["arm"] is None and body["code"]
    stat = w.call("unblinded_statistician", "GET", "/api/allocations").json()
    assert next(a for a in stat if a["subject"] == code)["arm"] in {"CAPOX", "CAPOXPD1"}


def test_emergency_unblinding_over_http(blinded_world):
    w = blinded_world
    code = w.randomised["S02"][0]
    wrong = w.call("inv_b", "POST", f"/api/subjects/{code}/unblind",
                   body={"password": "not-it", "reason": "anaphylaxis"})
    assert wrong.status_code == 403
    done = w.call("inv_b", "POST", f"/api/subjects/{code}/unblind",
                  body={"password": PASSWORD, "reason": "anaphylaxis"})
    assert done.status_code == 200, done.text
    assert done.json()["subject"] == code and done.json()["arm"] in {"CAPOX", "CAPOXPD1"}
    notes = w.call("admin", "GET", "/api/notifications").json()
    assert any(n["kind"] == "unblinding" for n in notes)
    report = w.call("admin", "GET", "/api/unblindings").json()
    assert [r["subject"] for r in report] == [code]
    assert "arm" not in report[0]


def test_unknown_or_bad_query_parameters_are_422(world):
    bogus = world.call("admin", "GET", "/api/audit", params={"bogus": 1})
    assert bogus.status_code == 422
    assert bogus.json()["detail"][0]["loc"] == ["query", "bogus"]
    too_many = world.call("admin", "GET", "/api/audit", params={"limit": 10_000})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["query", "limit"]
    page = world.call("admin", "GET", "/api/audit", params={"after": 3, "limit": 2}).json()
    assert [r["seq"] for r in page] == [4, 5]
