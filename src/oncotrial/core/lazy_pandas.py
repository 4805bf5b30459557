"""pandas on demand: :func:`loaded_pandas`.

Importing pandas costs about 0.3 s of CPU, more than a sample-size calculation or a
power simulation of 100,000 trials takes on the command line. Most of the core needs
pandas only to recognise pandas inputs (a named Series, a DataFrame passed by mistake,
``pd.NA``), and a value can be a pandas object only once some code has imported pandas.
So those checks ask :func:`loaded_pandas`, and code that builds frames imports pandas
where it builds them.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["loaded_pandas"]


def loaded_pandas() -> ModuleType | None:
    """The pandas module if it has been imported in this process, else None (then no
    value can be a pandas object)."""
    return sys.modules.get("pandas")
