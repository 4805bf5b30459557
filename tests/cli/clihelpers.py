"""Running the installed ``oncotrial`` script as a user would, and checking that an error
is exactly one line on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ONCOTRIAL = Path(sys.executable).parent / "oncotrial"

#: the LMS04 design inputs (median PFS 6 vs 9.7 months, 24 months accrual and follow-up)
DESIGN = ["design", "survival", "--median-control", "6", "--median-experimental", "9.7",
          "--accrual", "24", "--follow-up", "24"]


def oncotrial(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real entry point with ``args``; no terminal, so no colour and no wrapping."""
    return subprocess.run([str(ONCOTRIAL), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


def error_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The one ``error: ...`` line of a failed run (its text after ``error: ``), after
    checking the exit status, that stderr is that one line and that stdout is empty."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert result.stdout == "", result.stdout
    return result.stderr.removeprefix("error: ").rstrip("\n")
