"""Every route of the OpenAPI schema, called by every role of a blinded trial.

The walk asserts, for each (route, role): no 5xx; anonymous callers get 401 everywhere but
login; no blinded role reads an arm code or label, the seed, a future kit number or the
names of the concealed structures (block sizes, state) in a body or header; the monitor
changes nothing (403 on every trial mutation); the site-A investigator neither reads nor
changes the site-B subject (404/403); only the unblinded statistician reads the list, the
seed and the state. Exhaustive on SQLite; a representative subset on PostgreSQL.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from api_fixtures import PASSWORD, ROLE_USERS, World, build_world, leaks, subject_body
from capture_fixtures import MONITOR_WRITES, capture_request, prepare_walk, walk_clock

_counter = itertools.count()

#: routes whose call ends or changes the caller's own account, walked last
_LAST = ("/api/auth/logout",)
#: the order of the mutating routes: randomise before unblind before corrections
_ORDER = ("/api/subjects", "/api/subjects/{code}/randomise", "/api/subjects/{code}/unblind",
          "/api/subjects/{code}/corrections")


def routes(world: World) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema: reads first, then the
    mutations in a workable order, the caller's own logout last."""
    schema = world.client.get("/openapi.json").json()
    ops = [(m.upper(), p) for p, item in schema["paths"].items() for m in item
           if m in ("get", "post", "put", "patch", "delete")]

    def key(op: tuple[str, str]) -> tuple[int, int, str]:
        method, path = op
        return (2 if path in _LAST else 0 if method == "GET" else 1,
                _ORDER.index(path) if path in _ORDER else len(_ORDER), path)

    return sorted(ops, key=key)


def request_for(world: World, method: str, path: str, role: str) -> dict[str, Any]:
    """A request that would succeed for a role allowed to make it, aimed at site B."""
    captured = capture_request(world, method, path)
    if captured is not None:
        return captured
    n = next(_counter)
    target = world.randomised["S02"][0]
    fresh = world.registered["S02"][0]
    code = fresh if path.endswith("/randomise") else target
    url = path.replace("{code}", code).replace("{username}", "victim") \
        .replace("{token_id}", str(world.victim_token_id))
    body: Any = None
    headers: dict[str, str] = {}
    params: dict[str, Any] = {}
    if method == "POST":
        body = {
            "/api/auth/login": {"username": "nobody", "password": "wrong-password"},
            "/api/auth/tokens": {"name": f"walk-{n}"},
            "/api/sites": {"code": f"W{n}", "name": f"Walk site {n}", "country": "FR"},
            "/api/users": {"username": f"walk-{n}", "password": "Qz-8-Tamarind-Pulse",
                           "role": "monitor"},
            "/api/subjects": subject_body("S02", n, "gastric"),
            "/api/subjects/{code}/randomise": {"password": PASSWORD},
            "/api/subjects/{code}/unblind": {"password": PASSWORD, "reason": "walk"},
            "/api/subjects/{code}/corrections": {"kind": "randomised_in_error",
                                                 "reason": "walk", "password": PASSWORD},
            "/api/go-live": {},
        }.get(path)
        if path.endswith("/randomise"):
            headers["Idempotency-Key"] = f"walk-key-{n:06d}"
    if path == "/api/audit/export":
        params["format"] = "json"
    if path == "/api/audit":
        params["limit"] = 1000  # every record is searched
    return {"url": url, "body": body, "headers": headers, "params": params}


def _walk(world: World, ops: list[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    target = world.randomised["S02"][0]
    for method, path in ops:
        for role in ROLE_USERS:
            req = request_for(world, method, path, role)
            token = world.token(role)
            auth = {"Authorization": f"Bearer {token}"} if token else {}
            response = world.client.request(method, req["url"], json=req["body"],
                                            params=req["params"],
                                            headers={**auth, **req["headers"]})
            status = response.status_code
            where = f"{method} {req['url']} as {role}: {status} {response.text[:200]}"
            if status >= 500:
                problems.append(f"5xx: {where}")
            if role == "anonymous":
                if path != "/api/auth/login" and status != 401:
                    problems.append(f"anonymous not 401: {where}")
                continue
            if path == "/api/auth/logout" and status == 204:
                world.tokens.pop(role, None)  # log in again for the next route
            if role != "unblinded_statistician":
                concealed = world.concealed_strings()  # the slots still unused after it
                own_unblinding = (path.endswith("/unblind") and role == "inv_b"
                                  and status == 200)
                found = leaks(response, [s for s in concealed if not own_unblinding
                                         or s not in _arm_strings(world)])
                if found:
                    problems.append(f"leak {found}: {where}")
                if own_unblinding and response.json()["subject"] != target:
                    problems.append(f"unblinding of another subject: {where}")
                if path in ("/api/list", "/api/seed", "/api/state") and status != 403:
                    problems.append(f"concealed material not 403: {where}")
            elif path in ("/api/list", "/api/seed", "/api/state") and status != 200:
                problems.append(f"statistician cannot read: {where}")
            if role == "monitor" and method != "GET" and not path.startswith("/api/auth/") \
                    and (method, path) not in MONITOR_WRITES and status != 403:
                problems.append(f"monitor mutated: {where}")
            if role == "inv_a":
                if "{code}" in path and status not in (403, 404):
                    problems.append(f"site A reached a site-B subject: {where}")
                if path == "/api/subjects" and method == "POST" and status not in (403, 404):
                    problems.append(f"site A registered at site B: {where}")
                if method == "GET" and status == 200 and "S02-" in response.text:
                    problems.append(f"site A read site-B data: {where}")
    return problems


def _arm_strings(world: World) -> set[str]:
    return {a.code for a in world.protocol.arms} | {a.label for a in world.protocol.arms}


def _prepare(world: World) -> None:
    """A user to disable and an API token of the site-B investigator to revoke."""
    created = world.call("admin", "POST", "/api/users",
                         body={"username": "victim", "password": "Qz-8-Tamarind-Pulse",
                               "role": "data_manager"})
    assert created.status_code == 201, created.text
    token = world.call("inv_b", "POST", "/api/auth/tokens", body={"name": "victim"})
    assert token.status_code == 201, token.text
    world.victim_token_id = token.json()["id"]  # type: ignore[attr-defined]


@pytest.fixture
def world(sqlite_database, monkeypatch):
    walk_clock(monkeypatch)
    w = build_world(sqlite_database.url, owner_url=sqlite_database.owner_url)
    _prepare(w)
    prepare_walk(w)
    yield w
    w.close()


def test_walk_every_route_with_every_role(world):
    ops = routes(world)
    assert len(ops) >= 25
    problems = _walk(world, ops)
    assert not problems, "\n".join(problems)
    # the walk did reach the interesting answers
    allocations = world.call("unblinded_statistician", "GET", "/api/allocations").json()
    assert all(a["arm"] for a in allocations)
    assert any(a["status"] == "in_error" for a in allocations)  # the admin's correction
    assert world.call("admin", "GET", "/api/unblindings").json()  # inv_b's unblinding
    # positive control: the leak search finds the concealed material where it is allowed
    listing = world.call("unblinded_statistician", "GET", "/api/list")
    assert set(leaks(listing, world.concealed_strings())) >= {"block_sizes", "CAPOX"}
    seed = world.call("unblinded_statistician", "GET", "/api/seed")
    assert leaks(seed, world.concealed_strings())


def test_every_route_is_covered_by_the_walk(world):
    """Each operation gets a request body from the walk when it takes one."""
    schema = world.client.get("/openapi.json").json()
    for method, path in routes(world):
        operation = schema["paths"][path][method.lower()]
        if "requestBody" in operation:
            assert request_for(world, method, path, "admin")["body"] is not None, path


def test_site_a_lists_only_site_a(world):
    subjects = world.call("inv_a", "GET", "/api/subjects").json()
    assert subjects and {s["site"] for s in subjects} == {"S01"}
    allocations = world.call("inv_a", "GET", "/api/allocations").json()
    assert allocations and {a["site"] for a in allocations} == {"S01"}
    unknown = world.call("inv_a", "GET", "/api/subjects/S09-404")
    other = world.call("inv_a", "GET", f"/api/subjects/{world.randomised['S02'][0]}")
    assert unknown.status_code == other.status_code == 404
    assert unknown.json() == other.json()


@pytest.mark.postgres
def test_walk_representative_subset_on_postgresql(postgres_database, monkeypatch):
    walk_clock(monkeypatch)
    w = build_world(postgres_database.url, owner_url=postgres_database.owner_url)
    try:
        _prepare(w)
        prepare_walk(w)
        subset = [("GET", "/api/allocations"), ("GET", "/api/subjects/{code}"),
                  ("GET", "/api/list"), ("GET", "/api/seed"), ("GET", "/api/state"),
                  ("GET", "/api/audit"), ("POST", "/api/subjects/{code}/randomise"),
                  ("POST", "/api/subjects/{code}/unblind"), ("POST", "/api/go-live")]
        problems = _walk(w, subset)
        assert not problems, "\n".join(problems)
    finally:
        w.close()

