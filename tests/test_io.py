"""Reading CSV, Parquet and SAS transport files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES

from oncotrial.datasets import DATASETS, load
from oncotrial.io import read_table, require_columns


def test_every_bundled_dataset_loads():
    for name in DATASETS:
        frame = load(name)
        assert len(frame) > 20, name
    assert load("colon").shape == (1858, 16)
    assert load("aml")["x"].tolist()[:2] == ["Maintained", "Maintained"]


def test_unknown_dataset():
    with pytest.raises(ValueError, match="dataset: unknown name 'nope'"):
        load("nope")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_roundtrip(tmp_path, suffix):
    frame = load("aml")
    path = tmp_path / f"aml{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), frame)


@pytest.mark.parametrize("name", ["aml.xpt", "aml.sas7bdat"])
def test_sas_files_written_by_r_haven(name):
    """tests/fixtures/r/sas_files.R wrote these with R haven; values must equal the CSV data."""
    frame = read_table(FIXTURES / name)
    expected = load("aml")
    assert list(frame.columns) == ["time", "status", "x"]
    np.testing.assert_array_equal(frame["time"], expected["time"])
    np.testing.assert_array_equal(frame["status"], expected["status"])
    assert frame["x"].tolist() == expected["x"].tolist()


def test_blank_sas_character_value_is_missing(tmp_path):
    import pyreadstat

    path = tmp_path / "blank.xpt"
    pyreadstat.write_xport(pd.DataFrame({"arm": ["A", "", "B"], "t": [1.0, 2.0, 3.0]}), str(path))
    assert read_table(path)["arm"].isna().tolist() == [False, True, False]


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"unsupported file type '\.xlsx'"):
        read_table(tmp_path / "a.xlsx")
    with pytest.raises(ValueError, match="file not found"):
        read_table(tmp_path / "a.csv")


def test_require_columns_names_missing_and_available():
    with pytest.raises(ValueError, match=r"no column\(s\) \['arm'\]; available columns: \['time', 'status', 'x'\]"):
        require_columns(load("aml"), ["time", "arm"], source="aml")
