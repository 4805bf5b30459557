"""The README's Python examples run as written (so the documentation cannot rot).

The blocks are run in order in one namespace, as a reader pasting them into one session
would (a later block may use a name defined by an earlier one).
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    assert len(BLOCKS) >= 4
    namespace: dict = {}
    for i, code in enumerate(BLOCKS):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"README python block {i} fails: {exc!r}\n{code}") from exc
