"""Bad input on the command line: one line on stderr naming the option as typed or the
file, exit status 2, no traceback, nothing computed; a failed run exits with 1."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from clihelpers import DESIGN, error_line, oncotrial
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.cli._output import reports_errors
from oncotrial.core.errors import AllocationError, InputError, SpecError
from oncotrial.datasets import load


@pytest.fixture(scope="module")
def aml_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("aml") / "aml.csv"
    load("aml").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("cutoff", ["01/02/2023", "2023", "2023-01", "31-01-2023", "2023-1-31",
                                    "2023-01-31T00:00"])
def test_cutoff_must_be_a_complete_iso_date(tmp_path, cutoff):
    line = error_line(oncotrial("derive", "--sdtm", tmp_path, "--protocol", "lms04", "--out",
                                tmp_path / "adam", "--cutoff", cutoff))
    assert line == (f"--cutoff: expected a date as YYYY-MM-DD (ISO 8601), e.g. 2023-01-31, "
                    f"got {cutoff!r}")
    assert not (tmp_path / "adam").exists()


@pytest.mark.parametrize("cutoff", ["2023-13-01", "2023-02-30"])
def test_cutoff_must_be_a_calendar_date(tmp_path, cutoff):
    line = error_line(oncotrial("derive", "--sdtm", tmp_path, "--protocol", "lms04", "--out",
                                tmp_path / "adam", "--cutoff", cutoff))
    assert line == f"--cutoff: {cutoff!r} is not a calendar date; expected YYYY-MM-DD (ISO 8601), e.g. 2023-01-31"


@pytest.mark.parametrize("looks", ["0", "-3", "21"])
def test_looks_out_of_range_names_looks(looks):
    line = error_line(oncotrial(*DESIGN, "--looks", looks))
    assert line.startswith("--looks: expected") and "from 1 to 20" in line and line.endswith(f"got {looks}")
    power = error_line(oncotrial("simulate", "power", "--median-control", "6", "--hazard-ratio", "0.6",
                                 "--patients", "150", "--events", "136", "--accrual", "24",
                                 "--trials", "10", "--looks", looks))
    assert power.startswith("--looks: expected") and power.endswith(f"got {looks}")


def test_gamma_only_with_the_hsd_spending_of_a_group_sequential_design():
    fixed = error_line(oncotrial(*DESIGN, "--gamma", "-4"))
    assert fixed == ("--gamma: only used by a group-sequential design (--looks 2 or more) "
                     "with --spending asHSD")
    other = error_line(oncotrial(*DESIGN, "--looks", "3", "--spending", "asOF", "--gamma", "-4"))
    assert other == "--gamma: only used with --spending asHSD (Hwang-Shih-DeCani), got --spending asOF"
    out_of_range = error_line(oncotrial(*DESIGN, "--looks", "3", "--spending", "asHSD", "--gamma", "99"))
    assert out_of_range.startswith("--gamma: expected") and "99" in out_of_range
    good = oncotrial(*DESIGN, "--looks", "3", "--spending", "asHSD", "--gamma", "-4", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["events"] > 136  # three looks need more events than one


def test_negative_landmark_names_landmark(aml_csv):
    line = error_line(oncotrial("survival", aml_csv, "--time", "time", "--event", "status", "--group", "x",
                                "--landmark", "12", "--landmark", "-6"))
    assert line.startswith("--landmark: expected finite non-negative times") and "rows [2]" in line


def test_bad_values_in_data_rows_are_numbered_from_one(tmp_path):
    frame = load("aml")
    frame.loc[4, "status"] = 2  # the fifth data row
    path = tmp_path / "aml.csv"
    frame.to_csv(path, index=False)
    line = error_line(oncotrial("survival", path, "--time", "time", "--event", "status", "--group", "x"))
    assert "status" in line and "rows [5]" in line


def test_missing_column_names_the_file_and_the_columns(aml_csv):
    line = error_line(oncotrial("survival", aml_csv, "--time", "time", "--event", "dead", "--group", "x"))
    assert line == f"{aml_csv}: no column(s) ['dead']; available columns: ['time', 'status', 'x']"


BAD_FILES = {
    "empty.csv": (b"", "the file is empty; expected a header row and data rows"),
    "header.csv": (b"time,status,x\n", "a header but no data rows; expected at least one row"),
    "latin1.csv": ("time,status,x\n9,1,caf\u00e9\n".encode("latin-1"),
                   "not UTF-8 text (line 2, byte 22: b'\\xe9'); save the file as UTF-8 CSV"),
    "dup.csv": (b"time,status,time\n9,1,2\n", "duplicated column name(s) ['time']; every column needs a "
                                            "name of its own"),
    "bad.parquet": (b"PAR1 but not really", "not a readable Parquet file"),
    "bad.xpt": (b"HEADER RECORD" * 20, "not a readable SAS transport (.xpt) file"),
    "bad.sas7bdat": (b"\x00" * 64, "not a readable SAS data set (.sas7bdat) file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_data_files_name_the_file(tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    line = error_line(oncotrial("survival", path, "--time", "time", "--event", "status", "--group", "x"))
    assert line.startswith(f"{path}: {message}"), line


def test_sdtm_folder_with_files_it_will_not_read(tmp_path):
    sdtm = tmp_path / "study"
    sdtm.mkdir()
    pd.DataFrame({"USUBJID": ["1"]}).to_csv(sdtm / "dm.csv", index=False)
    (sdtm / "ae.txt").write_text("adverse events", encoding="utf-8")
    (sdtm / "labs.csv").write_text("x\n1\n", encoding="utf-8")
    line = error_line(oncotrial("derive", "--sdtm", sdtm, "--protocol", "lms04", "--out", tmp_path / "adam"))
    assert line == (f"{sdtm}: will not read ae.txt, labs.csv; expected files named dm, ex, ae, ds, cm, "
                    "tu, tr, rs, pr with extension .csv, .parquet, .pq, .xpt, .sas7bdat")
    assert not (tmp_path / "adam").exists()


def test_sdtm_folder_without_dm(tmp_path):
    line = error_line(oncotrial("derive", "--sdtm", tmp_path, "--protocol", "lms04", "--out", tmp_path / "o"))
    assert line == (f"{tmp_path}: no DM file (expected one of dm.csv, dm.parquet, dm.pq, dm.xpt, "
                    "dm.sas7bdat)")


@pytest.mark.parametrize("content", ["id: caf\u00e9\n".encode("latin-1"), bytes(range(200, 256)) * 4])
def test_protocol_file_that_is_not_utf8(tmp_path, content):
    path = tmp_path / "protocol.yaml"
    path.write_bytes(content)
    for args in (["protocol", "show", path], ["dose", "--protocol", path, "--arm", "A", "--height-cm", "170",
                                              "--weight-kg", "70"]):
        line = error_line(oncotrial(*args))
        assert line.startswith(f"invalid protocol {path}: <file>: '{path}' is not UTF-8 text (byte "), line
        assert line.endswith("save it as UTF-8")


def test_unknown_bundled_data_set_names_the_argument(tmp_path):
    line = error_line(oncotrial("datasets", "export", "nope", tmp_path / "x.csv"))
    assert line.startswith("NAME: unknown data set 'nope'; expected one of ['aml',")


# ---------------------------------------------------------------------------------------
# the one error handler, in process


def _app(error: BaseException, fields: dict[str, str] | None = None) -> typer.Typer:
    small = typer.Typer()

    @small.command()
    @reports_errors(fields=fields)
    def run(looks: int = typer.Option(1, "--looks"), out: str = typer.Argument("x")) -> None:
        raise error

    return small


@pytest.mark.parametrize(("error", "fields", "line", "code"), [
    (InputError("k: expected 1 to 20, got 0", field="k"), {"k": "looks"},
     "--looks: expected 1 to 20, got 0", 2),
    (InputError("expected 1 to 20", field="k"), {"k": "looks"}, "--looks: expected 1 to 20", 2),
    (InputError("out: not writable", field="out"), None, "OUT: not writable", 2),
    (InputError("other: unknown name", field="other"), None, "other: unknown name", 2),
    (ValueError("k: expected 1 to 20"), {"k": "looks"}, "--looks: expected 1 to 20", 2),
    (SpecError(["arms[1].ratio: expected > 0", "title: required"], "p.yaml"), None,
     "invalid specification p.yaml: arms[1].ratio: expected > 0; title: required", 2),
    (PermissionError(13, "Permission denied", "data.csv"), None, "data.csv: Permission denied", 2),
    (AllocationError("stratum A is exhausted"), None, "stratum A is exhausted", 1),
])
def test_the_error_handler(error, fields, line, code):
    result = CliRunner().invoke(_app(error, fields), ["--looks", "0"])
    assert result.exit_code == code
    assert result.stderr == f"error: {line}\n"


def _commands(typer_app: typer.Typer):
    for info in typer_app.registered_commands:
        yield info.callback
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance)


def test_every_command_reports_errors_as_one_line():
    callbacks = list(_commands(app))
    assert len(callbacks) >= 14
    assert all(getattr(callback, "reports_errors", False) for callback in callbacks), \
        [c.__name__ for c in callbacks if not getattr(c, "reports_errors", False)]
