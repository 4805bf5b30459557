"""Warnings carried from a worker process to its parent: :func:`recorded` and
:func:`raise_again`.

A worker process never writes to the terminal, where its parent may be showing a progress
display. The warnings it raises are recorded instead, as picklable tuples sent with its
result, and raised again in the parent when the result is taken, as if they had been
raised there (where they are filtered, shown or turned into errors like any other).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

__all__ = ["WarningRecord", "raise_again", "recorded"]

#: a warning as it can be sent between processes: message, category, file, line
WarningRecord = tuple[Warning | str, type[Warning], str, int]


def recorded(caught: Iterable[warnings.WarningMessage]) -> list[WarningRecord]:
    """The warnings of a ``warnings.catch_warnings(record=True)`` block, to send."""
    return [(w.message, w.category, w.filename, w.lineno) for w in caught]


def raise_again(records: Iterable[WarningRecord]) -> None:
    """Raise the warnings another process recorded (:func:`recorded`) in this one."""
    for message, category, filename, lineno in records:
        warnings.warn_explicit(message, category, filename, lineno)
