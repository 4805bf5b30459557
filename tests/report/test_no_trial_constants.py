"""The bundled reference trial is data, never code: outside its protocol and scenario files no
module of oncotrial names its arms, strata, drugs or wording.

The test reads every text file under ``src/oncotrial`` except the YAML files of
``protocols/`` and ``scenarios/``. :data:`ALLOWED` lists the hits that remain outside the
report package, as (file, token); it may only shrink: a hit not in it fails, and so does an
entry whose hit has gone (remove the entry).
"""

from __future__ import annotations

import re
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
#: hits outside the report package still to remove: (file under src/oncotrial, token)
ALLOWED = {
    ("cli/protocol.py", "lms04"),
    ("cli/simulate.py", "lms04"),
    ("design/events.py", "lms04"),
    ("design/survival.py", "lms04"),
    ("protocol/__init__.py", "lms04"),
    ("protocol/endpoints.py", "lms04"),
    ("protocol/models.py", "lms04"),
    ("randomise/blocks.py", "dox"),
    ("randomise/blocks.py", "lms04"),
    ("randomise/blocks.py", "locally_advanced"),
    ("randomise/blocks.py", "uterine"),
    ("randomise/minimisation.py", "lms04"),
    ("simulate/calibrate.py", "lms04"),
    ("simulate/power.py", "lms04"),
    ("simulate/scenario.py", "lms04"),
    ("simulate/trial.py", "lms04"),
}
#: packages and modules that must stay free of the reference trial, allow-list or not
CLEAN = ("report/", "cli/report.py")


def _checked_files() -> list[Path]:
    files = []
    for path in sorted(SOURCE.rglob("*")):
        relative = path.relative_to(SOURCE)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if relative.parts[0] in ("protocols", "scenarios") and path.suffix in (".yaml", ".yml"):
            continue
        files.append(path)
    return files


def _hits() -> dict[tuple[str, str], list[int]]:
    """(file, token) -> line numbers, the token case-folded (quotes as double quotes)."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in _checked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a binary file holds no code
            continue
        name = path.relative_to(SOURCE).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern in PATTERNS:
                for match in pattern.finditer(line):
                    token = match.group(0).casefold().replace("'", '"')
                    found.setdefault((name, token), []).append(number)
    return found


def test_the_reference_trial_is_named_only_in_its_data_files():
    hits = _hits()
    new = {f"{name}:{lines[0]}: {token}" for (name, token), lines in hits.items() if (name, token) not in ALLOWED}
    assert not new, f"the reference trial named in code: {sorted(new)}"


def test_the_allow_list_only_shrinks():
    gone = ALLOWED - set(_hits())
    assert not gone, f"these hits are gone: remove them from ALLOWED: {sorted(gone)}"
    assert not [entry for entry in ALLOWED if entry[0].startswith(CLEAN)], "the report package must stay clean"


def test_the_patterns_find_what_they_look_for():
    samples = {'arms = ["DOX", "DOXTRAB"]': 2, "strata uterine, soft_tissue": 2, "df['origin']": 1,
               "Doxorubicin and TRABECTEDIN": 2, "trial LMS04 (NCT02997358)": 2,
               "DOXORUBICIN_DOSE, the origin of the data, stage": 1}
    for text, expected in samples.items():
        assert sum(len(p.findall(text)) for p in PATTERNS) == expected, text
