"""A real ``uvicorn`` server process on a free port: log in and randomise over HTTP,
retry with the same idempotency key, and verify the audit trail."""

from __future__ import annotations

import uuid

import httpx
import pytest
from api_fixtures import PASSWORD, build_world, subject_body, uvicorn_server


@pytest.mark.slow
def test_randomise_over_http_against_a_uvicorn_process(database):
    world = build_world(database.url, owner_url=database.owner_url, randomise_per_site=0,
                        register_per_site=0)
    world.close()
    with uvicorn_server(database.url, migration_url=database.owner_url) as (_, base), \
            httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/auth/login", json={"username": "inv-S01", "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        codes = []
        for i in range(4):
            created = client.post("/api/subjects", headers=auth,
                                  json=subject_body("S01", i, "gastric"))
            assert created.status_code == 201, created.text
            codes.append(created.json()["code"])
        allocations = []
        for code in codes:
            key = uuid.uuid4().hex
            first = client.post(f"/api/subjects/{code}/randomise", headers={
                **auth, "Idempotency-Key": key, "X-Request-ID": f"http-{code}"},
                json={"password": PASSWORD})
            assert first.status_code == 200, first.text
            assert first.headers["X-Request-ID"] == f"http-{code}"
            retry = client.post(f"/api/subjects/{code}/randomise",
                                headers={**auth, "Idempotency-Key": key},
                                json={"password": PASSWORD})
            assert retry.json() == first.json()
            allocations.append(first.json())
        assert [a["sequence"] for a in allocations] == [1, 2, 3, 4]
        assert all(a["arm"] is None and a["code"] for a in allocations)
        admin = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        verify = client.get("/api/audit/verify",
                            headers={"Authorization": f"Bearer {admin.json()['token']}"})
        assert verify.status_code == 200 and verify.json()["ok"] is True
