"""coxph against R survival::coxph (tests/fixtures/r/cox.R), invariants and bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oncotrial.core.errors import ConvergenceWarning, InputError
from oncotrial.datasets import load
from oncotrial.stats import ChiSquareTest, CoxDesign, CoxResult, coxph
from oncotrial.stats import _cox_engine as cox_engine
from oncotrial.stats._cox_engine import CoxLayout, generalized_inverse, newton, quadratic_form

FIXTURE = load_fixture("cox")
R_CASES = FIXTURE["cases"]


# --------------------------------------------------------------------------- R fixtures
def _r_call(case: dict) -> tuple[pd.DataFrame, dict]:
    """Rebuild the data and the coxph() arguments of one R case."""
    df = load(case["dataset"]).iloc[case["rows"]].reset_index(drop=True)
    for name, values in case["derived"].items():
        df[name] = values
    if case["time_override"] is not None:
        df[case["time"]] = case["time_override"]
    df["dead"] = (df[case["event"]] == case["event_value"]).astype(int)
    kwargs: dict = {"time": case["time"], "event": "dead", "covariates": case["covariates"],
                    "convention": case["convention"], "conf_level": case["conf_level"],
                    "robust": case["robust"]}
    if case["weights"] is not None:
        df["w"] = case["weights"]
        kwargs["weights"] = "w"
    if case["cluster"] is not None:
        kwargs["cluster"] = case["cluster"]
    if case["strata"]:
        kwargs["strata"] = case["strata"]
    if case["categorical"]:
        kwargs["categorical"] = (list(case["categorical"]) if case["py_default_reference"]
                                 else case["categorical"])
    # exercise the convention's default ties where it gives R's choice
    default_ties = "breslow" if case["convention"] == "sas" else "efron"
    kwargs["ties"] = None if case["ties"] == default_ties else case["ties"]
    return df, kwargs


@pytest.mark.parametrize("case", R_CASES, ids=[c["name"] for c in R_CASES])
def test_matches_r_coxph(case):
    df, kwargs = _r_call(case)
    fit = coxph(df, **kwargs)
    what = case["name"]
    tab = fit.coef_table
    assert list(tab.index) == case["terms"]
    assert fit.converged
    assert fit.ties == case["ties"]
    assert fit.n == case["n"] and fit.n_events == case["nevent"]
    assert fit.robust == case["robust"]
    for col, key in [("coef", "coef"), ("hr", "hr"), ("se", "se"), ("z", "z"), ("p", "p"),
                     ("lower", "lower"), ("upper", "upper")]:
        assert_close(tab[col].to_numpy(), case[key], what=f"{what} {col}")
    assert_close(fit.coef, case["coef"], what=f"{what} .coef")
    assert_close(np.asarray(fit.loglik), case["loglik"], what=f"{what} loglik")
    assert_close(fit.var.ravel(), np.asarray(case["var"]).ravel(), what=f"{what} var")
    assert_close(fit.naive_var.ravel(), np.asarray(case["naive_var"]).ravel(),
                 what=f"{what} naive_var")
    assert_close(fit.wald_test.stat, case["wald"], what=f"{what} wald")
    assert_close(fit.score_test.stat, case["score"], what=f"{what} score")
    lr = 2 * (case["loglik"][1] - case["loglik"][0])
    assert_close(fit.lr_test.stat, lr, what=f"{what} LR")
    for test in (fit.lr_test, fit.wald_test, fit.score_test):
        assert test.df == case["df"]
    if case["robust"]:
        assert_close(tab["naive_se"].to_numpy(), case["naive_se"], what=f"{what} naive_se")
        assert_close(fit.robust_score_test.stat, case["rscore"], what=f"{what} rscore")
        assert fit.robust_score_test.df == case["df"]
    else:
        assert "naive_se" not in tab.columns
        assert fit.robust_score_test is None


@pytest.mark.parametrize("name", ["colon_cluster_strata", "gbsg_weights_strata_robust_breslow"])
def test_chunked_passes_match_r(monkeypatch, name):
    """Large data are processed in row chunks; force many tiny chunks on R cases."""
    monkeypatch.setattr(cox_engine, "CHUNK_ROWS", 7)
    case = next(c for c in R_CASES if c["name"] == name)
    df, kwargs = _r_call(case)
    fit = coxph(df, **kwargs)
    assert_close(fit.coef, case["coef"], what=f"{name} coef")
    assert_close(fit.var.ravel(), np.asarray(case["var"]).ravel(), what=f"{name} var")
    assert_close(fit.naive_var.ravel(), np.asarray(case["naive_var"]).ravel(), what=f"{name} naive")
    assert_close(np.asarray(fit.loglik), case["loglik"], what=f"{name} loglik")


def test_fixture_covers_the_required_options():
    names = {c["name"] for c in R_CASES}
    assert len({c["dataset"] for c in R_CASES}) >= 4
    assert {c["ties"] for c in R_CASES} == {"efron", "breslow"}
    assert any(len(c["strata"]) == 2 for c in R_CASES) and any(len(c["strata"]) == 1 for c in R_CASES)
    assert any(c["weights"] is not None and c["robust"] for c in R_CASES)
    assert any(c["cluster"] is not None for c in R_CASES)
    assert any(c["robust"] and c["cluster"] is None for c in R_CASES)
    assert any(c["conf_level"] == 0.90 for c in R_CASES)
    assert {"veteran_sas", "veteran_timefix", "veteran_no_timefix"} <= names


def test_timefix_merges_near_ties_only_under_r():
    case = next(c for c in R_CASES if c["name"] == "veteran_timefix")
    df, kwargs = _r_call(case)
    r_fit = coxph(df, **kwargs)
    sas_fit = coxph(df, **{**kwargs, "convention": "sas", "ties": "efron"})
    assert np.unique(r_fit.design.time).size < np.unique(sas_fit.design.time).size
    assert np.abs(r_fit.coef - sas_fit.coef).max() > 1e-6


def test_sas_convention_reference_is_last_level_and_ties_breslow():
    vet = load("veteran")
    fit = coxph(vet, time="time", event="status", covariates=["celltype", "karno"],
                categorical=["celltype"], convention="sas")
    assert fit.ties == "breslow" and fit.convention == "sas"
    assert list(fit.coef_table.index) == ["celltype[adeno]", "celltype[large]",
                                          "celltype[smallcell]", "karno"]
    r_fit = coxph(vet, time="time", event="status", covariates=["celltype", "karno"],
                  categorical={"celltype": "squamous"}, ties="breslow")
    assert_close(fit.coef, r_fit.coef, rtol=1e-12, what="sas vs explicit")


def test_pandas_categorical_uses_category_order_for_the_default_reference():
    vet = load("veteran")
    vet["celltype"] = pd.Categorical(vet["celltype"],
                                     categories=["squamous", "smallcell", "adeno", "large"])
    fit = coxph(vet, time="time", event="status", covariates=["celltype"], categorical=["celltype"])
    assert list(fit.coef_table.index) == ["celltype[smallcell]", "celltype[adeno]", "celltype[large]"]


# --------------------------------------------------------------------------- result object
@pytest.fixture(scope="module")
def colon_fit() -> CoxResult:
    colon = load("colon")
    return coxph(colon, time="time", event="status", covariates=["rx", "extent", "node4"],
                 categorical={"rx": "Obs"}, strata=["etype"], cluster="id")


def test_design_contract(colon_fit):
    colon = load("colon")
    d = colon_fit.design
    assert isinstance(d, CoxDesign)
    assert d.columns == list(colon_fit.coef_table.index)
    assert d.terms == {"rx": [0, 1], "extent": [2], "node4": [3]}
    assert d.X.dtype == np.float64 and d.X.shape == (len(colon), 4)
    np.testing.assert_array_equal(d.X[:, 2], colon["extent"].to_numpy(float))  # not centred
    np.testing.assert_array_equal(d.X[:, 0], (colon["rx"] == "Lev").to_numpy(float))
    np.testing.assert_array_equal(d.time, colon["time"].to_numpy(float))
    np.testing.assert_array_equal(d.event, colon["status"].to_numpy(float))
    np.testing.assert_array_equal(d.weights, np.ones(len(colon)))
    assert d.strata.dtype == np.intp
    np.testing.assert_array_equal(d.strata, colon["etype"].to_numpy() - 1)


def test_result_forms(colon_fit):
    frame = colon_fit.to_frame()
    assert list(frame.columns) == ["term", "coef", "hr", "se", "z", "p", "lower", "upper", "naive_se",
                                   "estimable"]
    out = colon_fit.to_dict()
    assert "design" not in out
    assert [row["term"] for row in out["coef_table"]] == list(colon_fit.coef_table.index)
    json.dumps(out)  # plain Python types only
    assert isinstance(colon_fit.lr_test, ChiSquareTest)
    text = repr(colon_fit)
    for piece in ("n=1858", "events=920", "ties=efron", "robust variance", "rx[Lev+5FU]",
                  "Likelihood ratio test", "Wald test", "Score (log-rank) test", "Robust score test"):
        assert piece in text
    assert colon_fit.coef_table.loc["rx[Lev+5FU]", "hr"] == pytest.approx(np.exp(colon_fit.coef[1]))


def test_rank_deficient_robust_variance_reduces_the_wald_df():
    rng = np.random.default_rng(3)
    n = 60
    df = pd.DataFrame({"t": rng.exponential(size=n), "e": rng.integers(0, 2, n) | (np.arange(n) < 5),
                       "a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                       "site": np.arange(n) % 2})
    fit = coxph(df, time="t", event="e", covariates=["a", "b", "c"], cluster="site")
    # two clusters and centred dfbetas: rank 1; R's generalized inverse keeps coefficient a
    # (R 4.2.2, survival 3.5-3: fit$wald.test = 2.39549..., fit$rscore = 2)
    assert fit.wald_test.df == 1
    a = fit.coef_table.loc["a"]
    assert fit.wald_test.stat == pytest.approx((a["coef"] / a["se"]) ** 2, rel=1e-12)
    assert fit.robust_score_test.df == 2 and fit.robust_score_test.stat == pytest.approx(2.0)
    assert fit.lr_test.df == 3


# --------------------------------------------------------------------------- invariants
def _frame(seed: int, n: int, tied: bool, weighted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.5, size=n).astype(float)
    t = rng.exponential(scale=np.exp(-0.5 * x1 - 0.3 * x2))
    t = np.ceil(t * 5) if tied else t
    e = (rng.uniform(size=n) < 0.75).astype(int)
    e[:3] = 1
    df = pd.DataFrame({"t": t, "e": e, "x1": x1, "x2": x2, "g": rng.integers(0, 2, n),
                       "id": rng.integers(0, max(n // 3, 2), n)})
    df["w"] = rng.uniform(0.5, 2.0, size=n) if weighted else 1.0
    return df


def _fit(df: pd.DataFrame, **kw) -> CoxResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            return coxph(df, time="t", event="e", **{"covariates": ["x1", "x2"], **kw})
        except (ConvergenceWarning, ValueError):
            assume(False)
            raise


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(15, 80)


@PROPS
@given(seed=seeds, n=sizes, weighted=st.booleans())
def test_efron_equals_breslow_without_ties(seed, n, weighted):
    df = _frame(seed, n, tied=False, weighted=weighted)
    assume(df["t"].nunique() == n)
    kw = {"weights": "w"} if weighted else {}
    a, b = _fit(df, ties="efron", **kw), _fit(df, ties="breslow", **kw)
    assert_close(a.coef, b.coef, rtol=1e-9, atol=1e-10, what="coef")
    assert_close(a.naive_var.ravel(), b.naive_var.ravel(), rtol=1e-8, atol=1e-12, what="var")
    assert_close(np.asarray(a.loglik), np.asarray(b.loglik), rtol=1e-12, what="loglik")


@PROPS
@given(seed=seeds, n=sizes, tied=st.booleans(), ties=st.sampled_from(["efron", "breslow"]),
       perm_seed=seeds)
def test_row_permutation_changes_nothing(seed, n, tied, ties, perm_seed):
    df = _frame(seed, n, tied=tied, weighted=True)
    kw = {"ties": ties, "weights": "w", "strata": ["g"], "cluster": "id"}
    a = _fit(df, **kw)
    perm = np.random.default_rng(perm_seed).permutation(n)
    b = _fit(df.iloc[perm], **kw)
    assert_close(b.coef, a.coef, rtol=1e-9, atol=1e-10, what="coef")
    assert_close(b.var.ravel(), a.var.ravel(), rtol=1e-8, atol=1e-12, what="robust var")
    assert_close(b.score_test.stat, a.score_test.stat, rtol=1e-9, what="score")
    assert_close(b.robust_score_test.stat, a.robust_score_test.stat, rtol=1e-8, what="rscore")
    np.testing.assert_array_equal(b.design.time, a.design.time[perm])


@PROPS
@given(seed=seeds, n=sizes, tied=st.booleans(), c=st.floats(0.01, 100) | st.floats(-100, -0.01),
       shift=st.floats(-1e3, 1e3))
def test_covariate_scale_and_shift(seed, n, tied, c, shift):
    df = _frame(seed, n, tied=tied, weighted=False)
    base = _fit(df, robust=True)
    scaled = _fit(df.assign(x1=df["x1"] * c))
    assert_close(scaled.coef, base.coef / np.array([c, 1.0]), rtol=1e-8, atol=1e-10, what="coef/c")
    naive_se = base.coef_table["naive_se"].to_numpy()
    assert_close(scaled.coef_table["se"].to_numpy(), naive_se / np.array([abs(c), 1.0]), rtol=1e-7,
                 what="se/|c|")
    assert_close(scaled.loglik[1], base.loglik[1], rtol=1e-12, what="loglik")
    shifted = _fit(df.assign(x1=df["x1"] + shift, x2=df["x2"] - shift), robust=True)
    assert_close(shifted.coef, base.coef, rtol=1e-7, atol=1e-9, what="coef")
    assert_close(shifted.var.ravel(), base.var.ravel(), rtol=1e-6, atol=1e-10, what="robust var")
    assert_close(shifted.score_test.stat, base.score_test.stat, rtol=1e-8, what="score")


@PROPS
@given(seed=seeds, n=st.integers(15, 50), rep_seed=seeds)
def test_breslow_integer_weights_equal_replicated_rows(seed, n, rep_seed):
    df = _frame(seed, n, tied=True, weighted=False)
    k = np.random.default_rng(rep_seed).integers(1, 4, size=n)
    weighted = _fit(df.assign(w=k.astype(float)), ties="breslow", weights="w")
    replicated = _fit(df.loc[df.index.repeat(k)].reset_index(drop=True), ties="breslow")
    assert_close(weighted.coef, replicated.coef, rtol=1e-9, atol=1e-10, what="coef")
    assert_close(weighted.naive_var.ravel(), replicated.naive_var.ravel(), rtol=1e-8, atol=1e-12,
                 what="var")
    assert_close(np.asarray(weighted.loglik), np.asarray(replicated.loglik), rtol=1e-12, what="loglik")


@PROPS
@given(seed=seeds, n=sizes, tied=st.booleans())
def test_robust_without_cluster_is_one_cluster_per_row(seed, n, tied):
    df = _frame(seed, n, tied=tied, weighted=True).assign(row=np.arange(n))
    a = _fit(df, weights="w", robust=True)
    b = _fit(df, weights="w", cluster="row")
    assert b.robust
    assert_close(a.var.ravel(), b.var.ravel(), rtol=1e-12, atol=1e-15, what="robust var")


# --------------------------------------------------------------------------- convergence
def _monotone_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 80
    grp = np.repeat(["a", "b"], n // 2)
    return pd.DataFrame({"t": rng.exponential(size=n).round(2) + 0.01,
                         "e": np.where(grp == "b", 0, rng.integers(0, 2, n) | (np.arange(n) < 3)),
                         "grp": grp, "age": rng.normal(60, 8, n)})


def test_zero_event_level_is_reported_not_estimable():
    """An arm without events: R prints HR ~1e-13 with CI 0 to inf; the result says that
    this hazard ratio is not estimable, in its table, its problems and a warning."""
    df = _monotone_frame()
    with pytest.warns(ConvergenceWarning, match=r"no events in level 'b' of grp") as record:
        fit = coxph(df, time="t", event="e", covariates=["age", "grp"], categorical=["grp"])
    assert len(record) == 1 and "age" not in str(record[0].message)
    assert fit.converged is True  # the likelihood did stop changing
    assert fit.coef_table["estimable"].to_dict() == {"age": True, "grp[b]": False}
    assert fit.estimable is False
    assert fit.problems == ("no events in level 'b' of grp: the hazard ratio of grp[b] is not "
                            "estimable (it tends to 0)",)
    assert fit.coef_table.loc["grp[b]", "coef"] < -10  # the numbers stay as computed
    assert "WARNING: no events in level 'b' of grp" in repr(fit)
    record = fit.to_dict()
    assert record["problems"] == list(fit.problems)
    assert [row["estimable"] for row in record["coef_table"]] == [True, False]
    json.dumps(record, allow_nan=False)


def test_zero_event_reference_level_and_numeric_indicator():
    df = _monotone_frame()
    with pytest.warns(ConvergenceWarning, match=r"no events in the reference level 'b' of grp"):
        fit = coxph(df, time="t", event="e", covariates=["grp"], categorical={"grp": "b"})
    assert fit.coef_table.loc["grp[a]", "estimable"] == np.False_
    assert fit.coef_table.loc["grp[a]", "coef"] > 10
    df["arm"] = (df["grp"] == "b").astype(int)  # a 0/1 column, not declared categorical
    with pytest.warns(ConvergenceWarning, match=r"no events in level '1' of arm"):
        fit = coxph(df, time="t", event="e", covariates=["age", "arm"])
    assert fit.coef_table["estimable"].tolist() == [True, False]


def test_regular_fit_has_no_problems():
    df = _frame(3, 60, tied=True, weighted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit = coxph(df, time="t", event="e", covariates=["x1", "x2"])
    assert fit.converged and fit.estimable and fit.problems == ()
    assert fit.coef_table["estimable"].all()


def test_iteration_cap_reports_not_converged():
    df = _frame(5, 40, tied=True, weighted=False)
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        fit = coxph(df, time="t", event="e", covariates=["x1", "x2"], max_iter=1)
    assert fit.converged is False and fit.estimable is False and fit.iterations == 1
    assert "did not converge in 1 iterations" in fit.problems[0]
    assert "WARNING: did not converge" in repr(fit)
    layout = CoxLayout(df["t"].to_numpy(float), df["e"].to_numpy(float), df[["x1", "x2"]].to_numpy(),
                       np.ones(40), None, efron=True)
    assert newton(layout, layout.evaluate(np.zeros(2)), max_iter=1).status == "max_iter"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="max_iter: expected a positive whole number") as info:
            coxph(df, time="t", event="e", covariates=["x1"], max_iter=bad)
        assert info.value.field == "max_iter"


def test_generalized_inverse_of_singular_matrix():
    m = np.array([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    inv, rank = generalized_inverse(m)
    assert rank == 1  # R's cholesky2: the second column is dropped, the first inverted
    np.testing.assert_allclose(inv, np.diag([0.25, 0.0, 0.0]), atol=1e-15)
    stat, df = quadratic_form(np.diag([2.0, 4.0]), np.array([2.0, 2.0]))
    assert stat == pytest.approx(3.0) and df == 2


# --------------------------------------------------------------------------- bad input
@pytest.fixture()
def vet() -> pd.DataFrame:
    return load("veteran")


def _vfit(df: pd.DataFrame, **kw):
    args = {"time": "time", "event": "status", "covariates": ["karno", "trt"], **kw}
    return coxph(df, **args)


@pytest.mark.parametrize("column", ["karno", "time", "status", "trt"])
def test_missing_values_are_named(vet, column):
    vet[column] = vet[column].astype(float)
    vet.loc[[4, 17], column] = np.nan  # the 5th and 18th data rows
    role = {"karno": "covariates", "trt": "covariates", "time": "time", "status": "event"}[column]
    with pytest.raises(InputError, match=rf"^{column}: missing values at rows \[5, 18\]") as info:
        _vfit(vet)
    assert info.value.field == role


def test_missing_values_in_strata_weights_cluster(vet):
    vet["w"] = 1.0
    vet["site"] = vet["prior"]
    for col, kw in [("prior", {"strata": ["prior"]}), ("w", {"weights": "w"}),
                    ("site", {"cluster": "site"})]:
        bad = vet.copy()
        bad[col] = bad[col].astype(float)
        bad.loc[9, col] = np.nan
        with pytest.raises(InputError, match=rf"^{col}: missing values at rows \[10\]") as info:
            _vfit(bad, **kw)
        assert info.value.field == next(iter(kw))


def test_unknown_columns(vet):
    with pytest.raises(ValueError, match=r"covariates: column\(s\) \['nope'\] not in data"):
        _vfit(vet, covariates=["karno", "nope"])
    with pytest.raises(ValueError, match=r"strata: column\(s\) \['zz'\]"):
        _vfit(vet, strata=["zz"])
    with pytest.raises(ValueError, match=r"cluster: column\(s\) \['cl'\]"):
        _vfit(vet, cluster="cl")


def test_non_numeric_covariate_must_be_listed_as_categorical(vet):
    with pytest.raises(InputError, match=r"^celltype: expected numbers, got non-numeric values at "
                                         r"rows \[1, 2, .*\(137 rows\).*categorical=") as info:
        _vfit(vet, covariates=["celltype"])
    assert info.value.field == "covariates"


def test_reference_level_not_present(vet):
    with pytest.raises(ValueError, match=r"reference level 'Squamous' of column 'celltype' is not among "
                                         r"its levels \['adeno', 'large', 'smallcell', 'squamous'\]"):
        _vfit(vet, covariates=["celltype"], categorical={"celltype": "Squamous"})


def test_categorical_argument_errors(vet):
    with pytest.raises(ValueError, match=r"categorical: \['celltype'\] not in covariates"):
        _vfit(vet, categorical=["celltype"])
    with pytest.raises(TypeError, match="categorical: expected a list of column names"):
        _vfit(vet, covariates=["celltype"], categorical="celltype")
    with pytest.raises(ValueError, match=r"covariates: columns listed more than once: \['karno'\]"):
        _vfit(vet, covariates=["karno", "karno"])
    with pytest.raises(ValueError, match="covariates: expected at least one covariate"):
        _vfit(vet, covariates=[])


def test_constant_covariates(vet):
    vet["one"] = 3.0
    with pytest.raises(ValueError, match=r"column 'one' is constant \(every row is 3\)"):
        _vfit(vet, covariates=["karno", "one"])
    vet["lvl"] = "x"
    with pytest.raises(ValueError, match=r"column 'lvl' is constant \(only level 'x'\)"):
        _vfit(vet, covariates=["karno", "lvl"], categorical=["lvl"])


def test_collinear_covariates_are_named(vet):
    vet["karno2"] = 2 * vet["karno"] - vet["age"]
    with pytest.raises(ValueError, match=r"\['karno', 'age', 'karno2'\] are linearly dependent"):
        _vfit(vet, covariates=["trt", "karno", "age", "karno2"])


def test_covariate_constant_within_strata(vet):
    vet["prior_copy"] = vet["prior"] * 2
    with pytest.raises(ValueError, match=r"\['prior_copy'\] have no variation within the risk sets"):
        _vfit(vet, covariates=["karno", "prior_copy"], strata=["prior"])


def test_dummies_collinear_with_a_numeric_column(vet):
    vet["is_large"] = (vet["celltype"] == "large").astype(int)
    with pytest.raises(ValueError, match=r"\['celltype\[large\]', 'is_large'\] are linearly dependent"):
        _vfit(vet, covariates=["celltype", "is_large"], categorical={"celltype": "squamous"})


def test_bad_time_event_weights(vet):
    with pytest.raises(InputError, match=r"data: empty"):
        _vfit(vet.iloc[:0])
    bad = vet.copy()
    bad.loc[[2, 5], "time"] = -1
    with pytest.raises(InputError, match=r"^time: .*negative values at rows \[3, 6\]"):
        _vfit(bad)
    bad = vet.copy()
    bad.loc[3, "status"] = 2
    with pytest.raises(InputError, match=r"^status: expected 0/1 .* at rows \[4\]"):
        _vfit(bad)
    bad = vet.assign(w=1.0)
    bad.loc[[0, 7], "w"] = 0.0
    with pytest.raises(InputError, match=r"^w: case weights must be > 0 .* rows \[1, 8\]"):
        _vfit(bad, weights="w")
    bad.loc[[0, 7], "w"] = -1.0
    with pytest.raises(ValueError, match=r"^w: expected finite non-negative case weights"):
        _vfit(bad, weights="w")
    with pytest.raises(ValueError, match=r"status: no events"):
        _vfit(vet.assign(status=0))
    bad = vet.assign(karno=vet["karno"].astype(float))
    bad.loc[6, "karno"] = np.inf
    with pytest.raises(InputError, match=r"karno: infinite values at rows \[7\]"):
        _vfit(bad)


def test_bad_options(vet):
    with pytest.raises(ValueError, match="ties: expected one of"):
        _vfit(vet, ties="exact")
    with pytest.raises(ValueError, match="conf_level: expected a number strictly between 0 and 1"):
        _vfit(vet, conf_level=95)
    with pytest.raises(ValueError, match="convention: expected one of"):
        _vfit(vet, convention="stata")
    with pytest.raises(TypeError, match="data: expected a pandas DataFrame"):
        coxph(vet.to_dict(), time="time", event="status", covariates=["karno"])
    with pytest.raises(TypeError, match="strata: expected a list of column names"):
        _vfit(vet, strata="prior")
