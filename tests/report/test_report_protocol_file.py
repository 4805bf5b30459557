"""Which protocol a folder of ADaM data belongs to: the saved protocol.yaml, else the bundled
protocol named by ADSL STUDYID, else an error asking for --protocol (none is assumed)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.protocol_file import PROTOCOL_FILE, recorded_protocol, write_protocol
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
runner = CliRunner()


@pytest.fixture(scope="module")
def adam_folder(tmp_path_factory):
    trial = simulate_trial("lms04", seed=3)
    folder = tmp_path_factory.mktemp("adam")
    derive_all(trial.domains, LMS04, cutoff=trial.cutoff).write(folder)
    return folder


def test_a_saved_protocol_reads_back_equal(tmp_path):
    path = write_protocol(LMS04, tmp_path)
    assert path == tmp_path / PROTOCOL_FILE
    assert Protocol.load(path) == LMS04
    assert recorded_protocol(tmp_path, pd.DataFrame({"STUDYID": ["ANOTHER"]})) == LMS04  # the file wins


def test_the_bundled_protocol_named_by_studyid(tmp_path):
    assert recorded_protocol(tmp_path, pd.DataFrame({"STUDYID": [LMS04.id.lower(), f" {LMS04.id}"]})) == LMS04


@pytest.mark.parametrize("adsl, message", [
    (pd.DataFrame({"USUBJID": ["1"]}), "no ADSL STUDYID"),
    (pd.DataFrame({"STUDYID": ["GASTRIC-01"]}), "ADSL STUDYID 'GASTRIC-01' names no bundled protocol"),
    (pd.DataFrame({"STUDYID": ["A", "B"]}), "ADSL STUDYID 'A', 'B' names no bundled protocol"),
])
def test_no_protocol_is_assumed(tmp_path, adsl, message):
    with pytest.raises(InputError, match=message) as caught:
        recorded_protocol(tmp_path, adsl)
    assert caught.value.field == "protocol"


def test_analyze_without_protocol_option(adam_folder, tmp_path):
    result = runner.invoke(app, ["analyze", "--adam", str(adam_folder), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert f"<title>{LMS04.id}: trial report" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")


def test_analyze_asks_for_the_protocol_when_none_is_recorded(adam_folder, tmp_path):
    adsl = pd.read_parquet(adam_folder / "adsl.parquet").assign(STUDYID="GASTRIC-01")
    folder = tmp_path / "adam"
    folder.mkdir()
    for path in adam_folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    adsl.to_parquet(folder / "adsl.parquet")
    result = runner.invoke(app, ["analyze", "--adam", str(folder), "--out", str(tmp_path / "report")])
    assert result.exit_code != 0
    assert "--protocol" in result.output and "names no bundled protocol" in result.output
