"""Schemathesis against ``/openapi.json`` through the ASGI app in-process: requests
generated from the schema (valid and invalid), sent as every kind of caller, never get a
5xx. Bounded: a few examples per operation and role, about a minute in all."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from api_fixtures import build_world
from hypothesis import HealthCheck
from schemathesis import GenerationMode

#: generated examples per operation and role
EXAMPLES = 5
ROLES = ("admin", "inv_a", "monitor", "unblinded_statistician", "anonymous")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from oncotrial.server.db.upgrade import upgrade

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    w = build_world(url)
    yield w
    w.close()


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_for_generated_requests(world, role):
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    cases = [(op, mode) for op in operations for mode in GenerationMode
             if op.path != "/api/auth/logout"]  # logout would end the run's session
    for operation, mode in cases:

        @hypothesis.given(case=operation.as_strategy(mode))
        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                             derandomize=True, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers={**(case.headers or {}), **world.headers(role)})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} as {role}: "
                                f"{response.status_code} {response.text[:200]}")

        run()
    assert not failures, "\n".join(failures[:20])
    if role != "anonymous":  # the generated requests got past authentication
        assert set(statuses) - {401}, statuses
