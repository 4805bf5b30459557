"""Monte-Carlo assessment: closed forms for predictability, determinism, validation."""

from __future__ import annotations

import pytest
from randomise_fixtures import Factor, protocol

from oncotrial.core.errors import InputError
from oncotrial.randomise import COMPARISON, Assessment, assess


def test_fixed_blocks_of_two_predictability_is_three_quarters():
    p = protocol(factors=[Factor("site", ["all"])])  # one stratum: every patient's stratum is the same
    a = assess(p, "blocks:2", 150, 10_000, 5)
    pred = a.table.loc[0, "predictability"]
    assert abs(pred - 0.75) < 0.003  # SE ~ 0.0003
    assert abs(a.table.loc[0, "excess"] - 0.25) < 0.003
    assert a.table.loc[0, "overall_max"] == 0  # even n, blocks of 2: exactly balanced


def test_simple_randomisation_predictability_is_chance():
    a = assess(protocol(), "simple", 150, 4000, 6)
    assert abs(a.table.loc[0, "predictability"] - 0.5) < 0.005
    assert a.table.loc[0, "chance"] == 0.5


def test_blocks_bound_and_ordering_of_methods():
    a = assess(protocol(), COMPARISON, 150, 2000, 7).table.set_index("method")
    # within a stratum, blocks never leave more than half the largest block
    assert a.loc["blocks:2,4,6", "stratum_max"] <= 3 and a.loc["blocks:4", "stratum_max"] <= 2
    assert a.loc["blocks:4", "predictability"] > a.loc["blocks:4,6", "predictability"] > 0.6
    assert a.loc["simple", "overall_mean"] > 5 * a.loc["blocks:2,4,6", "overall_mean"]


def test_result_records_seed_and_is_deterministic():
    calls = []
    a = assess(protocol(), ["blocks", "simple"], 20, 50, 99, progress=lambda d, t: calls.append((d, t)))
    b = assess(protocol(), ["blocks", "simple"], 20, 50, 99)
    assert isinstance(a, Assessment) and a.seed == 99 and a.to_dict()["seed"] == 99
    assert a.table.equals(b.table) and a.per_stratum.equals(b.per_stratum)
    assert calls[-1] == (40, 40) and len(calls) == 40
    assert a.to_frame()["method"].tolist() == ["blocks", "simple"]
    assert set(a.per_level["level"]) == {"origin=uterine", "origin=soft_tissue",
                                         "stage=locally_advanced", "stage=metastatic"}
    # adding a method does not change the others (common arrivals, per-method streams)
    c = assess(protocol(), ["simple"], 20, 50, 99)
    assert c.table.iloc[0].equals(a.table.iloc[1].rename(0))


def test_stratum_probabilities():
    labels = ["origin=uterine|stage=locally_advanced", "origin=uterine|stage=metastatic",
              "origin=soft_tissue|stage=locally_advanced", "origin=soft_tissue|stage=metastatic"]
    a = assess(protocol(), "blocks", 100, 200, 1, stratum_probabilities={labels[0]: 1.0})
    s = a.per_stratum.set_index("stratum")
    assert s.loc[labels[1], "max"] == 0 and a.stratum_probabilities[labels[0]] == 1.0
    with pytest.raises(InputError, match="sum to 1"):
        assess(protocol(), "blocks", 10, 10, 1, stratum_probabilities=[0.5, 0.5, 0.5, 0.5])
    with pytest.raises(InputError, match="unknown strata"):
        assess(protocol(), "blocks", 10, 10, 1, stratum_probabilities={"origin=lung": 1.0})


@pytest.mark.parametrize("method, message", [
    ("blocks:3", "multiples of the ratio sum 2"),
    ("blocks:x", "must be integers"),
    ("minimisation:q=1", "expected 'minimisation:p="),
    ("urn", "method: expected 'blocks"),
    ([], "at least one method"),
])
def test_invalid_methods(method, message):
    with pytest.raises(InputError, match=message):
        assess(protocol(), method, 10, 10, 1)


def test_invalid_sizes():
    with pytest.raises(InputError, match="n_sims: expected a positive integer, got 0"):
        assess(protocol(), "simple", 10, 0, 1)
