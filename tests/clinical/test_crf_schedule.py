"""Planned visits: the derivations' assessment grid and missed rule, cycles as given."""

from __future__ import annotations

import datetime as dt

import pytest

from oncotrial.clinical.adtte import scheduled_assessments
from oncotrial.clinical.crf import CaptureRecord, planned_visits
from oncotrial.protocol import Protocol

RAND = dt.date(2024, 1, 1)
BASE = {"visit": 0, "date": "2023-12-20", "lesions": [
    {"id": "T01", "role": "TARGET", "location": "LUNG", "diameter_mm": 30.0}]}


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return Protocol.load("lms04")


def _scan(visit: int, date: str, mm: float = 29.0) -> CaptureRecord:
    return CaptureRecord("S1", "tumour_assessment", str(visit),
                         {"visit": visit, "date": date, "lesions": [{"id": "T01",
                                                                     "diameter_mm": mm}]})


def _cycle(n: int, date: str) -> CaptureRecord:
    return CaptureRecord("S1", "cycle", f"induction:{n}",
                         {"phase": "induction", "cycle": n, "date": date,
                          "doxorubicin_dose": 75.0})


BASELINE = CaptureRecord("S1", "tumour_assessment", "0", BASE)


def _status(visits: tuple, form: str) -> list[tuple[str, str]]:
    return [(v.key, v.status) for v in visits if v.form == form]


def test_assessments_done_missed_planned(protocol: Protocol) -> None:
    grid = [d.astype("datetime64[D]").item() for d in scheduled_assessments(protocol, "DOX", RAND)]
    assert grid[:3] == [dt.date(2024, 2, 12), dt.date(2024, 3, 25), dt.date(2024, 5, 6)]
    records = [BASELINE, _scan(1, "2024-02-14"), _scan(2, "2024-05-05")]
    visits = planned_visits(protocol, RAND, records, dt.date(2024, 5, 10), arm="DOX")
    assert _status(visits, "tumour_assessment") == [
        ("1", "done"), ("2", "missed"), ("3", "done"), ("4", "planned")]
    assert visits[0].done_on == dt.date(2024, 2, 14)
    assert visits[0].earliest == dt.date(2024, 2, 5) and visits[0].latest == dt.date(2024, 2, 19)


def test_assessment_due_then_overdue(protocol: Protocol) -> None:
    records = [BASELINE, _scan(1, "2024-02-14")]
    due = planned_visits(protocol, RAND, records, dt.date(2024, 3, 20), arm="DOX")
    assert _status(due, "tumour_assessment") == [("1", "done"), ("2", "due"), ("3", "planned")]
    late = planned_visits(protocol, RAND, records, dt.date(2024, 4, 10), arm="DOX")
    assert _status(late, "tumour_assessment")[-2:] == [("2", "overdue"), ("3", "planned")]


def test_nothing_after_progression(protocol: Protocol) -> None:
    cycles = [_cycle(1, "2024-01-01"), _cycle(2, "2024-01-22"), _cycle(3, "2024-02-12")]
    records = [BASELINE, _scan(1, "2024-02-14", mm=45.0), *cycles]  # PD: 30 -> 45 mm
    visits = planned_visits(protocol, RAND, records, dt.date(2024, 6, 1), arm="DOX")
    assert _status(visits, "tumour_assessment") == [("1", "done")]
    assert [s for _, s in _status(visits, "cycle")] == ["done"] * 3


def test_cycles_follow_the_treatment_given(protocol: Protocol) -> None:
    records = [_cycle(1, "2024-01-01"), _cycle(2, "2024-01-24"), _cycle(3, "2024-02-14")]
    visits = planned_visits(protocol, RAND, records, dt.date(2024, 3, 10), arm="DOX")
    cycles = [v for v in visits if v.form == "cycle"]
    assert [(v.key, v.status) for v in cycles] == [
        ("induction:1", "done"), ("induction:2", "done"), ("induction:3", "done"),
        ("induction:4", "due")]
    assert cycles[-1].due == dt.date(2024, 3, 6)  # 21 days after the delayed cycle 3
    late = planned_visits(protocol, RAND, records, dt.date(2024, 3, 20), arm="DOX")
    assert late[-1].status == "overdue"
    stopped = [*records, CaptureRecord("S1", "end_of_treatment", "induction", {
        "phase": "induction", "date": "2024-03-01", "reason": "ADVERSE EVENT"})]
    assert [v.status for v in planned_visits(protocol, RAND, stopped, dt.date(2024, 3, 20),
                                             arm="DOX") if v.form == "cycle"] == ["done"] * 3


def test_next_phase_after_the_last_cycle(protocol: Protocol) -> None:
    records = [_cycle(n, (RAND + dt.timedelta(days=21 * (n - 1))).isoformat())
               for n in range(1, 7)]
    visits = planned_visits(protocol, RAND, records, dt.date(2024, 4, 1), arm="DOXTRAB")
    assert visits[-1].key == "maintenance:1" and visits[-1].status == "planned"
    assert visits[-1].due == dt.date(2024, 5, 6)
