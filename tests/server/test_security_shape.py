"""Blinded allocation responses have one shape whichever arm: the same keys, masked codes
of the same length, ``arm`` always null, and bodies whose length does not depend on the
arm — so neither the content nor the size of a response tells a site the allocation."""

from __future__ import annotations

import pytest
from api_fixtures import build_world, subject_body


@pytest.fixture
def world(database):
    w = build_world(database.url, owner_url=database.owner_url, randomise_per_site=0,
                    register_per_site=0)
    yield w
    w.close()


def _shape(value):
    """Keys and value types, with the length of strings that are codes."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def test_allocation_responses_have_the_same_shape_for_every_arm(world):
    by_arm: dict[str, list[dict]] = {}
    sizes: dict[str, set[int]] = {}
    for i in range(12):
        code = f"S01-{i:03d}"
        created = world.call("inv_a", "POST", "/api/subjects",
                             body=subject_body("S01", 0, "gastric", subject_code=code))
        assert created.status_code == 201, created.text
        response = world.randomise("inv_a", code)
        assert response.status_code == 200, response.text
        stat = world.call("unblinded_statistician", "GET", "/api/allocations").json()
        arm = next(a["arm"] for a in stat if a["subject"] == code)
        by_arm.setdefault(arm, []).append(response.json())
        # same stratum, same subject-code length: the body length may differ only by the
        # digits of the timestamp and the sequence number, never by the arm
        body = response.json()
        sizes.setdefault(arm, set()).add(len(response.content) - len(body["allocated_at"])
                                         - len(str(body["sequence"])))
    assert set(by_arm) == {"CAPOX", "CAPOXPD1"}, "both arms were allocated"
    shapes = {repr(_shape(b)) for bodies in by_arm.values() for b in bodies}
    assert len(shapes) == 1
    for bodies in by_arm.values():
        for body in bodies:
            assert body["arm"] is None
    lengths = {len(b["code"]) for bodies in by_arm.values() for b in bodies}
    assert len(lengths) == 1
    assert sizes["CAPOX"] == sizes["CAPOXPD1"] and len(sizes["CAPOX"]) == 1
    listed = world.call("inv_a", "GET", "/api/allocations").json()
    assert len({repr(_shape(a)) for a in listed}) == 1
