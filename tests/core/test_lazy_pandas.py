"""The design and power commands do not import pandas (0.3 s of start-up) unless a
result is turned into a DataFrame; the core still recognises pandas inputs once pandas
is loaded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from oncotrial.core.errors import InputError
from oncotrial.core.lazy_pandas import loaded_pandas
from oncotrial.core.results import json_safe
from oncotrial.core.validation import as_numbers, label

DESIGN = ["design", "survival", "--median-control", "6", "--median-experimental", "9.7",
          "--alpha", "0.05", "--power", "0.8", "--accrual", "24", "--follow-up", "24", "--json"]
POWER = ["simulate", "power", "--median-control", "6", "--median-experimental", "9.7",
         "--patients", "150", "--events", "136", "--accrual", "24", "--trials", "50",
         "--seed", "1"]


def _modules_after(argv: list[str]) -> tuple[bool, str]:
    """Run the command line in a fresh interpreter: (pandas loaded at the end, stdout)."""
    code = ("import sys\nfrom oncotrial.cli import app\n"
            f"try:\n    app({argv!r}, standalone_mode=False)\n"
            "finally:\n    print('PANDAS', 'pandas' in sys.modules, file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return "PANDAS True" in run.stderr, run.stdout


@pytest.mark.parametrize("argv", [DESIGN, POWER, [*POWER, "--json"],
                                  [*POWER, "--looks", "3", "--json"], [*POWER, "--looks", "3"]],
                         ids=["design-json", "power-table", "power-json", "looks-json", "looks-table"])
def test_the_design_and_power_commands_run_without_pandas(argv):
    loaded, out = _modules_after(argv)
    assert not loaded
    assert "hazard" in out.lower()


def test_a_dataframe_made_from_a_result_still_imports_pandas_on_demand():
    loaded, _ = _modules_after(DESIGN)
    assert not loaded
    code = ("import sys\nfrom oncotrial.design import survival_sample_size\n"
            "r = survival_sample_size(median_control=6, median_experimental=9.7, accrual_time=24, follow_up=24)\n"
            "print('pandas' in sys.modules, type(r.to_frame()).__name__)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "DataFrame"]


def test_loaded_pandas_is_the_module_once_imported():
    assert loaded_pandas() is pd


def test_pandas_inputs_are_still_recognised():
    assert label(pd.Series([1.0], name="pfs_months"), "time") == "time ('pfs_months')"
    assert np.isnan(as_numbers(pd.Series([1.0, pd.NA], dtype=object), "x")[1])
    with pytest.raises(TypeError, match="got a DataFrame with columns"):
        as_numbers(pd.DataFrame({"a": [1.0]}), "x")
    assert json_safe(pd.Series({"a": pd.NaT})) == {"a": None}
    assert json_safe(np.datetime64("2020-01-02")) == "2020-01-02T00:00:00"
    assert json_safe(pd.Timestamp("2020-01-02")) == "2020-01-02T00:00:00"
    with pytest.raises(InputError):
        as_numbers(pd.Series(["a"], dtype=object), "x")
