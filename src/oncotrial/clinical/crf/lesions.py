"""Tumour-assessment records <-> SDTM TU/TR rows (one subject).

A lesion is identified (TU) at baseline with its kind, location and node flag, or, for a
new lesion, on the first assessment that lists it (``TUDTC`` = that date). Measurements
(TR) are ``LDIAM`` in mm (``SAXIS`` for a lymph node: RECIST measures nodes in the short
axis) for target lesions and ``TUMSTATE`` (present, absent, unequivocal progression) for
non-target ones; a new lesion has its TU record only, which is what RECIST needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["tumour_rows"]


def _measurement(subject: str, ident: str, date: str, node: bool,
                 lesion: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    base = {"USUBJID": subject, "TRLNKID": ident, "TRDTC": date}
    diameter = lesion.get("diameter_mm")
    if role == "TARGET" and diameter is not None:
        value = float(diameter)
        return {**base, "TRTESTCD": "SAXIS" if node else "LDIAM", "TRORRES": str(value),
                "TRSTRESN": value, "TRSTRESU": "mm"}
    state = lesion.get("state")
    if role == "NON-TARGET" and state is not None:
        return {**base, "TRTESTCD": "TUMSTATE", "TRORRES": state, "TRSTRESN": None,
                "TRSTRESU": None}
    return None


def tumour_rows(subject: str, assessments: Sequence[Mapping[str, Any]],
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """TU and TR rows (without ``STUDYID`` and ``--SEQ``) of one subject's assessment values
    (any order; visit 0 is baseline). A follow-up lesion whose id is unknown and whose kind
    is not given counts as new."""
    ordered = sorted(assessments, key=lambda a: (a.get("visit", 0), str(a.get("date"))))
    roles: dict[str, str] = {}
    nodes: dict[str, bool] = {}
    tu: list[dict[str, Any]] = []
    tr: list[dict[str, Any]] = []
    for assessment in ordered:
        date = str(assessment.get("date"))
        baseline = assessment.get("visit") == 0
        for lesion in assessment.get("lesions") or ():
            ident = lesion.get("id")
            if ident is None:
                continue
            if ident not in roles:
                role = lesion.get("role") or (None if baseline else "NEW")
                if role is None:
                    continue
                roles[ident], nodes[ident] = role, bool(lesion.get("node"))
                tu.append({"USUBJID": subject, "TULNKID": ident, "TUTESTCD": "TUMIDENT",
                           "TUORRES": role, "TULOC": lesion.get("location"),
                           "TUNODE": "Y" if nodes[ident] else "N", "TUDTC": date})
            row = _measurement(subject, ident, date, nodes[ident], lesion, roles[ident])
            if row is not None:
                tr.append(row)
    return tu, tr
