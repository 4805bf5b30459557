"""Monte-Carlo assessment: closed forms for predictability, determinism, validation."""

from __future__ import annotations

import pytest
from randomise_fixtures import Factor, Minimisation, protocol

from oncotrial.core.errors import InputError
from oncotrial.randomise import Assessment, assess, default_methods, probabilities_from_prevalences


def test_fixed_blocks_of_two_predictability_is_three_quarters():
    p = protocol(factors=[Factor("site", ["all"])])  # one stratum: every patient's stratum is the same
    a = assess(p, "blocks:2", 150, 10_000, 5)
    pred = a.table.loc[0, "predictability"]
    assert abs(pred - 0.75) < 0.003  # SE ~ 0.0003
    assert abs(a.table.loc[0, "excess_over_fixed_guess"] - 0.25) < 0.003
    assert a.table.loc[0, "overall_max"] == 0  # even n, blocks of 2: exactly balanced


def test_simple_randomisation_predictability_is_chance():
    a = assess(protocol(), "simple", 150, 4000, 6)
    assert abs(a.table.loc[0, "predictability"] - 0.5) < 0.005
    assert a.table.loc[0, "fixed_guess"] == 0.5


def test_blocks_bound_and_ordering_of_methods():
    methods = default_methods(protocol())
    assert methods == ("blocks:2,4,6", "blocks:4,6", "blocks:4", "minimisation:p=0.8", "simple")
    a = assess(protocol(), methods, 150, 2000, 7).table.set_index("method")
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


# ----------------------------------------------------------------------------- unequal ratios

def _two_to_one(**kw):
    return protocol((2, 1), [3, 6], factors=[Factor("site", ["all"])], **kw)


def test_two_to_one_fixed_blocks_of_three_exact_predictability():
    # AAB, ABA, BAA equally likely; the site guesses the larger arm when tied (2/3 right),
    # then the arm below its share: 2/3 right at position 2 and always at position 3
    a = assess(_two_to_one(), "blocks:3", 150, 10_000, 3).table.iloc[0]
    assert a["fixed_guess"] == pytest.approx(2 / 3)
    assert a["predictability"] == pytest.approx(7 / 9, abs=0.004)
    assert a["excess_over_fixed_guess"] == pytest.approx(7 / 9 - 2 / 3, abs=0.004)
    assert a["overall_max"] == pytest.approx(0)  # 150 is a multiple of 3


def test_two_to_one_guessing_beats_the_fixed_guess_only_with_restriction():
    t = assess(_two_to_one(), ["blocks:3,6,9", "simple"], 150, 4000, 8).table.set_index("method")
    assert t["fixed_guess"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert t.loc["blocks:3,6,9", "excess_over_fixed_guess"] > 0.03
    # with independent allocations no guess beats always guessing the larger arm
    assert t.loc["simple", "predictability"] < 2 / 3 + 0.005


def test_default_methods_scale_with_the_ratio():
    p = protocol((2, 1), [6], method="minimisation", minimisation=Minimisation({"origin": 1, "stage": 1}, 0.9))
    assert default_methods(p) == ("blocks:3,6,9", "blocks:6,9", "blocks:6", "minimisation", "simple")
    assert default_methods(protocol((1, 1, 2), [4, 12])) == (
        "blocks", "blocks:4,8,12", "blocks:8,12", "blocks:8", "minimisation:p=0.8", "simple")
    t = assess(p, None, 60, 200, 1).table
    assert t["method"].tolist() == list(default_methods(p)) and t["predictability"].notna().all()


def test_prevalences_give_independent_stratum_probabilities():
    p = protocol((2, 1), [3], factors=[Factor("ecog", [0, 1]), Factor("region", ["eu", "asia", "us"])])
    probs = probabilities_from_prevalences(p, {"ecog": {"0": 0.6}, "region": {"eu": 0.5}})
    assert probs["ecog=0|region=eu"] == pytest.approx(0.3)
    assert probs["ecog=1|region=us"] == pytest.approx(0.4 * 0.25)
    assert sum(probs.values()) == pytest.approx(1)
    assert probabilities_from_prevalences(p, {"ecog": {1: 1.0}})["ecog=0|region=eu"] == 0
    for bad, message in (({"ecog": {0: 0.6, 1: 0.6}}, "must sum to 1"), ({"ecog": {2: 0.5}}, "unknown level"),
                         ({"stage": {"x": 1}}, r"unknown factor\(s\) \['stage'\]"),
                         ({"ecog": {0: 1.5}}, r"ecog=0 must be a number in \[0, 1\]")):
        with pytest.raises(InputError, match=message):
            probabilities_from_prevalences(p, bad)


def test_the_protocols_declared_prevalences_are_the_default():
    p = protocol(factors=[Factor("site", ["a", "b"], prevalence={"a": 1.0})])
    assert assess(p, "simple", 10, 10, 1).stratum_probabilities == {"site=a": 1.0, "site=b": 0.0}
