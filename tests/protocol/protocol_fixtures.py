"""Shared fixtures of the protocol tests (imported by name: tests/conftest.py owns `conftest`)."""

from __future__ import annotations

import copy

import pytest

from oncotrial.protocol import Protocol

_LMS04 = Protocol.load("lms04")


@pytest.fixture
def lms04() -> Protocol:
    return _LMS04


@pytest.fixture
def data() -> dict:
    """LMS04 as plain data, to break one thing at a time."""
    return copy.deepcopy(_LMS04.to_dict())


@pytest.fixture
def eligible_patient() -> dict:
    return {"age": 58, "histology": "leiomyosarcoma", "expert_pathology_review": True,
            "origin": "uterine", "stage": "metastatic", "unresectable": False,
            "prior_chemotherapy": False, "measurable_lesions": 2, "ecog": 1,
            "adequate_organ_function": True, "other_cancer_in_remission_lt_3y": False,
            "cns_metastases": False}
