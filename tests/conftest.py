"""Shared test helpers: R fixtures and tolerance-aware comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "r"

#: relative tolerance against R, and the absolute floor used near zero
RTOL = 1e-6
ATOL = 1e-9


def load_fixture(name: str) -> Any:
    """Load ``tests/fixtures/r/<name>.json`` (written by ``<name>.R``; R NA -> None)."""
    with open(FIXTURES / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def _as_array(x: Any) -> np.ndarray:
    if x is None:
        return np.array([np.nan])
    arr = np.atleast_1d(np.asarray(x, dtype=object))
    return np.array([np.nan if v is None or (isinstance(v, str) and v in ("NA", "NaN", "Inf"))
                     else float(v) for v in arr], dtype=float)


def assert_close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL,
                 what: str = "") -> None:
    """Assert element-wise |a - e| <= atol + rtol*|e|, with NaN/None (R NA) matching NaN."""
    a = _as_array(actual)
    e = _as_array(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert np.array_equal(nan_a, nan_e), f"{what}: NaN pattern differs:\n{a}\nvs R\n{e}"
    ok = np.abs(a[~nan_a] - e[~nan_e]) <= atol + rtol * np.abs(e[~nan_e])
    if not ok.all():
        i = np.flatnonzero(~ok)[0]
        raise AssertionError(f"{what}: {a[~nan_a][i]!r} != R {e[~nan_e][i]!r} "
                             f"(rel {abs(a[~nan_a][i] - e[~nan_e][i]) / max(abs(e[~nan_e][i]), 1e-300):.2e})")


@pytest.fixture
def close():
    return assert_close
