"""The SAP's rule for P values on the LMS04 report: only the analyses the protocol gives a P
get one — the primary end point's test; secondary end points (OS, PFS2), subgroup
interactions and adverse-event rows get estimates with confidence intervals only (the
review's "P values where the SAP gives none")."""

from __future__ import annotations

import re

import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.endpoint_results import endpoint_results
from oncotrial.report.endpoint_tables import subgroup_table
from oncotrial.report.html import report_content
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
P_CELL = re.compile(r"(^|\s)[Pp]( |$|\s*[<=(])|P for interaction|P value\b(?! per)")


@pytest.fixture(scope="module")
def report():
    trial = simulate_trial("lms04", seed=4)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    adam = AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)
    analysis = analyse(adam, LMS04)
    return adam, analysis, report_content(analysis, LMS04)


def _p_records(analysis) -> set[str]:
    """The end points (or tables) of the ARD's P records."""
    statistic = analysis.ard["statistic"].astype(str)
    return set(analysis.ard.loc[statistic.str.endswith("_p") | (statistic == "p"), "endpoint"].dropna())


def _cells(table) -> list[str]:
    return [*table.header, *[c for r in table.rows for c in r.cells]]


def test_only_the_end_points_the_protocol_gives_a_p_have_one(report):
    _, analysis, content = report
    declared = {e.name.upper(): LMS04.endpoint_analysis(e.name).p_value for e in LMS04.endpoints
                if e.kind == "time_to_event" and e.analysis is not None}
    assert declared["OS"] is False and declared["PFS2"] is False and declared["PFS"] is True
    for section in content.endpoints:
        if section.table is None:
            continue
        has_p = any(" P" in c or c.startswith("P") for c in _cells(section.table))
        assert has_p is declared[section.endpoint], section.endpoint
        assert (analysis.efficacy[section.endpoint].comparisons.empty) is not declared[section.endpoint]
    assert not set(_p_records(analysis)) & {"OS", "PFS2"}


def test_subgroup_tables_have_no_interaction_p(report):
    adam, analysis, _ = report
    results = endpoint_results(adam.adsl, adam.adtte, LMS04, analysis.efficacy, list(analysis.arm_roles))
    assert results.subgroups
    for paramcd, result in results.subgroups.items():
        table = subgroup_table(result)
        assert not result.p_interaction, paramcd
        assert not any(P_CELL.search(c) for c in _cells(table)), paramcd


def test_adverse_event_rows_and_secondary_responses_have_no_p(report):
    _, analysis, content = report
    assert _p_records(analysis) <= {"PFS"}
    assert content.adverse_events is not None
    assert not any(P_CELL.search(c) for c in _cells(content.adverse_events))
