"""A retried registration never registers a patient twice, on SQLite and PostgreSQL: the
same Idempotency-Key and body return the subject registered first (API, service, and the
web form sent twice), the same key with another body is refused with a 409, and another
site's key reveals nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from randomisation_fixtures import BLINDED, PASSWORD
from sqlalchemy import func, select
from web_fixtures import build_web_world, csrf_of, register_form

from oncotrial.errors import AllocationError, PermissionDenied
from oncotrial.server.db.models import AuditRecord, Subject
from oncotrial.server.services import subjects


@pytest.fixture
def world(database):
    w = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    yield w
    w.close()


def _count(world, model) -> int:
    with world.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _body(site: str = "S01") -> dict:
    from randomisation_fixtures import eligible
    from web_fixtures import factors

    return {"site": site, "factors": factors(0), "eligibility": eligible("gastric", factors(0))}


def _token(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/api/auth/login", json={"username": username,
                                                 "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_api_retry_returns_the_first_subject(world):
    client = TestClient(world.app)
    headers = {**_token(client, "inv-S01"), "Idempotency-Key": "reg-key-0001"}
    before, audited = _count(world, Subject), _count(world, AuditRecord)
    first = client.post("/api/subjects", json=_body(), headers=headers)
    again = client.post("/api/subjects", json=_body(), headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["code"] == first.json()["code"]
    assert _count(world, Subject) == before + 1
    assert _count(world, AuditRecord) == audited + 1  # the retry writes nothing
    other = client.post("/api/subjects", json={**_body(), "subject_code": "S01-XYZ"},
                        headers=headers)
    assert other.status_code == 409 and "another registration" in other.text
    assert _count(world, Subject) == before + 1
    # without a key every request registers a new subject, as before
    plain = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    codes = {client.post("/api/subjects", json=_body(), headers=plain).json()["code"]
             for _ in range(2)}
    assert len(codes) == 2
    bad = client.post("/api/subjects", json=_body(), headers={**plain, "Idempotency-Key": "x"})
    assert bad.status_code == 422


def test_another_sites_key_reveals_nothing(world):
    with world.db.write() as session:
        view = subjects.register(session, world.db.investigator("S02"), subject_code=None,
                                 site_code="S02", eligibility=_body("S02")["eligibility"],
                                 factors=_body("S02")["factors"], idempotency_key="shared-key-1")
    with world.db.write() as session, pytest.raises(PermissionDenied) as refused:
        subjects.register(session, world.db.investigator("S01"), subject_code=None,
                          site_code="S01", eligibility=_body()["eligibility"],
                          factors=_body()["factors"], idempotency_key="shared-key-1")
    assert view.code not in str(refused.value)
    with world.db.write() as session, pytest.raises(AllocationError):
        subjects.register(session, world.db.investigator("S02"), subject_code=None,
                          site_code="S02", eligibility={**_body("S02")["eligibility"], "age": 70},
                          factors=_body("S02")["factors"], idempotency_key="shared-key-1")


def test_the_web_form_sent_twice_registers_once(world):
    page = world.login("inv-S01")
    form = page.get("/subjects/new")
    key = form.text.split('name="idempotency_key" value="')[1].split('"')[0]
    data = {**register_form(0), "idempotency_key": key}
    before = _count(world, Subject)
    first = page.post("/subjects/new", data, csrf=csrf_of(form.text))
    second = page.post("/subjects/new", data, csrf=csrf_of(form.text))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert _count(world, Subject) == before + 1
    # a new form shown gets a new key
    assert key not in page.get("/subjects/new").text
