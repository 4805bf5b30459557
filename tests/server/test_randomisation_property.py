"""Property: the service allocates exactly what the pure ``oncotrial.randomise.allocate``
gives for the same seed and sequence of strata (the simulator's function), for a sealed
block list and for minimisation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from randomisation_fixtures import build_trial, sqlite_url

from oncotrial.protocol import Protocol
from oncotrial.randomise import AllocationState, allocate
from oncotrial.randomise.strata import Design

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2 ** 62 - 1))
def test_service_equals_pure_allocate(name: str, data: st.DataObject, seed: int) -> None:
    protocol = Protocol.load(name)
    design = Design.from_protocol(protocol)
    strata = data.draw(st.lists(st.sampled_from(design.strata), min_size=1, max_size=14))
    per_stratum = 16 if protocol.randomisation.method == "blocks" else None
    with tempfile.TemporaryDirectory() as folder:
        db = build_trial(sqlite_url(Path(folder)), name, n_sites=2, migrate=True)
        try:
            db.go_live(per_stratum=per_stratum, seed=seed)
            state = AllocationState.initial(protocol)
            for i, levels in enumerate(strata):
                factors = dict(zip(design.factors, levels, strict=True))
                site = db.sites[i % 2]
                code = db.register(site, factors).code
                view = db.randomise(code, site)
                arm, state = allocate(state, factors, protocol=protocol, seed=seed, subject=code,
                                      per_stratum=per_stratum)
                assert view.arm == arm and view.sequence == state.counter
        finally:
            db.dispose()
