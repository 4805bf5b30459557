"""RECIST 1.1 engine: one test per row of the decision checklist (reporting_standards.md §2.3),
named by its id, plus data-quality, rate and property tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from oncotrial.clinical import (
    derive_best_overall_response,
    derive_nontarget_response,
    derive_overall_response,
    derive_target_response,
    derive_timepoint_responses,
    response_rates,
)

BASE = pd.Timestamp("2024-01-01")
STATES = {
    "PRESENT",
    "ABSENT",
    "UNEQUIVOCAL PROGRESSION",
    "NOT EVALUABLE",
    "EQUIVOCAL",
    "UNEQUIVOCAL",
    "BOGUS",
}


def study(
    lesions: list[tuple[str, str, str]],
    visits: list[dict[str, Any]],
    subject: str = "S1",
):
    """TU/TR for one subject. ``lesions``: (TULNKID, TUORRES, TULOC); ``visits[0]`` is baseline,
    visit k is dated BASE + 42*k days; a value is a diameter, a TUMSTATE/TRORRES text, or
    ``"NEW"`` (TU row only). NEW lesions get TUDTC = first visit where they appear."""
    dates = [BASE + pd.Timedelta(days=42 * k) for k in range(len(visits))]
    tu, tr = [], []
    for lnkid, role, loc in lesions:
        first = (
            next((k for k, v in enumerate(visits) if lnkid in v), 0)
            if role == "NEW"
            else 0
        )
        tu.append(
            {
                "USUBJID": subject,
                "TULNKID": lnkid,
                "TUTESTCD": "TUMIDENT",
                "TUORRES": role,
                "TULOC": loc,
                "TUDTC": dates[first].strftime("%Y-%m-%d"),
            }
        )
    node = {lnkid: "LYMPH NODE" in loc for lnkid, _, loc in lesions}
    for k, visit in enumerate(visits):
        for lnkid, value in visit.items():
            if value == "NEW":
                continue
            text = isinstance(value, str) and value in STATES
            test = (
                "TUMSTATE"
                if text
                else ("SAXIS" if node.get(lnkid.split(".")[0]) else "LDIAM")
            )
            tr.append(
                {
                    "USUBJID": subject,
                    "TRLNKID": lnkid,
                    "TRTESTCD": test,
                    "TRORRES": str(value) if value is not None else "NOT DONE",
                    "TRSTRESN": float(value)
                    if isinstance(value, (int, float))
                    else None,
                    "TRDTC": dates[k].strftime("%Y-%m-%d"),
                }
            )
    return pd.DataFrame(tu), pd.DataFrame(tr)


def responses(result, code: str) -> list[str]:
    rs = result.responses
    return rs.loc[rs["RSTESTCD"] == code, "RSORRES"].tolist()


def problems(result) -> list[str]:
    return [f"{i.field}={i.value}: {i.problem}" for i in result.issues]


def single(sums: list[Any]):
    """A subject with one liver target whose LD is the sum."""
    return derive_timepoint_responses(
        *study([("T1", "TARGET", "LIVER")], [{"T1": s} for s in sums])
    )


# ---------------------------------------------------------------- A. baseline / eligibility
@pytest.mark.parametrize(
    ("loc", "size", "problem"),
    [
        pytest.param("LIVER", 9.9, "non-measurable", id="A1"),
        pytest.param("LIVER", 10.0, None, id="A2"),
        pytest.param("LYMPH NODE, MEDIASTINAL", 15.0, None, id="A4"),
        pytest.param(
            "LYMPH NODE, MEDIASTINAL", 14.9, "pathological but non-measurable", id="A5"
        ),
        pytest.param("LYMPH NODE, MEDIASTINAL", 9.9, "is normal", id="A6"),
    ],
)
def test_measurability(loc: str, size: float, problem: str | None) -> None:
    lesions = [("T1", "TARGET", "LUNG"), ("T2", "TARGET", loc)]
    result = derive_timepoint_responses(
        *study(lesions, [{"T1": 20, "T2": size}, {"T1": 20, "T2": size}])
    )
    if problem is None:
        assert result.issues == ()
        assert result.sums["BASESUM"].iloc[0] == 20 + size  # A4: only SA contributes
    else:
        assert len(result.issues) == 1 and problem in result.issues[0].problem
        assert result.issues[0].value == "T2"
        assert result.sums["BASESUM"].iloc[0] == 20  # re-classified, not a target
        normal = size < 10 and "NODE" in loc  # a normal node counts as absent
        assert responses(result, "NTRGRESP") == ["CR" if normal else "NON-CR/NON-PD"]


@pytest.mark.parametrize(
    ("locs", "excess", "problem"),
    [
        pytest.param(
            ["LIVER", "LUNG", "BRAIN", "BONE", "SPLEEN", "ADRENAL"],
            "T6",
            "more than 5 target",
            id="A7",
        ),
        pytest.param(
            ["LIVER", "LIVER", "LIVER"], "T3", "more than 2 targets in organ", id="A8"
        ),
        pytest.param(
            [
                "LYMPH NODE, MEDIASTINAL",
                "LYMPH NODE, MEDIASTINAL",
                "LYMPH NODE, PELVIC",
            ],
            "T3",
            "organ LYMPH NODE",
            id="A9",
        ),
    ],
)
def test_target_selection_limits(locs: list[str], excess: str, problem: str) -> None:
    lesions = [(f"T{i + 1}", "TARGET", loc) for i, loc in enumerate(locs)]
    baseline = {f"T{i + 1}": 20 for i in range(len(locs))}
    result = derive_timepoint_responses(*study(lesions, [baseline, baseline]))
    assert [(i.value, problem in i.problem) for i in result.issues] == [(excess, True)]
    assert result.sums["BASESUM"].iloc[0] == 20 * (len(locs) - 1)


def test_A10_baseline_sum() -> None:
    lesions = [
        ("T1", "TARGET", "LIVER"),
        ("T2", "TARGET", "LUNG"),
        ("T3", "TARGET", "LYMPH NODE, AXILLARY"),
    ]
    result = derive_timepoint_responses(
        *study(lesions, [{"T1": 50, "T2": 30, "T3": 20}])
    )
    assert result.sums["BASESUM"].tolist() == [100.0]


def test_A11_baseline_too_early() -> None:
    tu, tr = study([("T1", "TARGET", "LIVER")], [{"T1": 50}, {"T1": 50}])
    late = derive_timepoint_responses(
        tu, tr, ref_dates={"S1": BASE + pd.Timedelta(days=30)}
    )
    ok = derive_timepoint_responses(
        tu, tr, ref_dates={"S1": BASE + pd.Timedelta(days=28)}
    )
    assert [i.field for i in late.issues] == ["TUDTC"] and ok.issues == ()


# ------------------------------------------------------------------- B. target response
@pytest.mark.parametrize(
    ("sums", "expected"),
    [
        pytest.param([100, 70], "PR", id="B1"),
        pytest.param([100, 71], "SD", id="B2"),
        pytest.param([100, 40, 48], "PD", id="B3"),
        pytest.param([20, 24], "SD", id="B4"),
        pytest.param([40, 47], "SD", id="B5"),
        pytest.param([50, 60], "PD", id="B6"),
        pytest.param([100, 40, 50], "PD", id="B7"),
        pytest.param([50, 0, 12], "PD", id="B15"),
        pytest.param([100, 70, 70, 80, 80, 80], "SD", id="B17-literal"),
        pytest.param([165, 63, 65], "PR", id="B18"),
        pytest.param([100, 69.99], "PR", id="B19"),
        pytest.param([100, "70.00"], "PR", id="B19-text"),
    ],
)
def test_target_sequences(sums: list[Any], expected: str) -> None:
    assert responses(single(sums), "TRGRESP")[-1] == expected


def test_B17_sticky_pr() -> None:
    tu, tr = study(
        [("T1", "TARGET", "LIVER")], [{"T1": s} for s in [100, 70, 70, 80, 80, 80]]
    )
    result = derive_timepoint_responses(tu, tr, sticky_pr=True)
    assert responses(result, "TRGRESP") == ["PR"] * 5


NODE_CASE = [("T1", "TARGET", "LIVER"), ("T2", "TARGET", "LYMPH NODE, NECK")]


@pytest.mark.parametrize(
    ("visits", "expected"),
    [
        pytest.param([{"T1": 30, "T2": 20}, {"T1": 0, "T2": 8}], ["CR"], id="B8"),
        pytest.param([{"T1": 30, "T2": 20}, {"T1": 0, "T2": 10}], ["PR"], id="B9"),
        pytest.param(
            [{"T1": 30, "T2": 20}, {"T1": 0, "T2": 8}, {"T1": 0, "T2": 11}],
            ["CR", "PR"],
            id="B16",
        ),
    ],
)
def test_nodal_targets(visits: list[dict[str, Any]], expected: list[str]) -> None:
    result = derive_timepoint_responses(*study(NODE_CASE, visits))
    assert responses(result, "TRGRESP") == expected


def test_B10_too_small_to_measure() -> None:
    result = single([30, "TOO SMALL TO MEASURE"])
    assert result.sums["SUMDIAM"].tolist() == [30.0, 5.0]
    assert responses(result, "TRGRESP") == ["PR"]


def test_B11_fragments_add_up() -> None:
    tu, tr = study([("T1", "TARGET", "LIVER")], [{"T1": 30}, {"T1.1": 12, "T1.2": 8}])
    result = derive_timepoint_responses(tu, tr)
    assert result.sums["SUMDIAM"].tolist() == [30.0, 20.0] and result.issues == ()


def test_B12_coalesced_lesions() -> None:
    lesions = [("T1", "TARGET", "LIVER"), ("T2", "TARGET", "LIVER")]
    result = derive_timepoint_responses(
        *study(lesions, [{"T1": 30, "T2": 20}, {"T1": 45, "T2": 0}])
    )
    assert result.sums["SUMDIAM"].tolist() == [50.0, 45.0]
    assert responses(result, "TRGRESP") == ["SD"]


THREE = [("T1", "TARGET", "LIVER"), ("T2", "TARGET", "LUNG"), ("T3", "TARGET", "BONE")]


@pytest.mark.parametrize(
    ("followup", "expected"),
    [
        pytest.param({"T1": 40, "T2": 40, "T3": None}, "PD", id="B13"),
        pytest.param({"T1": 10, "T2": 10, "T3": None}, "NE", id="B14"),
        pytest.param({"T1": 10, "T2": 10}, "NE", id="G2"),
        pytest.param({"T1": None, "T2": None, "T3": None}, "NE", id="G1"),
    ],
)
def test_missing_targets(followup: dict[str, Any], expected: str) -> None:
    result = derive_timepoint_responses(
        *study(THREE, [{"T1": 20, "T2": 20, "T3": 10}, followup])
    )
    assert responses(result, "TRGRESP") == [expected]
    assert responses(result, "OVRLRESP") == [expected]
    assert result.sums["SUMDIAM"].isna().tolist() == [False, True]


def test_nadir_ignores_incomplete_sums() -> None:
    result = derive_timepoint_responses(
        *study(
            THREE,
            [
                {"T1": 20, "T2": 20, "T3": 10},
                {"T1": 1, "T2": 1},
                {"T1": 20, "T2": 20, "T3": 10},
            ],
        )
    )
    assert result.sums["NADIR"].tolist() == [50.0, 50.0, 50.0]
    assert responses(result, "TRGRESP") == ["NE", "SD"]


# --------------------------------------------------------------- C. non-target response
@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param({"N1": "ABSENT", "N2": "ABSENT"}, "CR", id="C1"),
        pytest.param({"N1": "PRESENT", "N2": "ABSENT"}, "NON-CR/NON-PD", id="C3"),
        pytest.param({"N1": "UNEQUIVOCAL PROGRESSION", "N2": None}, "PD", id="C4"),
        pytest.param({"N1": "PRESENT"}, "NE", id="C5"),
        pytest.param(
            {"N1": "PRESENT", "N2": "NOT EVALUABLE"}, "NE", id="C5-not-evaluable"
        ),
    ],
)
def test_nontarget(states: dict[str, Any], expected: str) -> None:
    lesions = [
        ("N1", "NON-TARGET", "PLEURA"),
        ("N2", "NON-TARGET", "LYMPH NODE, HILAR"),
    ]
    visits = [{"N1": "PRESENT", "N2": "PRESENT"}, states]
    result = derive_timepoint_responses(*study(lesions, visits))
    assert responses(result, "NTRGRESP") == [expected]
    assert responses(result, "OVRLRESP") == [expected]  # Table 2 passes it through


def test_nontarget_node_measured_normal_is_absent() -> None:
    lesions = [("N1", "NON-TARGET", "LYMPH NODE, HILAR")]
    result = derive_timepoint_responses(*study(lesions, [{"N1": 12}, {"N1": 9}]))
    assert responses(result, "NTRGRESP") == ["CR"]


# ------------------------------------------------------------------------ D. new lesions
TARGET_AND_NEW = [("T1", "TARGET", "LIVER"), ("X1", "NEW", "BRAIN")]


@pytest.mark.parametrize(
    ("lesions", "visits", "expected"),
    [
        pytest.param(
            TARGET_AND_NEW, [{"T1": 50}, {"T1": 50, "X1": "NEW"}], ["PD"], id="D1"
        ),
        pytest.param(
            TARGET_AND_NEW,
            [{"T1": 50}, {"T1": 50, "X1": "EQUIVOCAL"}, {"T1": 50, "X1": "PRESENT"}],
            ["PD", "PD"],
            id="D2",
        ),
        pytest.param(
            TARGET_AND_NEW,
            [{"T1": 50}, {"T1": 50, "X1": "EQUIVOCAL"}, {"T1": 50, "X1": "ABSENT"}],
            ["SD", "SD"],
            id="D3",
        ),
        pytest.param(
            TARGET_AND_NEW,
            [{"T1": 50}, {"T1": 50, "X1": "UNEQUIVOCAL"}],
            ["PD"],
            id="D4",
        ),
        pytest.param(
            [("T1", "TARGET", "LIVER"), ("X1", "NEW", "LYMPH NODE, NECK")],
            [{"T1": 50}, {"T1": 50, "X1": 9}, {"T1": 50, "X1": 11}],
            ["SD", "PD"],
            id="D9",
        ),
    ],
)
def test_new_lesions(lesions, visits, expected: list[str]) -> None:
    result = derive_timepoint_responses(*study(lesions, visits))
    assert responses(result, "OVRLRESP") == expected
    assert responses(result, "TRGRESP") == ["SD"] * len(expected)
    assert responses(result, "NEWLIND") == ["Y" if e == "PD" else "N" for e in expected]


# --------------------------------------------------------------- E/F. overall time point
@pytest.mark.parametrize(
    ("target", "nontarget", "new", "expected"),
    [
        pytest.param("CR", "CR", False, "CR", id="E1"),
        pytest.param("CR", None, False, "CR", id="E1-no-nontargets"),
        pytest.param("CR", "NON-CR/NON-PD", False, "PR", id="E2"),
        pytest.param("CR", "NE", False, "PR", id="E3"),
        pytest.param("PR", "NON-CR/NON-PD", False, "PR", id="E4"),
        pytest.param("PR", "NE", False, "PR", id="E4-not-all-evaluated"),
        pytest.param("SD", "NON-CR/NON-PD", False, "SD", id="E5"),
        pytest.param("SD", "NE", False, "SD", id="E5-not-all-evaluated"),
        pytest.param("NE", "NON-CR/NON-PD", False, "NE", id="E6"),
        pytest.param("PD", "CR", False, "PD", id="E7"),
        pytest.param("PD", "NE", True, "PD", id="E7-new"),
        pytest.param("PR", "PD", False, "PD", id="E8"),
        pytest.param("NE", "PD", True, "PD", id="E8-new"),
        pytest.param("CR", "CR", True, "PD", id="E9"),
        pytest.param(None, "CR", False, "CR", id="F1"),
        pytest.param(None, "NON-CR/NON-PD", False, "NON-CR/NON-PD", id="F2"),
        pytest.param(None, "NE", False, "NE", id="F3"),
        pytest.param(None, "PD", False, "PD", id="F4"),
        pytest.param(None, "PD", True, "PD", id="F4-new"),
        pytest.param(None, "CR", True, "PD", id="F5"),
    ],
)
def test_overall_tables(target, nontarget, new: bool, expected: str) -> None:
    assert derive_overall_response(target, nontarget, new) == expected


def test_overall_needs_disease() -> None:
    with pytest.raises(ValueError, match="target or non-target"):
        derive_overall_response(None, None, False)


def test_E2_through_pipeline() -> None:
    lesions = [("T1", "TARGET", "LIVER"), ("N1", "NON-TARGET", "PLEURA")]
    result = derive_timepoint_responses(
        *study(
            lesions,
            [
                {"T1": 30, "N1": "PRESENT"},
                {"T1": 0, "N1": "PRESENT"},
                {"T1": 0, "N1": "ABSENT"},
            ],
        )
    )
    assert responses(result, "OVRLRESP") == ["PR", "CR"]
    assert result.responses.columns.tolist() == [
        "USUBJID",
        "RSDTC",
        "RSTESTCD",
        "RSORRES",
    ]


# ------------------------------------------------------------------- H/I. best response
REF = pd.Timestamp("2024-01-01")


def rs_from(seq: list[tuple[int, str]], subject: str = "S1") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "USUBJID": subject,
                "RSTESTCD": "OVRLRESP",
                "RSORRES": r,
                "RSDTC": (REF + pd.Timedelta(days=d)).strftime("%Y-%m-%d"),
            }
            for d, r in seq
        ],
        columns=["USUBJID", "RSDTC", "RSTESTCD", "RSORRES"],
    )


def bor_of(seq: list[tuple[int, str]], **kwargs: Any) -> pd.Series:
    return derive_best_overall_response(rs_from(seq), {"S1": REF}, **kwargs).iloc[0]


@pytest.mark.parametrize(
    ("seq", "kwargs", "expected"),
    [
        pytest.param([(42, "PR"), (84, "SD"), (126, "PD")], {}, "PR", id="H1"),
        pytest.param([(35, "SD"), (70, "PD")], {"min_sd_days": 42}, "PD", id="H2"),
        pytest.param([(35, "SD")], {"min_sd_days": 42}, "NE", id="H2-no-PD"),
        pytest.param([(45, "SD"), (90, "PD")], {"min_sd_days": 42}, "SD", id="H3"),
        pytest.param([(20, "PD")], {}, "PD", id="H4"),
        pytest.param([(42, "NE"), (84, "NE")], {}, "NE", id="H5"),
        pytest.param([], {}, "MISSING", id="H6"),
        pytest.param(
            [(50, "NON-CR/NON-PD")], {"min_sd_days": 42}, "NON-CR/NON-PD", id="H7"
        ),
        pytest.param(
            [(42, "PR"), (84, "CR")],
            {"nact_dates": {"S1": REF + pd.Timedelta(days=100)}},
            "CR",
            id="H8-nact-after",
        ),
        pytest.param(
            [(42, "PR"), (84, "CR")],
            {"nact_dates": {"S1": REF + pd.Timedelta(days=60)}},
            "PR",
            id="H8",
        ),
        pytest.param([(42, "CR"), (84, "PD"), (126, "CR")], {}, "CR", id="H9"),
        pytest.param([(42, "CR"), (42, "PD")], {}, "PD", id="H10"),
        pytest.param([(42, "PR"), (42, "SD")], {"min_sd_days": 42}, "SD", id="H10-SD"),
    ],
)
def test_bor_unconfirmed(seq, kwargs: dict[str, Any], expected: str) -> None:
    assert bor_of(seq, **kwargs)["BOR"] == expected


def test_H9_stops_at_first_pd() -> None:
    row = bor_of([(42, "SD"), (84, "PD"), (126, "CR")], min_sd_days=42)
    assert row["BOR"] == "SD" and row["PDDT"] == REF + pd.Timedelta(days=84)


SD_MET, SD_NOT_MET = {"min_sd_days": 42}, {"min_sd_days": 200}


@pytest.mark.parametrize(
    ("seq", "kwargs", "expected"),
    [
        pytest.param([(42, "CR"), (84, "CR")], {}, "CR", id="I1"),
        pytest.param([(42, "CR"), (84, "PR")], SD_MET, "SD", id="I2"),
        pytest.param([(42, "CR"), (84, "PR")], SD_NOT_MET, "PD", id="I2-true-CR"),
        pytest.param(
            [(42, "CR"), (84, "PR")],
            {"forbid_pr_after_cr": False},
            "PR",
            id="I2-doubtful-CR",
        ),
        pytest.param([(42, "CR"), (84, "SD")], SD_MET, "SD", id="I3"),
        pytest.param([(42, "CR"), (84, "SD")], SD_NOT_MET, "PD", id="I3-short"),
        pytest.param([(42, "CR"), (84, "PD")], SD_MET, "SD", id="I4"),
        pytest.param([(42, "CR"), (84, "PD")], SD_NOT_MET, "PD", id="I4-short"),
        pytest.param([(42, "CR"), (84, "NE")], SD_MET, "SD", id="I5"),
        pytest.param([(42, "CR"), (84, "NE")], SD_NOT_MET, "NE", id="I5-short"),
        pytest.param([(42, "PR"), (84, "CR")], {}, "PR", id="I6"),
        pytest.param([(42, "PR"), (84, "PR")], {}, "PR", id="I7"),
        pytest.param([(42, "PR"), (84, "SD")], SD_MET, "SD", id="I8"),
        pytest.param([(42, "PR"), (84, "PD")], SD_MET, "SD", id="I9"),
        pytest.param([(42, "PR"), (84, "PD")], SD_NOT_MET, "PD", id="I9-short"),
        pytest.param([(42, "PR"), (84, "NE")], SD_MET, "SD", id="I10"),
        pytest.param([(42, "PR"), (84, "NE")], SD_NOT_MET, "NE", id="I10-short"),
        pytest.param([(42, "NE"), (84, "NE")], {}, "NE", id="I11"),
        pytest.param([(42, "PR"), (63, "PR")], SD_MET, "SD", id="I12"),
        pytest.param(
            [(42, "PR"), (63, "PR")], {"confirm_days": 21}, "PR", id="I12-21d"
        ),
        pytest.param([(42, "PR"), (56, "NE"), (84, "PR")], {}, "PR", id="I13"),
        pytest.param(
            [(42, "PR"), (56, "NE"), (84, "PR")],
            {"max_ne_between": 0, **SD_MET},
            "SD",
            id="I13-strict",
        ),
        pytest.param([(42, "PR"), (56, "CR"), (84, "PR")], SD_MET, "SD", id="I14"),
        pytest.param(
            [(42, "PR"), (56, "CR"), (84, "PR")],
            {"forbid_pr_after_cr": False},
            "PR",
            id="I14-allowed",
        ),
    ],
)
def test_bor_confirmed(seq, kwargs: dict[str, Any], expected: str) -> None:
    assert bor_of(seq, confirm=True, **kwargs)["BOR"] == expected


def test_J3_duration_of_response_dates() -> None:
    rs = pd.concat(
        [
            rs_from([(42, "PR"), (84, "CR"), (126, "PD")], "S1"),
            rs_from([(42, "SD"), (84, "PD")], "S2"),
            rs_from([(42, "PR"), (84, "PR")], "S3"),
        ]
    )
    bor = derive_best_overall_response(
        rs,
        {"S1": REF, "S2": REF, "S3": REF},
        death_dates={"S3": REF + pd.Timedelta(days=100)},
    )
    def day(d):
        return REF + pd.Timedelta(days=d)

    assert bor["BOR"].tolist() == ["CR", "SD", "PR"]
    assert bor["RSPDT"].tolist()[0] == day(42) and pd.isna(bor["RSPDT"].iloc[1])
    assert bor["RSPENDDT"].iloc[0] == day(126) and pd.isna(bor["RSPENDDT"].iloc[1])
    assert bor["RSPENDDT"].iloc[2] == day(100)


def test_bor_input_errors() -> None:
    with pytest.raises(ValueError, match="subject S1"):
        derive_best_overall_response(rs_from([(42, "PR")]), {"S2": REF})
    with pytest.raises(ValueError, match="RSORRES 'GOOD' for subject S1"):
        derive_best_overall_response(rs_from([(42, "GOOD")]), {"S1": REF})


# -------------------------------------------------------------------------- J. rates
def lms04_bor() -> tuple[pd.DataFrame, dict[str, str]]:
    rows, arms = [], {}
    for arm, n, k in (("A", 74, 27), ("B", 76, 10)):
        for i in range(n):
            subject = f"{arm}{i:03d}"
            arms[subject] = arm
            if i < n - 1:  # last subject of each arm has no BOR row: ITT non-responder
                rows.append(
                    {
                        "USUBJID": subject,
                        "BOR": "PR" if i < k else ("SD" if i < k + 5 else "PD"),
                    }
                )
    return pd.DataFrame(rows), arms


def test_J1_J2_orr_with_exact_ci() -> None:
    bor, arms = lms04_bor()
    rates = response_rates(bor, arms)
    orr = rates[rates["PARAMCD"] == "ORR"].set_index("ARM")
    assert orr["N"].tolist() == [74, 76] and orr["n"].tolist() == [27, 10]
    assert (
        round(orr.loc["A", "RATE"] * 100) == 36
        and round(orr.loc["B", "RATE"] * 100) == 13
    )
    for arm, n, k in (("A", 74, 27), ("B", 76, 10)):
        # Clopper-Pearson closed form via the beta distribution
        assert orr.loc[arm, "LCL"] == pytest.approx(
            beta.ppf(0.025, k, n - k + 1), rel=1e-9
        )
        assert orr.loc[arm, "UCL"] == pytest.approx(
            beta.ppf(0.975, k + 1, n - k), rel=1e-9
        )


def test_J4_disease_control() -> None:
    bor = pd.DataFrame(
        {
            "USUBJID": ["1", "2", "3", "4", "5", "6"],
            "BOR": ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"],
        }
    )
    rates = response_rates(bor, {s: "X" for s in bor["USUBJID"]}).set_index("PARAMCD")
    assert rates.loc["DCR", "n"] == 4 and rates.loc["ORR", "n"] == 2


def test_rates_subject_without_arm() -> None:
    with pytest.raises(ValueError, match="subject 9"):
        response_rates(pd.DataFrame({"USUBJID": ["9"], "BOR": ["PR"]}), {"1": "A"})


# ------------------------------------------------------------------------ data quality
def test_data_quality_issues_and_derivation_continues() -> None:
    tu, tr = study(
        [
            ("T1", "TARGET", "LIVER"),
            ("N1", "NON-TARGET", "PLEURA"),
            ("Z1", "MAYBE", "LUNG"),
        ],
        [
            {"T1": 50, "N1": "PRESENT"},
            {"T1": 30, "N1": "BOGUS"},
            {"T1": -3, "N1": "PRESENT"},
        ],
    )
    extra = pd.DataFrame(
        [
            {
                "USUBJID": "S1",
                "TRLNKID": "T9",
                "TRTESTCD": "LDIAM",
                "TRORRES": "20",
                "TRSTRESN": 20.0,
                "TRDTC": "2024-02-12",
            },
            tr.iloc[2].to_dict(),  # duplicate identical T1 record
            {
                **tr.iloc[3].to_dict(),
                "TRORRES": "ABSENT",
            },  # conflicting N1 record on visit 1
        ]
    )
    result = derive_timepoint_responses(tu, pd.concat([tr, extra], ignore_index=True))
    found = {(i.domain, i.field, str(i.value)) for i in result.issues}
    assert ("TU", "TUORRES", "MAYBE") in found
    assert ("TR", "TRLNKID", "T9") in found  # not identified at baseline
    assert ("TR", "TRSTRESN/TRORRES", "-3.0") in found
    assert ("TR", "TRLNKID", "T1") in found and ("TR", "TRLNKID", "N1") in found
    assert all(i.usubjid == "S1" for i in result.issues)
    assert responses(result, "TRGRESP") == ["PR", "NE"]
    assert responses(result, "NTRGRESP") == ["NE", "NON-CR/NON-PD"]
    frame = result.issues_frame()
    assert frame.columns.tolist() == ["domain", "row", "usubjid", "field", "value", "problem"]
    assert len(frame) == len(result.issues)


def test_unknown_tumstate_code_is_reported() -> None:
    result = derive_timepoint_responses(
        *study([("N1", "NON-TARGET", "PLEURA")], [{"N1": "PRESENT"}, {"N1": "BOGUS"}])
    )
    assert [(i.field, i.value) for i in result.issues] == [("TRORRES", "BOGUS")]
    assert responses(result, "OVRLRESP") == ["NE"]


def test_missing_column_is_named() -> None:
    tu, tr = study([("T1", "TARGET", "LIVER")], [{"T1": 50}])
    with pytest.raises(ValueError, match="'TULOC'"):
        derive_timepoint_responses(tu.drop(columns="TULOC"), tr)
    with pytest.raises(ValueError, match="'TRORRES' or 'TRSTRESN'"):
        derive_timepoint_responses(tu, tr.drop(columns=["TRORRES", "TRSTRESN"]))


def test_result_to_dict() -> None:
    result = single([100, 70])
    assert result.to_frame() is result.responses
    assert result.to_dict()["issues"] == []


def test_nontarget_function_direct() -> None:
    assert (
        derive_nontarget_response(["ABSENT", None, "UNEQUIVOCAL PROGRESSION"]) == "PD"
    )


# -------------------------------------------------------------------------- property
diameters = st.decimals(min_value=0, max_value=300, places=1)


@given(
    st.lists(diameters, min_size=1, max_size=5),
    diameters,
    st.decimals(min_value=0, max_value=1, places=2),
    st.integers(min_value=1, max_value=10),
)
def test_scaling_invariance(values, base_extra, nadir_frac, k) -> None:
    """For non-nodal targets the CR/PR/SD/PD thresholds are ratios, so multiplying every
    diameter by k >= 1 keeps the response, except where the absolute +5 mm PD rule binds
    (ratio met but increase < 5 mm) -- there scaling can only turn SD/PR into PD."""
    total = sum(values, Decimal(0))
    baseline = total + base_extra
    nadir = (baseline * nadir_frac).quantize(Decimal("0.1"))
    before = derive_target_response([(v, False) for v in values], baseline, nadir)
    after = derive_target_response(
        [(v * k, False) for v in values], baseline * k, nadir * k
    )
    binding = 10 * total >= 12 * nadir and total - nadir < 5
    if binding:
        assert after in (before, "PD")
    else:
        assert after == before
