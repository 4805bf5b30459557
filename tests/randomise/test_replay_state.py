"""Replaying a stored state, numeric stratum levels and the seed fingerprint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from randomise_fixtures import Factor, Minimisation, protocol

from oncotrial.core.errors import InputError
from oncotrial.randomise import AllocationState, Replay, allocate, replay, replay_state

FACTORS = [Factor("region", ["europe", "asia", "americas"]), Factor("ecog", [0, 1]),
           Factor("pdl1", ["low", "high"])]
LEVELS = {f.name: f.levels for f in FACTORS}
strata_st = st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in LEVELS.items()}),
                     min_size=1, max_size=30)


def _gastric(method: str):
    mini = Minimisation({"region": 1.0, "ecog": 1.0, "pdl1": 2.0}, p=0.8) if method == "minimisation" else None
    return protocol((2, 1), [3, 6], method=method, factors=FACTORS, minimisation=mini)


def _run(p, seed, strata, method):
    state = AllocationState.initial(p, method)
    arms = []
    for i, s in enumerate(strata):
        arm, state = allocate(state, s, protocol=p, seed=seed, subject=f"S{i:03d}")
        arms.append(arm)
    return arms, state


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32), strata_st, st.sampled_from(["blocks", "minimisation", "simple"]))
def test_a_stored_state_replays_exactly(seed, strata, method):
    p = _gastric(method)
    arms, state = _run(p, seed, strata, method)
    stored = AllocationState.from_dict(json.loads(json.dumps(state.to_dict())))
    result = replay_state(stored, p, seed)
    assert isinstance(result, Replay) and result.ok and result.seeded
    assert result.table["replayed"].tolist() == arms == result.table["arm"].tolist()
    assert [a for _, _, a in stored.allocations] == arms == replay(p, seed, strata, method)
    assert result.to_dict()["ok"] is True


@pytest.mark.parametrize("method", ["blocks", "minimisation", "simple"])
def test_an_edited_arm_is_found_and_named(method):
    p = _gastric(method)
    rng = np.random.default_rng(1)
    strata = [{k: v[rng.integers(len(v))] for k, v in LEVELS.items()} for _ in range(40)]
    _, state = _run(p, 11, strata, method)
    data = state.to_dict()
    record = data["allocations"][6]
    record["arm"] = "A1" if record["arm"] == "A0" else "A0"
    tampered = AllocationState.from_dict(data)
    result = replay_state(tampered, p, 11)
    assert not result.ok
    assert result.problems[0].startswith(f"allocation 7 (S006, {record['stratum']}): stored arm "
                                         f"{record['arm']}, the seed gives")
    # the bookkeeping no longer matches the edited history either
    assert replay_state(tampered, p).problems == (
        "the stored counts differ from those of the 40 recorded allocations",)


def test_edited_counts_and_a_duplicated_subject_are_found():
    p = _gastric("minimisation")
    _, state = _run(p, 5, [{"region": "asia", "ecog": 1, "pdl1": "low"}] * 3, "minimisation")
    data = state.to_dict()
    data["counts"]["ecog=1"]["A0"] += 1
    assert replay_state(AllocationState.from_dict(data), p, 5).problems[-1].startswith(
        "the stored counts differ")
    data = state.to_dict()
    data["allocations"][2]["subject"] = "S000"
    problems = replay_state(AllocationState.from_dict(data), p, 5).problems
    assert "subject 'S000' is already randomised" in problems[0]


def test_replay_refuses_another_seed_and_an_unrecorded_state():
    p = _gastric("simple")
    _, state = _run(p, 5, [{"region": "asia", "ecog": 0, "pdl1": "low"}], "simple")
    with pytest.raises(InputError, match="seed: 6 is not the seed of this state's allocations"):
        replay_state(state, p, 6)
    with pytest.raises(InputError, match="seed: 6 is not the seed of the 1 earlier allocation"):
        allocate(state, {"region": "asia", "ecog": 0, "pdl1": "low"}, protocol=p, seed=6)
    data = state.to_dict()
    del data["allocations"]
    with pytest.raises(InputError, match=r"state: records 0 allocation\(s\) but counts 1"):
        replay_state(AllocationState.from_dict(data), p, 5)


@pytest.mark.parametrize("value", [1, 1.0, "1", " 1 ", np.int64(1), np.float64(1.0)])
def test_numeric_levels_match_however_they_are_recorded(value):
    p = _gastric("minimisation")
    s0 = AllocationState.initial(p)
    want = allocate(s0, {"region": "asia", "ecog": 1, "pdl1": "low"}, protocol=p, seed=3)
    got = allocate(s0, {"region": "asia", "ecog": value, "pdl1": "low"}, protocol=p, seed=3)
    assert got == want
    assert got[1].allocations[0][1] == "region=asia|ecog=1|pdl1=low"


@pytest.mark.parametrize("value", [True, 2, 0.5, "one", ""])
def test_values_that_are_not_declared_levels(value):
    p = _gastric("simple")
    with pytest.raises(InputError, match=r"factor 'ecog' has unknown level .*declared levels: \['0', '1'\]"):
        allocate(AllocationState.initial(p), {"region": "asia", "ecog": value, "pdl1": "low"},
                 protocol=p, seed=3)
