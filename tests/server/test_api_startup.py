"""What ``create_app`` does before it serves: an empty database is migrated, a database
without a trial still serves, and a tampered list is
reported at start and then refused at every randomisation."""

from __future__ import annotations

import logging

from api_fixtures import build_world
from fastapi.testclient import TestClient
from randomisation_fixtures import BLINDED, FAST
from sqlalchemy import select, update

from oncotrial.server.app import create_app
from oncotrial.server.db.models import ListSlot
from oncotrial.server.db.upgrade import current_revision, head_revision
from oncotrial.server.settings import Settings


def test_an_empty_database_is_migrated_and_served(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    app = create_app(Settings(database_url=url, **FAST))
    assert current_revision(url) == head_revision()
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 200
        login = client.post("/api/auth/login", json={"username": "admin", "password": "x"})
        assert login.status_code == 403  # no user yet: the trial is set up with the CLI


def test_the_trial_of_the_protocol_is_served(sqlite_database):
    world = build_world(sqlite_database.url, randomise_per_site=0, register_per_site=0)
    world.close()
    app = create_app(Settings(database_url=sqlite_database.url, **FAST), protocol=BLINDED)
    assert app.state.trial_code == "GASTRIC-EXAMPLE"
    # a worker process of `serve --workers` names it in its settings
    app = create_app(Settings(database_url=sqlite_database.url, protocol=str(BLINDED), **FAST))
    assert app.state.trial_code == "GASTRIC-EXAMPLE"


def test_a_tampered_list_is_reported_at_start_and_refuses_randomisation(sqlite_database,
                                                                        caplog):
    world = build_world(sqlite_database.url, randomise_per_site=0)
    code = world.registered["S01"][0]
    with world.db.write() as session:  # every future slot gets the other arm
        for slot in session.scalars(select(ListSlot).where(ListSlot.allocation_id.is_(None))):
            other = "CAPOX" if slot.arm != "CAPOX" else "CAPOXPD1"
            session.execute(update(ListSlot).where(ListSlot.id == slot.id).values(arm=other))
    world.close()
    with caplog.at_level(logging.CRITICAL, logger="oncotrial.server"):
        app = create_app(Settings(database_url=sqlite_database.url, **FAST))
    assert any("randomisation refused" in r.getMessage() for r in caplog.records)
    with TestClient(app) as client:
        token = client.post("/api/auth/login", json={"username": "inv-S01",
                                                     "password": "Randomise-Me-2026"})
        response = client.post(f"/api/subjects/{code}/randomise",
                               json={"password": "Randomise-Me-2026"},
                               headers={"Authorization": f"Bearer {token.json()['token']}",
                                        "Idempotency-Key": "tamper-key-1"})
        assert response.status_code == 409
        assert "CAPOX" not in response.text
