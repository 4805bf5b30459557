"""The bundled reference trial is data, never code: outside its protocol and scenario files no
module of oncotrial names its arms, strata, drugs or wording.

The test reads every text file under ``src/oncotrial`` except the YAML files of
``protocols/`` and ``scenarios/``; any hit fails it, naming the file, the line and the token.
A worked example in a docstring describes the trial neutrally ("a two-arm trial with median
PFS 6 vs 9.7 months", "the bundled reference protocol") and loads a protocol by a neutral
bundled name (``Protocol.load("gastric_example")``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import oncotrial

SOURCE = Path(oncotrial.__file__).parent
#: what names the reference trial: its arm codes (whole words, as written), the level values
#: and a factor name of its strata, its drugs and its names (any case)
PATTERNS = (
    re.compile(r"\b(?:DOX|DOXTRAB)\b"),
    re.compile(r"\b(?:uterine|soft_tissue|locally_advanced)\b", re.IGNORECASE),
    re.compile(r"""(?:"origin"|'origin')"""),
    re.compile(r"doxorubicin|trabectedin|lenograstim|pegfilgrastim", re.IGNORECASE),
    re.compile(r"lms04|leiomyosarcoma|NCT02997358", re.IGNORECASE),
)


def _checked_files() -> list[Path]:
    files = []
    for path in sorted(SOURCE.rglob("*")):
        relative = path.relative_to(SOURCE)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if relative.parts[0] in ("protocols", "scenarios") and path.suffix in (".yaml", ".yml", ".json"):
            continue
        files.append(path)
    return files


def _hits() -> list[str]:
    """``file:line: token`` of every match (file under ``src/oncotrial``)."""
    found = []
    for path in _checked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a binary file holds no code
            continue
        name = path.relative_to(SOURCE).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern in PATTERNS:
                found += [f"{name}:{number}: {match.group(0)}" for match in pattern.finditer(line)]
    return found


def test_the_reference_trial_is_named_only_in_its_data_files():
    hits = _hits()
    assert not hits, f"the reference trial named in code: {hits}"


def test_the_patterns_find_what_they_look_for():
    samples = {'arms = ["DOX", "DOXTRAB"]': 2, "strata uterine, soft_tissue": 2, "df['origin']": 1,
               "Doxorubicin and TRABECTEDIN": 2, "trial LMS04 (NCT02997358)": 2,
               "DOXORUBICIN_DOSE, the origin of the data, stage": 1}
    for text, expected in samples.items():
        assert sum(len(p.findall(text)) for p in PATTERNS) == expected, text


def test_a_hit_names_the_file_the_line_and_the_token(tmp_path, monkeypatch):
    (tmp_path / "module.py").write_text('"""Docstring."""\narm = "DOXTRAB"\n', encoding="utf-8")
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols" / "trial.yaml").write_text("arms: [DOX]\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SOURCE", tmp_path)
    assert _hits() == ["module.py:2: DOXTRAB"]
