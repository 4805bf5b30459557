"""The capture routes in the route walk (every role, every route; see
test_security_walk.py): no 5xx, 401 for anonymous callers, nothing concealed reaches a
blinded role, the site-A investigator neither reads nor changes the site-B subject, and the
monitor changes nothing but queries and source-data verification."""

from __future__ import annotations

import pytest
import test_security_walk as walk
from api_fixtures import build_world
from capture_fixtures import MONITOR_WRITES, capture_request, prepare_walk, walk_clock


@pytest.fixture
def world(sqlite_database, monkeypatch):
    walk_clock(monkeypatch)
    w = build_world(sqlite_database.url, owner_url=sqlite_database.owner_url)
    walk._prepare(w)
    prepare_walk(w)
    original = walk.request_for
    monkeypatch.setattr(walk, "request_for", lambda world, method, path, role: (
        capture_request(world, method, path) or original(world, method, path, role)))
    yield w
    w.close()


def _capture_ops(world):
    return [(m, p) for m, p in walk.routes(world) if capture_request(world, m, p) is not None]


def test_walk_every_capture_route_with_every_role(world):
    ops = _capture_ops(world)
    assert len(ops) >= 18
    problems = walk._walk(world, ops)
    allowed = {f"monitor mutated: {m} {p}" for m, p in MONITOR_WRITES}
    unexpected = [p for p in problems if not any(p.startswith(a) for a in allowed)]
    assert not unexpected, "\n".join(unexpected)
    # the walk reached the answers it aimed at
    book = world.call("inv_b", "GET", f"/api/subjects/{world.randomised['S02'][0]}/casebook")
    assert book.status_code == 200
    assert book.json()["records"][0]["version"] >= 1
    queries = world.call("data_manager", "GET", "/api/queries").json()
    assert {q["status"] for q in queries} >= {"closed"}
    # the monitor's two permitted writes took effect: a query raised and a record verified
    assert "monitor" in {q["raised_by"] for q in queries}
    trail = world.call("admin", "GET", "/api/audit").json()
    assert any(r["action"] == "sdv.verify" for r in trail), "the monitor's SDV left no record"


def test_every_capture_route_gets_a_body(world):
    schema = world.client.get("/openapi.json").json()
    for method, path in _capture_ops(world):
        if "requestBody" in schema["paths"][path][method.lower()]:
            assert capture_request(world, method, path)["body"] is not None, path
