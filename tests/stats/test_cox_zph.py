"""cox_zph against R cox.zph (tests/fixtures/r/cox_zph.R): the core on R's own fits, then
end to end through oncotrial's coxph."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.stats import CoxZphResult, cox_zph
from oncotrial.stats.cox_zph import _cox_zph_arrays, _time_transform, _zph_score

MODELS = load_fixture("cox_zph")
TRANSFORMS = {"km": "km", "rank": "rank", "identity": "identity", "log": "log", "sqrt": np.sqrt}


def _arrays(model: dict) -> dict:
    n = len(model["y_time"])
    return {
        "time": np.asarray(model["y_time"], float),
        "event": np.asarray(model["y_status"], float),
        "X": np.asarray(model["X"], float).reshape(n, -1),
        "weights": np.asarray(model["weights"], float),
        "strata": None if model["strata_codes"] is None else np.asarray(model["strata_codes"]),
    }


def _check_table(table: pd.DataFrame, ref: dict, what: str) -> None:
    assert list(table.index) == list(np.atleast_1d(ref["rownames"]))
    assert table["df"].tolist() == list(np.atleast_1d(ref["df"]))
    assert_close(table["chisq"], ref["chisq"], what=f"{what} chisq")
    assert_close(table["p"], ref["p"], what=f"{what} p")


CORE_CASES = [(m["name"], ties, tn) for m in MODELS for ties in ("efron", "breslow") for tn in TRANSFORMS]


@pytest.mark.parametrize(("name", "ties", "transform"), CORE_CASES)
def test_core_matches_r_with_r_coefficients(name, ties, transform):
    model = next(m for m in MODELS if m["name"] == name)
    fit = model["fits"][ties]
    arrays = _arrays(model)
    beta = np.atleast_1d(fit["coef"])
    by_column = {c: [j] for j, c in enumerate(np.atleast_1d(model["columns"]))}
    for kind, terms in (("terms", model["assign"]), ("columns", by_column)):
        table = _cox_zph_arrays(**arrays, beta=beta, ties=ties, transform=TRANSFORMS[transform], terms=terms)
        _check_table(table, fit[transform][kind], f"{name} {ties} {transform} {kind}")


# ---------------------------------------------------------------- end to end through coxph

def _fit(model: dict, ties: str):
    from oncotrial.stats import cox
    data = load(model["dataset"]).iloc[model["rows"]].reset_index(drop=True)
    data["_event"] = (data[model["event"]] == model["event_value"]).astype(int)
    data["_w"] = model["weights"]
    return cox.coxph(
        data, time=model["time"], event="_event", covariates=list(model["covariates"]),
        strata=list(model["strata"]) or None, categorical=list(model["categorical"]) or None,
        weights="_w" if model["weighted"] else None, ties=ties, robust=model["robust"],
    )


@pytest.mark.parametrize(("name", "ties"), [(m["name"], t) for m in MODELS for t in ("efron", "breslow")])
def test_end_to_end_matches_r(name, ties):
    model = next(m for m in MODELS if m["name"] == name)
    result = _fit(model, ties)
    ref = model["fits"][ties]
    assert_close(result.coef, ref["coef"], what=f"{name} {ties} coef")
    for transform in ("km", "rank", "log"):
        _check_table(cox_zph(result, TRANSFORMS[transform]), ref[transform]["terms"], f"{name} {ties} {transform}")
    by_column = cox_zph(result, "identity", terms=False)
    assert list(by_column.index) == [*result.design.columns, "GLOBAL"]
    ref_cols = ref["identity"]["columns"]
    assert_close(by_column["chisq"], ref_cols["chisq"], what=f"{name} {ties} identity columns")
    assert_close(by_column["p"], ref_cols["p"], what=f"{name} {ties} identity columns p")


def test_robust_variance_does_not_change_the_test():
    model = next(m for m in MODELS if m["name"] == "lung_robust")
    robust = _fit(model, "efron")
    plain = _fit(model | {"robust": False}, "efron")
    assert robust.robust and not plain.robust
    pd.testing.assert_frame_equal(cox_zph(robust).table, cox_zph(plain).table)


def test_result_forms():
    """cox_zph returns a Result like every estimator; the table reads as before."""
    model = next(m for m in MODELS if m["name"] == "veteran")
    fit = _fit(model, "efron")
    result = cox_zph(fit, "rank", terms=False)
    assert isinstance(result, CoxZphResult)
    assert (result.transform, result.by_term, result.ties) == ("rank", False, "efron")
    assert result.n_events == fit.n_events
    assert result.loc["trt", "p"] == result.table.loc["trt", "p"]
    assert result["chisq"].equals(result.table["chisq"])
    assert list(result.index) == [*fit.design.columns, "GLOBAL"]
    frame = result.to_frame()
    assert list(frame.columns) == ["term", "chisq", "df", "p"] and len(frame) == len(result.table)
    out = result.to_dict()
    assert out["table"][-1]["term"] == "GLOBAL" and out["transform"] == "rank"
    json.dumps(out, allow_nan=False)
    text = repr(result)
    assert text.startswith("Test of proportional hazards (cox.zph): transform=rank")
    assert "GLOBAL" in text and "karno" in text
    assert cox_zph(fit, np.sqrt).transform == "sqrt"


def test_without_global_row():
    model = next(m for m in MODELS if m["name"] == "veteran")
    table = cox_zph(_fit(model, "efron"), global_test=False)
    assert list(table.index) == ["karno", "age", "trt", "celltype"]
    assert list(table.columns) == ["chisq", "df", "p"]


# ---------------------------------------------------------------- bad input

VET = next(m for m in MODELS if m["name"] == "veteran")


def _vet_core(**kwargs):
    args = _arrays(VET) | {"beta": np.asarray(VET["fits"]["efron"]["coef"]), "ties": "efron",
                           "transform": "km", "terms": VET["assign"]}
    return _cox_zph_arrays(**(args | kwargs))


def test_unknown_transform():
    with pytest.raises(InputError, match=r"transform: expected one of \['km', 'rank', 'identity', 'log'\]"):
        _vet_core(transform="loglog")


def test_callable_transform_of_wrong_shape():
    with pytest.raises(InputError, match=r"transform: the callable must return one value per row"):
        _vet_core(transform=lambda t: t[:3])


def test_log_of_time_zero_at_an_event_names_the_row():
    arrays = _arrays(VET)
    arrays["time"][[4, 9]] = 0.0
    arrays["event"][[4, 9]] = 1.0
    with pytest.raises(InputError, match=r"transform: g\(t\) is not finite .*rows \[5, 10\]") as info:
        _vet_core(**arrays, transform="log")
    assert info.value.field == "transform"


def test_log_of_time_zero_when_censored_is_fine():
    arrays = _arrays(VET)
    arrays["time"][4], arrays["event"][4] = 0.0, 0.0
    assert np.isfinite(_vet_core(**arrays, transform="log")["chisq"]).all()


def test_bad_ties_and_coefficients():
    with pytest.raises(InputError, match=r"ties: expected 'efron' or 'breslow', got 'exact'"):
        _vet_core(ties="exact")
    with pytest.raises(InputError, match=r"coef: expected 6 finite coefficients"):
        _vet_core(beta=np.zeros(5))
    with pytest.raises(InputError, match=r"coef: expected 6 finite coefficients"):
        _vet_core(beta=np.r_[np.nan, np.zeros(5)])


def test_no_events():
    arrays = _arrays(VET)
    with pytest.raises(InputError, match=r"event: no events"):
        _vet_core(**(arrays | {"event": np.zeros_like(arrays["event"])}))


def test_result_must_be_a_cox_result():
    with pytest.raises(TypeError, match=r"result: expected a CoxResult from coxph\(\), got dict"):
        cox_zph({"coef": [1.0]})


# ---------------------------------------------------------------- identities and properties

def test_callables_reproduce_named_transforms():
    for name, func in (("identity", lambda t: t), ("log", np.log)):
        pd.testing.assert_frame_equal(_vet_core(transform=name), _vet_core(transform=func))


def test_one_stratum_equals_no_strata():
    arrays = _arrays(VET)
    pd.testing.assert_frame_equal(_vet_core(), _vet_core(strata=np.zeros(arrays["time"].size, dtype=int)))


@st.composite
def cox_data(draw):
    n = draw(st.integers(15, 60))
    time = np.array(draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)), float)
    event = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), float)
    event[0] = 1.0
    x1 = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), float)
    x2 = np.array(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n)), float)
    x3 = np.array(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n)), float)
    weights = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=n, max_size=n)))
    strata = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    beta = np.array(draw(st.lists(st.floats(-1, 1), min_size=3, max_size=3)))
    ties = draw(st.sampled_from(["efron", "breslow"]))
    transform = draw(st.sampled_from(["km", "rank", "identity", "log"]))
    return time, event, np.column_stack([x1, x2, x3]), weights, strata, beta, ties, transform


TERMS = {"a": [0], "bc": [1, 2]}


def _regular(args) -> bool:
    """The joint information must be well conditioned for the test to be defined."""
    time, event, X, weights, strata, beta, ties, transform = args
    gtime = _time_transform(time, event, transform)
    _, imat = _zph_score(time, event, X, weights, strata, beta, ties == "efron", gtime)
    return bool(np.linalg.cond(imat) < 1e6)


@settings(max_examples=50, deadline=None)
@given(cox_data(), st.randoms(use_true_random=False))
def test_invariances(args, rnd):
    time, event, X, weights, strata, beta, ties, transform = args
    assume(_regular(args))
    base = _cox_zph_arrays(time, event, X, weights, strata, beta, ties, transform, TERMS)
    assert (base["chisq"] >= -1e-9).all()
    perm = np.array(rnd.sample(range(time.size), time.size))
    # rows permuted, strata relabelled, columns shifted (centring), and the two-column term
    # reparametrised by a non-singular A (beta transformed so that X beta is unchanged)
    A = np.array([[1.0, 0.5], [-0.3, 2.0]])
    X2 = X[perm] + np.array([3.0, -1.0, 0.5])
    X2[:, 1:] = X2[:, 1:] @ A
    beta2 = beta.copy()
    beta2[1:] = np.linalg.solve(A, beta[1:])
    other = _cox_zph_arrays(time[perm], event[perm], X2, weights[perm], 5 - strata[perm], beta2, ties,
                            transform, TERMS)
    np.testing.assert_allclose(other["chisq"], base["chisq"], rtol=1e-6, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(cox_data())
def test_efron_equals_breslow_without_tied_deaths(args):
    time, event, X, weights, strata, beta, _, transform = args
    time = time + np.arange(time.size) / 1000.0  # all times distinct
    assume(_regular((time, event, X, weights, strata, beta, "efron", transform)))
    efron = _cox_zph_arrays(time, event, X, weights, strata, beta, "efron", transform, TERMS)
    breslow = _cox_zph_arrays(time, event, X, weights, strata, beta, "breslow", transform, TERMS)
    np.testing.assert_allclose(efron["chisq"], breslow["chisq"], rtol=1e-9, atol=1e-12)
