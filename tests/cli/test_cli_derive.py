"""`oncotrial derive`: SDTM directory in, ADaM files and a data-quality report out."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from oncotrial.cli import app

sys.path.insert(0, str(Path(__file__).parents[1] / "clinical"))
from test_derive import _sdtm

runner = CliRunner()


def test_derive_writes_adam_and_quality_report(tmp_path):
    sdtm_dir = tmp_path / "sdtm"
    sdtm_dir.mkdir()
    for name, frame in _sdtm().items():
        frame.to_csv(sdtm_dir / f"{name.lower()}.csv", index=False)
    out = tmp_path / "adam"
    result = runner.invoke(app, ["derive", "--sdtm", str(sdtm_dir), "--protocol", "lms04", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("adsl", "adtte", "adrs", "adae"):
        for ext in ("csv", "parquet", "xpt"):
            assert (out / f"{name}.{ext}").is_file(), f"{name}.{ext}"
    quality = pd.read_csv(out / "data_quality.csv")
    assert len(quality) > 0 and f"Data-quality problems: {len(quality)}" in result.output
    assert "Subjects: " in result.output and "PFS:" in result.output


def test_derive_without_dm_names_the_problem(tmp_path):
    result = runner.invoke(app, ["derive", "--sdtm", str(tmp_path), "--protocol", "lms04",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no DM file" in result.output
