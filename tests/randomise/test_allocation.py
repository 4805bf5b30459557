"""The pure allocation interface, minimisation and simple randomisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from randomise_fixtures import Minimisation, protocol

from oncotrial.core.errors import InputError
from oncotrial.randomise import AllocationState, allocate, assess, generate_list, replay
from oncotrial.randomise.minimisation import MinimisationConfig, choose

LEVELS = {"origin": ["uterine", "soft_tissue"], "stage": ["locally_advanced", "metastatic"]}
strata_st = st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in LEVELS.items()}), max_size=40)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), strata_st)
def test_blocks_allocation_reads_the_sealed_list(seed, strata):
    p = protocol()
    arms = replay(p, seed, strata, "blocks")
    lst = generate_list(p, seed, 41).frame
    seen: dict[str, int] = {}
    for s, arm in zip(strata, arms):
        lab = f"origin={s['origin']}|stage={s['stage']}"
        pos = seen.get(lab, 0)
        seen[lab] = pos + 1
        assert lst.loc[lst["stratum"] == lab, "arm"].astype(str).iloc[pos] == arm


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32), strata_st, st.sampled_from(["blocks", "minimisation", "simple"]))
def test_replay_prefix_and_state_round_trip(seed, strata, method):
    p = protocol()
    arms = replay(p, seed, strata, method)
    k = len(strata) // 2
    assert replay(p, seed, strata[:k], method) == arms[:k]
    state = AllocationState.initial(p, method)
    for s, expected in zip(strata, arms):
        state = AllocationState.from_dict(json.loads(json.dumps(state.to_dict())))  # as stored by the service
        arm, state = allocate(state, s, method=method, protocol=p, seed=seed)
        assert arm == expected
    assert state.counter == len(strata)
    assert sum(pos for _, pos in state.positions) == len(strata)


def test_unknown_level_and_factor_errors():
    p = protocol()
    state = AllocationState.initial(p)
    with pytest.raises(InputError, match=r"factor 'stage' has unknown level 'early'; declared levels: "
                                         r"\['locally_advanced', 'metastatic'\]"):
        allocate(state, {"origin": "uterine", "stage": "early"}, protocol=p, seed=1)
    with pytest.raises(InputError, match="missing factor 'stage'"):
        allocate(state, {"origin": "uterine"}, protocol=p, seed=1)
    with pytest.raises(InputError, match=r"unknown factor\(s\) \['centre'\]"):
        allocate(state, {"origin": "uterine", "stage": "metastatic", "centre": "x"}, protocol=p, seed=1)
    with pytest.raises(InputError, match="does not match the state's method"):
        allocate(state, {"origin": "uterine", "stage": "metastatic"}, method="simple", protocol=p, seed=1)
    with pytest.raises(InputError, match="method: expected one of blocks, minimisation, simple"):
        AllocationState.initial(p, "urn")


def test_state_is_immutable_and_counts_levels():
    p = protocol()
    s0 = AllocationState.initial(p, "minimisation")
    arm, s1 = allocate(s0, {"origin": "uterine", "stage": "metastatic"}, method="minimisation", protocol=p, seed=3)
    assert s0.counter == 0 and s1.counter == 1
    d = s1.to_dict()
    assert d["counts"]["origin=uterine"][arm] == 1 and d["counts"]["stage=metastatic"][arm] == 1
    assert d["counts"]["origin=soft_tissue"] == {"DOX": 0, "DOXTRAB": 0}
    assert d["positions"]["origin=uterine|stage=metastatic"] == 1
    with pytest.raises(InputError, match="state: data is not an AllocationState"):
        AllocationState.from_dict({"method": "blocks"})


def test_minimisation_choice_rules():
    r = np.array([1, 1])
    g = np.array([[0.0, 2.0]] * 4)
    # preferred arm 0 with u_p < p, the other arm otherwise
    assert choose(g, np.array([0.1, 0.9, 0.5, 0.5]), np.array([0.1, 0.7, 0.85, 0.99]), r, 0.8).tolist() == [0, 0, 1, 1]
    # all tied: drawn in the ratio from u_tie (2:1 -> first arm for u < 2/3)
    tied = np.zeros((3, 2))
    assert choose(tied, np.array([0.1, 0.66, 0.67]), np.zeros(3), np.array([2, 1]), 0.8).tolist() == [0, 0, 1]
    # three arms, two tied minima: u_tie picks among them
    g3 = np.array([[1.0, 0.0, 0.0]] * 2)
    assert choose(g3, np.array([0.2, 0.7]), np.zeros(2), np.array([1, 1, 1]), 0.9).tolist() == [1, 2]


def test_minimisation_deterministic_p1_balances_each_margin():
    p = protocol(method="minimisation", minimisation=Minimisation({"origin": 1.0, "stage": 1.0}, p=1.0))
    rng = np.random.default_rng(5)
    strata = [{k: v[rng.integers(2)] for k, v in LEVELS.items()} for _ in range(200)]
    arms = replay(p, 9, strata, "minimisation")
    for factor, levels in LEVELS.items():
        for lv in levels:
            sel = [a for s, a in zip(strata, arms) if s[factor] == lv]
            assert abs(sel.count("DOX") - sel.count("DOXTRAB")) <= 2


@pytest.mark.parametrize("weights, p, imbalance, message", [
    ({"origin": 1.0}, 0.8, "range", "must name exactly the factors"),
    ({"origin": 1.0, "stage": -1.0}, 0.8, "range", "finite, >= 0"),
    ({"origin": 1.0, "stage": 1.0}, 0.4, "range", r"p must be in \(1/2, 1\]"),
    ({"origin": 1.0, "stage": 1.0}, 0.8, "max", "imbalance must be one of"),
])
def test_minimisation_config_errors(weights, p, imbalance, message):
    pr = protocol(method="minimisation", minimisation=Minimisation(weights, p, imbalance))
    with pytest.raises(InputError, match=message):
        replay(pr, 1, [{"origin": "uterine", "stage": "metastatic"}], "minimisation")


def test_variance_imbalance_equals_range_for_two_arms_up_to_ordering():
    from oncotrial.randomise.minimisation import scores
    from oncotrial.randomise.strata import Design
    d = Design.from_protocol(protocol())
    c = np.array([[[3, 1], [0, 2]]])
    rg = scores(c, np.array([1, 1]), MinimisationConfig.build(d, imbalance="range"))
    var = scores(c, np.array([1, 1]), MinimisationConfig.build(d, imbalance="variance"))
    assert np.argmin(rg) == np.argmin(var) and rg.shape == (1, 2)


def test_minimisation_balances_far_better_than_simple():
    p = protocol(method="minimisation", minimisation=Minimisation({"origin": 1.0, "stage": 1.0}, p=0.8))
    a = assess(p, ["minimisation", "simple"], 150, 2000, 20240101).table.set_index("method")
    assert a.loc["minimisation", "overall_mean"] < 0.25 * a.loc["simple", "overall_mean"]
    assert a.loc["minimisation", "level_p95"] < 0.5 * a.loc["simple", "level_p95"]


def test_simple_respects_the_ratio_in_expectation():
    p = protocol((2, 1), [3, 6], method="simple")
    arms = replay(p, 4, [{"origin": "uterine", "stage": "metastatic"}] * 3000, "simple")
    share = arms.count("A0") / len(arms)
    assert abs(share - 2 / 3) < 4 * np.sqrt(2 / 9 / 3000)


def test_lms04_protocol_allocation():
    import oncotrial.protocol as mod
    lms04 = mod.Protocol.load("lms04")
    strata = [{"origin": "uterine", "stage": "metastatic"}, {"origin": "soft_tissue", "stage": "locally_advanced"}] * 5
    arms = replay(lms04, 2017, strata)
    assert arms == replay(protocol(), 2017, strata, "blocks")
    assert set(arms) <= {"DOX", "DOXTRAB"}
