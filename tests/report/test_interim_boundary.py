"""The efficacy boundary of the look the data are, for group-sequential designs written in a
protocol, against rpact's getDesignGroupSequential at the information rates of the rule
(tests/fixtures/r/rpact_interim_boundary.R); the look refused outside the design."""

from __future__ import annotations

import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.analysis import analyse, look_boundary

CASES = load_fixture("rpact_interim_boundary")["cases"]
GASTRIC = Protocol.load("gastric_example")


def _with_design(design: dict) -> Protocol:
    """The example protocol with another group-sequential design."""
    spec = GASTRIC.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    spec["design"] = {**{k: v for k, v in spec["design"].items() if k != "information_rates"},
                      **{k: v for k, v in design.items() if v is not None}}
    return Protocol.from_dict(spec)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_boundary_of_the_look_equals_rpact(case):
    protocol = _with_design(case["design"])
    design, rule, used = look_boundary(protocol, case["look"], case["events"] / case["max_events"])
    final = case["look"] == case["design"]["looks"]
    assert used is not final  # an interim look at the observed fraction, the final one at 1
    assert rule.startswith("final look" if final else "interim look at the observed information fraction")
    assert_close(design.information_rates, case["information_rates_used"], what="information rates")
    assert_close(design.critical_values, case["critical_values"], what="critical values")
    assert_close(design.nominal_p, case["stage_levels"], what="nominal levels")
    assert_close(design.alpha_spent, case["alpha_spent"], what="alpha spent")


def test_the_example_protocol_is_the_fixture_design():
    """The gastric cases of the fixture are the example protocol's design, unchanged."""
    case = next(c for c in CASES if c["name"].startswith("gastric look 1, 96"))
    direct, _, _ = look_boundary(GASTRIC, 1, 96 / 576)
    assert_close(direct.nominal_p, case["stage_levels"], what="nominal levels")
    d = GASTRIC.design
    assert (d.looks, d.information_rates, d.spending, d.alpha, d.sided) == (2, [0.6, 1.0], "asOF", 0.025, 1)


def test_an_observed_fraction_outside_the_planned_sequence_keeps_the_planned_rate():
    design, rule, used = look_boundary(GASTRIC, 1, 1.02)  # more events at the interim than the maximum
    assert not used and list(design.information_rates) == [0.6, 1.0]
    assert rule == ("the observed information fraction 1.02 is not between the planned rates of the neighbouring "
                    "looks (0, 1): the planned rate 0.6 is used")


def test_a_fixed_design_has_no_boundary_to_compute():
    with pytest.raises(InputError, match=r"look: the protocol's design has one analysis") as info:
        look_boundary(Protocol.load("lms04"), 1, 0.5)
    assert info.value.field == "look"


@pytest.mark.parametrize("look", [0, 3, -1, True, 1.0, "1"])
def test_a_look_outside_the_design_is_refused_before_the_data_are_read(look):
    with pytest.raises(InputError, match=r"look: expected a look of the design from 1 to 2 \(the protocol "
                                         r"plans 2 analyses, the last the final one\), got") as info:
        analyse(None, GASTRIC, look=look)  # type: ignore[arg-type]
    assert info.value.field == "look"
    with pytest.raises(InputError, match=r"look: expected a look of the design from 1 to 1 \(the protocol plans "
                                         r"one analysis, the final one\), got 2"):
        analyse(None, "lms04", look=2)  # type: ignore[arg-type]
