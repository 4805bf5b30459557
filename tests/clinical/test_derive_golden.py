"""derive_all gives exactly the output pinned in ``data/derive_golden.json``.

Why: the derivations are rewritten for speed, and nothing about their output may change. The
fixture (written by ``data/derive_golden.py``, which also holds the cases and the
fingerprint) records per ADaM dataset and the data-quality frame the columns, dtypes, rows and
a content hash in row order, for clean replicas of both bundled protocols and for corrupted
ones that raise every kind of data-quality issue.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent / "data"


def _golden_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_golden", HERE / "derive_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLDEN = _golden_module()
EXPECTED = json.loads(GOLDEN.FIXTURE.read_text(encoding="utf-8"))


def test_fixture_covers_every_case() -> None:
    assert sorted(EXPECTED) == sorted(GOLDEN.CASES)


@pytest.mark.parametrize("case", sorted(GOLDEN.CASES))
def test_derive_all_output_is_unchanged(case: str) -> None:
    actual = GOLDEN.derive_case(case)
    expected = EXPECTED[case]
    for dataset, pinned in expected.items():
        got = actual[dataset]
        assert got["columns"] == pinned["columns"], f"{case}/{dataset}: columns differ"
        assert got["dtypes"] == pinned["dtypes"], f"{case}/{dataset}: dtypes differ"
        assert got["rows"] == pinned["rows"], f"{case}/{dataset}: row count differs"
        changed = [c for c, digest in pinned["by_column"].items() if got["by_column"][c] != digest]
        assert not changed, f"{case}/{dataset}: content differs in column(s) {changed}"
        assert got["sha256"] == pinned["sha256"]
