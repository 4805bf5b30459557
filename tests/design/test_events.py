"""events_required, expected_events and time_to_events: closed forms, rpact
getEventProbabilities (tests/fixtures/r/rpact_survival.R) and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from oncotrial.design import events_required, expected_events, time_to_events
from oncotrial.design.events import _arm_probability, _arm_scalar, _model, _phi

FIXTURE = load_fixture("rpact_survival")
LMS04_HR = 6 / 9.7
LMS04 = dict(median_control=6, median_experimental=9.7, accrual_time=24)


def _model_args(args: dict) -> dict:
    keys = ("median_control", "median_experimental", "hazard_ratio", "allocation_ratio",
            "accrual_time", "accrual_intensity", "dropout_rate", "dropout_time", "subjects")
    return {k: args[k] for k in keys if k in args}


# ------------------------------------------------------------------ events_required
def test_lms04_schoenfeld_events_closed_form():
    # 4 (z_0.975 + z_0.8)^2 / ln(6/9.7)^2 = 4 * 7.848880 / 0.230752
    z2 = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2
    assert_close(z2, 7.848880, rtol=1e-6)
    expected = 4 * z2 / math.log(LMS04_HR) ** 2
    assert_close(events_required(LMS04_HR), expected, rtol=1e-13)
    assert_close(events_required(LMS04_HR), 136.0575, rtol=1e-6)
    assert round(events_required(LMS04_HR)) == 136
    # the rounding trap of the research notes: HR rounded to 0.62 gives 137.39
    assert_close(events_required(0.62), 137.39, rtol=1e-4)


def test_lms04_freedman_and_hsieh_freedman():
    z2 = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2
    freedman = z2 * (1 + LMS04_HR) ** 2 / (1 - LMS04_HR) ** 2
    assert_close(events_required(LMS04_HR, method="freedman"), freedman, rtol=1e-13)
    assert_close(events_required(LMS04_HR, method="freedman"), 141.32, rtol=1e-4)
    # Hsieh's allocation factor is 1 at 1:1
    assert_close(events_required(LMS04_HR, method="hsieh-freedman"), freedman, rtol=1e-13)


@pytest.mark.parametrize("r", [0.5, 1.0, 2.0, 3.0])
def test_unequal_allocation_formulas(r):
    hr, z = 0.7, norm.ppf(1 - 0.025) + norm.ppf(0.9)
    kw = dict(alpha=0.025, sided=1, power=0.9, allocation_ratio=r)
    assert_close(events_required(hr, **kw), z**2 * (1 + r) ** 2 / (r * math.log(hr) ** 2),
                 rtol=1e-13)
    assert_close(events_required(hr, method="freedman", **kw),
                 z**2 * (1 + r * hr) ** 2 / (r * (1 - hr) ** 2), rtol=1e-13)
    assert_close(events_required(hr, method="hsieh-freedman", **kw),
                 z**2 * (1 + r) ** 2 * (1 + hr) ** 2 / (4 * r * (1 - hr) ** 2), rtol=1e-13)


def test_events_required_vectorised_and_sided():
    hrs = np.array([0.5, 0.6, 0.7])
    out = events_required(hrs)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert_close(out, [events_required(h) for h in hrs], rtol=1e-14)
    # one-sided 0.025 is two-sided 0.05
    assert_close(events_required(0.7, alpha=0.025, sided=1), events_required(0.7), rtol=1e-14)
    assert isinstance(events_required(0.7), float)


def test_method_spellings():
    base = events_required(0.7, method="hsieh-freedman")
    for spelling in ("HsiehFreedman", "hsieh_freedman", "Hsieh-Freedman"):
        assert events_required(0.7, method=spelling) == base
    assert events_required(0.7, method="Schoenfeld") == events_required(0.7)




# ------------------------------------------------------------ event probabilities
def test_lms04_event_probability_closed_form():
    # P(event) = 1 - [exp(-lam f) - exp(-lam (a + f))] / (lam a), a = f = 24
    def p(median):
        lam = math.log(2) / median
        return 1 - (math.exp(-lam * 24) - math.exp(-lam * 48)) / (lam * 24)

    assert_close(p(6), 0.978867, rtol=1e-6)
    assert_close(p(9.7), 0.913950, rtol=1e-6)
    n = 2.0  # one patient per arm
    got = expected_events(48, subjects=n, **LMS04)
    assert_close(got, p(6) + p(9.7), rtol=1e-13)
    # 144 randomised: 136.28 events expected at month 48 (research notes, section 1.6)
    assert_close(expected_events(48, subjects=144, **LMS04), 136.28, rtol=1e-4)


@pytest.mark.parametrize("case", FIXTURE["event_probabilities"], ids=lambda c: c["name"])
def test_expected_events_vs_rpact(case):
    args = _model_args(case["args"])
    n = args["subjects"]
    got = expected_events(case["time"], **args)
    assert_close(got, case["expected"]["expected_events"], what=f"{case['name']} events")
    assert_close(got / n, case["expected"]["overall"], what=f"{case['name']} overall")
    # per-arm probabilities (rpact eventProbabilities2 = control, 1 = experimental)
    a = case["args"]
    model = _model(a["median_control"], a.get("median_experimental"), a.get("hazard_ratio"),
                   a["accrual_time"], a.get("accrual_intensity"), a.get("dropout_rate", 0.0),
                   a.get("dropout_time", 12.0))[0]
    pc, pe = model.probabilities(np.asarray(case["time"], dtype=float))
    assert_close(pc, case["expected"]["control"], what=f"{case['name']} control")
    assert_close(pe, case["expected"]["experimental"], what=f"{case['name']} experimental")


@pytest.mark.parametrize("case", FIXTURE["event_probabilities"], ids=lambda c: c["name"])
def test_time_to_events_inverts_rpact_counts(case):
    args = _model_args(case["args"])
    times = np.asarray(case["time"], dtype=float)
    counts = np.asarray(case["expected"]["expected_events"])
    back = time_to_events(counts, **args)
    assert_close(back, times, rtol=1e-9, what=case["name"])


def test_lms04_time_of_136th_event():
    # rpact getPowerSurvival(maxNumberOfEvents = 136, maxNumberOfSubjects = 144): 47.5513501
    t = time_to_events(136, subjects=144, **LMS04)
    assert isinstance(t, float)
    assert_close(t, 47.5513501394733, rtol=1e-8)
    # research notes 1.6: N = 145.5 -> 45.55, N = 150 -> 41.17
    assert_close(time_to_events(136, subjects=145.5, **LMS04), 45.55, rtol=2e-4)
    assert_close(time_to_events(136, subjects=150, **LMS04), 41.17, rtol=2e-4)


def test_time_to_events_never_reached():
    with pytest.raises(ValueError, match="never reached"):
        time_to_events(144, subjects=144, **LMS04)
    with pytest.raises(ValueError, match="never reached"):  # dropout caps the events
        time_to_events(140, subjects=144, dropout_rate=0.2, **LMS04)
    with pytest.raises(ValueError, match="events"):
        time_to_events(0, subjects=144, **LMS04)


def test_piecewise_with_equal_intensities_is_uniform():
    uniform = expected_events([3, 10, 30], subjects=100, median_control=8, hazard_ratio=0.7,
                              accrual_time=20)
    pieces = expected_events([3, 10, 30], subjects=100, median_control=8, hazard_ratio=0.7,
                             accrual_time=[0, 5, 12, 20], accrual_intensity=[2, 2, 2])
    assert_close(pieces, uniform, rtol=1e-13)


def test_zero_intensity_piece_pauses_accrual():
    # accrual paused between months 6 and 12: nobody enters then
    kw = dict(subjects=100, median_control=8, hazard_ratio=0.7,
              accrual_time=[0, 6, 12, 18], accrual_intensity=[1, 0, 1])
    shifted = dict(subjects=100, median_control=8, hazard_ratio=0.7,
                   accrual_time=[0, 6, 12], accrual_intensity=[1, 1])
    # events at t = 6 equal; the paused version lags afterwards
    assert_close(expected_events(6, **kw), expected_events(6, **shifted), rtol=1e-13)
    assert expected_events(15, **kw) < expected_events(15, **shifted)


def test_phi_series_branch_is_continuous():
    x = np.array([1e-2 * (1 - 1e-12), 1e-2, 1e-2 * (1 + 1e-12)])
    exact = x - (1 - np.exp(-x))
    assert_close(_phi(x), exact, rtol=1e-11)
    tiny = np.array([1e-8, 1e-5])
    assert_close(_phi(tiny), tiny**2 / 2 - tiny**3 / 6, rtol=1e-12)


@pytest.mark.parametrize("accrual, intensity", [(24, None), ([0, 2, 9, 20], [1, 0, 3])])
def test_scalar_path_matches_array_path(accrual, intensity):
    """The root finder's plain-float evaluator equals the NumPy one, and its derivative is
    the derivative of the event probability."""
    model = _model(7, None, 0.6, accrual, intensity, 0.1, 12)[0]
    acc = model.acc
    pieces = tuple(zip(acc.starts.tolist(), acc.ends.tolist(), acc.density.tolist()))
    for t in (0.0, 1e-6, 0.7, 2.0, 5.5, 9.0, 19.99, 20.0, 24.0, 33.3, 400.0):
        p, dp = _arm_scalar(t, float(model.lam_e), model.eta_e, pieces)
        assert_close(p, _arm_probability(t, model.lam_e, model.eta_e, acc), rtol=1e-13,
                     atol=1e-300, what=f"t={t}")
        if t > 1e-3 and t not in (2.0, 9.0, 20.0, 24.0):  # away from kinks of the accrual
            h = 1e-5 * max(t, 1)
            numeric = (_arm_probability(t + h, model.lam_e, model.eta_e, acc)
                       - _arm_probability(t - h, model.lam_e, model.eta_e, acc)) / (2 * h)
            assert_close(dp, numeric, rtol=1e-7, atol=1e-12, what=f"t={t} derivative")


def test_expected_events_shapes_and_hr_of_one():
    assert expected_events([1, 2, 3], subjects=10, **LMS04).shape == (3,)
    assert expected_events(12.0, subjects=10, **LMS04).shape == ()
    same = expected_events(30, subjects=10, median_control=6, hazard_ratio=1.0, accrual_time=24)
    assert_close(same, expected_events(30, subjects=10, median_control=6, median_experimental=6,
                                       accrual_time=24), rtol=1e-14)




# ---------------------------------------------------------------------- properties
hazard_ratios = st.floats(0.2, 5.0).filter(lambda h: abs(math.log(h)) > 1e-3)
methods = st.sampled_from(["schoenfeld", "freedman", "hsieh-freedman"])
ratios = st.sampled_from([0.5, 1.0, 2.0, 3.0])


@given(h1=hazard_ratios, h2=hazard_ratios, method=methods, r=ratios)
def test_events_decrease_as_effect_grows(h1, h2, method, r):
    if h1 < 1 and h2 < 1 or h1 > 1 and h2 > 1:  # same side of 1: all formulas are monotone
        near, far = sorted((h1, h2), key=lambda h: abs(math.log(h)))
        if abs(math.log(far)) - abs(math.log(near)) > 1e-9:
            assert events_required(near, method=method, allocation_ratio=r) > \
                events_required(far, method=method, allocation_ratio=r)
    # Schoenfeld depends on |log HR| only, whatever the side
    near, far = sorted((h1, h2), key=lambda h: abs(math.log(h)))
    if abs(math.log(far)) - abs(math.log(near)) > 1e-9:
        assert events_required(near, allocation_ratio=r) > events_required(far, allocation_ratio=r)


def _model_strategy():
    return st.fixed_dictionaries({
        "median_control": st.floats(1.0, 60.0),
        "hazard_ratio": st.floats(0.3, 3.0),
        "allocation_ratio": ratios,
        "dropout_rate": st.sampled_from([0.0, 0.05, 0.2]),
        "accrual_time": st.sampled_from([6.0, 24.0, [0.0, 3.0, 12.0], [0.0, 1.0, 10.0, 30.0]]),
        "subjects": st.floats(10.0, 1000.0),
    }).map(lambda d: {**d, "accrual_intensity":
                      None if np.ndim(d["accrual_time"]) == 0 else
                      np.linspace(1.0, 3.0, len(d["accrual_time"]) - 1)})


@given(model=_model_strategy(), times=st.lists(st.floats(0.0, 200.0), min_size=2, max_size=8))
def test_expected_events_increasing_and_bounded(model, times):
    t = np.sort(np.asarray(times))
    e = expected_events(t, **model)
    assert np.all(np.diff(e) >= -1e-9 * model["subjects"])
    assert np.all(e >= 0) and np.all(e <= model["subjects"] * (1 + 1e-12))
    # and by the events of all patients followed for ever, with dropout competing
    eta = -math.log1p(-model["dropout_rate"]) / 12
    lam_c = math.log(2) / model["median_control"]
    lam_e = lam_c * model["hazard_ratio"]
    r = model["allocation_ratio"]
    ceiling = model["subjects"] * (lam_c / (lam_c + eta) + r * lam_e / (lam_e + eta)) / (1 + r)
    assert np.all(e <= ceiling * (1 + 1e-12))
    assert_close(expected_events(1e5, **model), ceiling, rtol=1e-12)


@settings(max_examples=200)
@given(model=_model_strategy(), fraction=st.floats(0.01, 0.97))
def test_time_to_events_inverts_expected_events(model, fraction):
    ceiling = expected_events(1e5, **model)
    target = fraction * ceiling
    t = time_to_events(target, **model)
    assert t > 0
    assert_close(expected_events(t, **model), target, rtol=1e-10)
