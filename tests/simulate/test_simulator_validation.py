"""The simulator's own numbers against the design's: a plain exponential OS-driven scenario
(uniform accrual, exponential dropout) must give the medians, hazard ratio, event counts and
event times that :mod:`oncotrial.design.events` expects, within Monte-Carlo error."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import yaml

from oncotrial.design import expected_events, time_to_events
from oncotrial.protocol import Protocol
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.template import scenario_template
from oncotrial.simulate.trial import analysis_dates, simulate_trial
from oncotrial.simulate.visits import DAYS_PER_MONTH
from oncotrial.stats.cox import coxph

REPLICAS = 80
PATIENTS = 300
MEDIANS = {"C": 10.0, "E": 10.0 / 0.7}   # hazard ratio 0.7
ACCRUAL_DAYS = 730
CUTOFF_DAYS = 1100
DROPOUT = (0.1, 12.0)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    """Two arms 2:1 (experimental:control), no strata, permuted blocks."""
    data = Protocol.load("gastric_example").to_dict()
    data["arms"] = [{"code": "C", "label": "Control", "ratio": 1, "role": "control"},
                    {"code": "E", "label": "Experimental", "ratio": 2, "role": "experimental"}]
    data["regimens"] = {"C": data["regimens"]["CAPOX"], "E": data["regimens"]["CAPOXPD1"]}
    data["stratification"] = []
    data["randomisation"] = {"method": "blocks", "block_sizes": [3, 6]}
    data["analysis"]["adjust_for"] = []
    for endpoint in data["endpoints"]:
        endpoint.pop("analysis", None)
    return Protocol.from_dict(data)


@pytest.fixture(scope="module")
def scenario(protocol) -> Scenario:
    data = yaml.safe_load(scenario_template(protocol))
    data["patients"] = PATIENTS
    data["accrual"] = {"start": date(2030, 1, 1), "end": date(2031, 1, 1), "weekdays_only": False}
    data["cutoff"] = date(2033, 1, 5)
    data["follow_up"]["dropout"] = {"rate": DROPOUT[0], "months": DROPOUT[1]}
    for arm, median in MEDIANS.items():
        data["disease"]["arms"][arm] = {"overall_survival": {"median": median},
                                        "progression_free": {"median": median / 3}}
    return Scenario.from_dict(data, protocol=protocol)


def _design(scenario):
    months = (scenario.accrual.end - scenario.accrual.start).days / DAYS_PER_MONTH
    return {"subjects": PATIENTS, "median_control": MEDIANS["C"],
            "median_experimental": MEDIANS["E"], "allocation_ratio": 2.0,
            "accrual_time": months, "dropout_rate": DROPOUT[0], "dropout_time": DROPOUT[1]}


@pytest.fixture(scope="module")
def replicas(scenario):
    return [simulate_trial(scenario, seed=seed) for seed in range(REPLICAS)]


def _within(values, expected, sigmas=4.0):
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - expected) < sigmas * se, (values.mean(), expected, se)


def test_latent_os_medians_are_the_targets(replicas):
    for arm, median in MEDIANS.items():
        medians = [np.median(t.truth.loc[t.truth["ARMCD"] == arm, "DEATH_LATENT"]) for t in replicas]
        _within(medians, median)


def test_deaths_by_the_cutoff_are_the_designs_expected_events(replicas, scenario):
    t = (scenario.cutoff - scenario.accrual.start).days / DAYS_PER_MONTH
    expected = float(expected_events(t, **_design(scenario)))
    _within([(t_.truth["OS_CNSR"] == 0).sum() for t_ in replicas], expected)
    lost = np.mean([t_.truth["DROPOUT_DT"].notna().mean() for t_ in replicas])
    assert 0.05 < lost < 0.25  # 10 % a year, followed 2 to 3 years, death competing


def test_cox_hazard_ratio_is_the_target(replicas):
    log_hr = []
    for t in replicas:
        data = t.truth.assign(E=(t.truth["ARMCD"] == "E").astype(float),
                              EVENT=(t.truth["OS_CNSR"] == 0).astype(float))
        fit = coxph(data, time="OS_MONTHS", event="EVENT", covariates=["E"])
        log_hr.append(float(fit.coef[0]))
    _within(log_hr, np.log(0.7))


def test_event_driven_cutoff_falls_when_the_design_expects(scenario):
    events = 150
    driven = scenario.with_changes({"cutoff": {"events": [events]}})
    start = np.datetime64(scenario.accrual.start, "D")
    months = [float((np.datetime64(analysis_dates(driven, seed=seed)[0], "D") - start)
                    .astype(np.int64)) / DAYS_PER_MONTH for seed in range(REPLICAS)]
    _within(months, float(time_to_events(events, **_design(scenario))), sigmas=5.0)
