"""The architecture contracts in pyproject.toml hold for oncotrial and catch a package that
breaks them (tests/fixtures/badpkg, a miniature of the same layers with planted violations)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _config_for(package: str, tmp_path: Path) -> Path:
    """The repository's import-linter configuration, applied to ``package``.

    Only the root package's name is substituted, so the test exercises the contracts that
    ``make check`` runs. Values are written as JSON, which is valid TOML for strings, lists and
    booleans.
    """
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    text = json.dumps(settings).replace('"oncotrial', f'"{package}')
    settings = json.loads(text)
    lines = ["[tool.importlinter]"]
    session = {key: value for key, value in settings.items() if key != "contracts"}
    lines += [f"{key} = {json.dumps(value)}" for key, value in session.items()]
    for contract in settings["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    path = tmp_path / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _lint(config: Path, *, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), str(ROOT)])}
    env["COLUMNS"] = "200"  # one violation per line in the report
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache", "--no-logo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def bad_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    config = _config_for("badpkg", tmp_path_factory.mktemp("badpkg"))
    run = _lint(config, pythonpath=ROOT / "tests" / "fixtures")
    assert run.returncode == 1, run.stdout + run.stderr
    return run.stdout


def test_upward_import_breaks_the_layers(bad_report: str) -> None:
    assert "Layers: a lower layer never imports a higher one BROKEN" in bad_report
    assert "badpkg.core is not allowed to import badpkg.report" in bad_report
    assert "badpkg.core -> badpkg.report (l.3)" in bad_report


def test_import_inside_a_function_counts(bad_report: str) -> None:
    assert "badpkg.stats is not allowed to import badpkg.simulate" in bad_report
    assert "badpkg.stats.cox -> badpkg.simulate (l.13)" in bad_report


def test_top_level_module_stays_light(bad_report: str) -> None:
    assert "The top-level package imports none of its subpackages BROKEN" in bad_report
    assert "badpkg -> badpkg.io (l.6)" in bad_report


def test_optional_layers_may_be_missing(bad_report: str) -> None:
    """badpkg has no server and no __main__; both layers are optional, every other is there."""
    assert "not listed as layers" not in bad_report
    assert "server" not in bad_report
    assert "__main__" not in bad_report


def test_private_names_of_another_package_are_refused(bad_report: str) -> None:
    """Each form of reaching into stats from report is reported once, with file and line; stats
    using stats._engine and report using report._layout are not reported."""
    assert "No package uses another package's private names BROKEN" in bad_report
    section = bad_report.split("Private names may only be used inside")[1]
    where = "tests/fixtures/badpkg/report/__init__.py"
    assert [line for line in section.splitlines() if line.startswith("- ")] == [
        f"- badpkg.report -> badpkg.stats._engine ({where}:3)",
        f"- badpkg.report -> badpkg.stats._engine.weight ({where}:5)",
        f"- badpkg.report -> badpkg.stats.cox._level ({where}:7)",
        f"- badpkg.report -> badpkg.stats.cox._ties ({where}:12)",
    ]


def test_oncotrial_keeps_its_contracts() -> None:
    run = _lint(ROOT / "pyproject.toml", pythonpath=ROOT / "src")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 6 kept, 0 broken." in run.stdout
