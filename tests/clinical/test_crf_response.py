"""RECIST response at entry, by the engine of oncotrial.clinical.recist."""

from __future__ import annotations

import pytest

from oncotrial.clinical.crf import assessment_response
from oncotrial.core.errors import InputError

BASE = {"visit": 0, "date": "2024-01-05", "lesions": [
    {"id": "T01", "role": "TARGET", "location": "LUNG", "diameter_mm": 30.0},
    {"id": "T02", "role": "TARGET", "location": "LYMPH NODE", "node": True, "diameter_mm": 20.0},
    {"id": "NT01", "role": "NON-TARGET", "location": "LIVER", "state": "PRESENT"}]}


def _scan(visit: int, date: str, t1: float, t2: float, state: str = "PRESENT",
          new: bool = False) -> dict:
    lesions = [{"id": "T01", "diameter_mm": t1}, {"id": "T02", "diameter_mm": t2},
               {"id": "NT01", "state": state}]
    if new:
        lesions.append({"id": "NEW01", "role": "NEW", "location": "BONE"})
    return {"visit": visit, "date": date, "lesions": lesions}


def test_responses() -> None:
    shrink = _scan(1, "2024-02-20", 18.0, 12.0)  # sum 50 -> 30: -40 %
    assert assessment_response(BASE, [], shrink) == "PR"
    assert assessment_response(BASE, [], _scan(1, "2024-02-20", 28.0, 18.0)) == "SD"
    # +20 % and +5 mm over the nadir 30
    assert assessment_response(BASE, [shrink], _scan(2, "2024-04-01", 26.0, 12.0)) == "PD"
    assert assessment_response(BASE, [], _scan(1, "2024-02-20", 28.0, 18.0, new=True)) == "PD"
    assert assessment_response(BASE, [], _scan(1, "2024-02-20", 0.0, 8.0, "ABSENT")) == "CR"
    assert assessment_response(BASE, [], _scan(1, "2024-02-20", 0.0, 8.0)) == "PR"
    partial = {"visit": 1, "date": "2024-02-20", "lesions": [{"id": "T01", "diameter_mm": 20}]}
    assert assessment_response(BASE, [], partial) == "NE"


def test_baseline_has_no_response() -> None:
    with pytest.raises(InputError, match="baseline"):
        assessment_response(BASE, [], BASE)
