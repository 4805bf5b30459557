"""The one mapping of errors to HTTP (``oncotrial.server.app.error_response``), and the
handlers that apply it to whatever a service raises."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from randomisation_fixtures import FAST

from oncotrial.errors import (
    AllocationError,
    ConcurrencyConflict,
    DataError,
    InputError,
    OncotrialError,
    PermissionDenied,
    SpecError,
)
from oncotrial.server.app import RETRY_AFTER_SECONDS, create_app, error_response
from oncotrial.server.services.subjects import SubjectNotFound
from oncotrial.server.settings import Settings


@pytest.mark.parametrize("exc, status", [
    (InputError("bad", field="eligibility.age"), 422),
    (SpecError(["a: b"]), 422),
    (DataError("bad", variable="AVAL"), 422),
    (AllocationError("list exhausted"), 409),
    (ConcurrencyConflict("busy"), 409),
    (PermissionDenied("no"), 403),
    (SubjectNotFound("no subject X at your site(s)"), 404),
    (OncotrialError("internal detail"), 500),
    (RuntimeError("internal detail"), 500),
])
def test_error_response(exc, status):
    got, body, headers = error_response(exc)
    assert got == status
    if status == 422:
        assert body["detail"][0]["msg"]
    if isinstance(exc, ConcurrencyConflict):
        assert headers == {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if status == 404:
        assert body == {"detail": "not found"}  # the same for a code that does not exist
    if status == 500:
        assert "internal detail" not in str(body)


def test_input_error_names_the_field():
    _, body, _ = error_response(InputError("eligibility.age: bad", field="eligibility.age"))
    assert body["detail"][0]["loc"] == ["body", "eligibility", "age"]


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", **FAST))
    errors = {"conflict": ConcurrencyConflict("the database is busy; retry"),
              "refused": AllocationError("list exhausted for stratum s"),
              "denied": PermissionDenied("the monitor role may not perform randomise"),
              "base": OncotrialError("oops /internal/path")}

    def raiser(exc: Exception):
        def route() -> None:
            raise exc
        return route

    for name, exc in errors.items():
        app.add_api_route(f"/_raise/{name}", raiser(exc))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_handlers_apply_the_mapping(client):
    conflict = client.get("/_raise/conflict")
    assert conflict.status_code == 409
    assert conflict.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert client.get("/_raise/refused").json() == {"detail": "list exhausted for stratum s"}
    assert client.get("/_raise/denied").status_code == 403
    base = client.get("/_raise/base")
    assert base.status_code == 500 and "internal" not in base.text.replace(
        "internal server error", "")
    for response in (conflict, base):
        assert response.headers["X-Request-ID"]


def test_unknown_path_and_method(client):
    assert client.get("/api/nothing-here").status_code == 404
    assert client.delete("/api/trial").status_code == 405
