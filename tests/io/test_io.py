"""Reading CSV, Parquet and SAS files and folders of them: every bad file is a DataError
naming the file and what was expected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES

from oncotrial.core.errors import DataError, InputError
from oncotrial.datasets import DATASETS, load
from oncotrial.io import read_folder, read_table, require_columns


def test_every_bundled_dataset_loads():
    for name in DATASETS:
        frame = load(name)
        assert len(frame) > 20, name
    assert load("colon").shape == (1858, 16)
    assert load("aml")["x"].tolist()[:2] == ["Maintained", "Maintained"]


def test_unknown_dataset():
    with pytest.raises(InputError, match="name: unknown data set 'nope'"):
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
    with pytest.raises(DataError, match=r"a\.xlsx: unsupported file type '\.xlsx'; expected one of \.csv"):
        read_table(tmp_path / "a.xlsx")
    with pytest.raises(DataError, match=r"a\.csv: file not found"):
        read_table(tmp_path / "a.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match=r"d\.csv: is a directory; expected a CSV file"):
        read_table(tmp_path / "d.csv")


def test_require_columns_names_missing_and_available():
    with pytest.raises(DataError, match=r"aml: no column\(s\) \['arm'\]; available columns: \['time', 'status', 'x'\]"):
        require_columns(load("aml"), ["time", "arm"], source="aml")


def test_require_columns_refuses_duplicated_names_of_a_frame():
    frame = pd.DataFrame([[1, 0, 2]], columns=["time", "status", "time"])
    with pytest.raises(DataError, match=r"trial: duplicated column name\(s\) \['time'\]"):
        require_columns(frame, ["status"], source="trial")


BAD_FILES = {
    "empty.csv": (b"", "the file is empty; expected a header row and data rows"),
    "blank.csv": (b"\n\n", "the file is empty; expected a header row and data rows"),
    "header.csv": (b"time,status\n", "a header but no data rows; expected at least one row"),
    "latin1.csv": ("time,arm\n1,caf\u00e9\n".encode("latin-1"),
                   r"not UTF-8 text \(line 2, byte 15: b'\\xe9'\); save the file as UTF-8 CSV"),
    "dup.csv": (b"time,status,time\n1,0,2\n", r"duplicated column name\(s\) \['time'\]"),
    "ragged.csv": (b"a,b\n1,2\n1,2,3\n4\n", r"data rows \[2, 3\] \(2 rows\) do not have 2 fields like the header"),
    "bad.parquet": (b"not parquet", "not a readable Parquet file"),
    "empty.parquet": (b"", "not a readable Parquet file"),
    "bad.xpt": (b"HEADER RECORD?" * 10, r"not a readable SAS transport \(\.xpt\) file"),
    "bad.sas7bdat": (b"\x00" * 64, r"not a readable SAS data set \(\.sas7bdat\) file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_data_errors_naming_the_file(tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"^{str(path)}: {message}") as info:
        read_table(path)
    assert info.value.dataset == str(path)


def test_utf8_with_byte_order_mark_and_header_only_when_allowed(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftime,arm\n1,caf\u00e9\n".encode())
    assert read_table(path).to_dict("list") == {"time": [1], "arm": ["caf\u00e9"]}
    path.write_text("time,arm\n", encoding="utf-8")
    assert list(read_table(path, allow_empty=True).columns) == ["time", "arm"]


def test_ragged_rows_are_numbered_as_data_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n\n3,4,5\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path)
    assert info.value.rows == [2]  # the blank line is skipped, as pandas skips it


def _folder(tmp_path, files):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_read_folder_reads_one_file_per_name_case_insensitively(tmp_path):
    folder = _folder(tmp_path, {"DM.csv": "USUBJID\n1\n", "ae.CSV": "USUBJID\n", ".hidden": "x",
                                "truth.csv": "x\n1\n"})
    found = read_folder(folder, ["DM", "AE", "EX"], required=["DM"], ignore=["truth.csv"])
    assert sorted(found) == ["AE", "DM"]
    assert found["DM"]["USUBJID"].tolist() == ["1"] and found["AE"].empty  # ids are text


def test_read_folder_lists_the_files_it_will_not_read(tmp_path):
    folder = _folder(tmp_path, {"dm.csv": "USUBJID\n1\n", "ae.txt": "x", "notes.csv": "x\n1\n"})
    (folder / "old").mkdir()
    with pytest.raises(DataError, match=rf"^{folder}: will not read ae\.txt, notes\.csv, old/; expected files "
                                        r"named dm, ae with extension \.csv, \.parquet, \.pq, \.xpt, \.sas7bdat$"):
        read_folder(folder, ["DM", "AE"], required=["DM"])


def test_read_folder_problems_name_the_folder(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path / 'none'}: directory not found$"):
        read_folder(tmp_path / "none", ["DM"])
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="file: a file; expected a directory"):
        read_folder(tmp_path / "file", ["DM"])
    folder = _folder(tmp_path, {"ae.csv": "USUBJID\n1\n"})
    with pytest.raises(DataError, match=r"no DM file \(expected one of dm\.csv, dm\.parquet, dm\.pq, dm\.xpt, "
                                        r"dm\.sas7bdat\)"):
        read_folder(folder, ["DM", "AE"], required=["DM"])
    (folder / "AE.parquet").write_bytes(b"x")
    with pytest.raises(DataError, match=r"two files for AE: AE\.parquet and ae\.csv; keep one"):
        read_folder(folder, ["DM", "AE"])
    (folder / "AE.parquet").unlink()
    (folder / "dm.csv").write_text("USUBJID\n", encoding="utf-8")
    with pytest.raises(DataError, match="dm.csv: a header but no data rows"):
        read_folder(folder, ["DM", "AE"], required=["DM"])


def test_csv_identifiers_stay_text_with_their_leading_zeros(tmp_path):
    path = tmp_path / "dm.csv"
    path.write_text("STUDYID,USUBJID,SITEID,AGE\nT1,T1-01-001,01,64\nT1,T1-02-001,02,\n")
    frame = read_table(path)
    assert frame["SITEID"].tolist() == ["01", "02"]
    assert frame["USUBJID"].tolist() == ["T1-01-001", "T1-02-001"]
    assert frame["AGE"].dtype.kind == "f" and frame["AGE"].iloc[0] == 64  # still a number
    assert frame["AGE"].isna().iloc[1]
