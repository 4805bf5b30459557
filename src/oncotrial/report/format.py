"""The one number formatter of every output: tables, figures, the lay summary and the CLI.

A figure and its table must never disagree by a digit, so every printed number goes
through :class:`NumberFormat`; a second formatter elsewhere would round 0.285 or 0.125 its
own way. The conventions, chosen once:

* rounding half up on the decimal text of the number (SAS ``ROUND``, and what a reader does
  on paper): 2.675 prints 2.68, 0.125 prints 0.13, where binary rounding gives 2.67 and 0.12.
  The ``"r"`` convention rounds half to even, as R's ``round()`` does (IEC 60559);
* a true minus sign (U+2212), never a hyphen, and no "−0.0";
* "NE" (not estimable) for a missing or infinite value;
* P values with three decimals, "<0.001" below the smallest printable value, and a capital
  "P" in every label;
* intervals written one way: "x to y" (the style of journals that print negative
  estimates, where "−1.2–0.4" would be ambiguous) or the en dash "x–y", chosen by
  ``ci_style``.

Which convention applies comes from the protocol's analysis (``analysis.convention``):
:func:`number_format` gives the formatter of a convention, and :func:`formatting` makes it
the one the module functions (:func:`format_number`, :func:`format_p`, ...) use while a
report is written — a context variable, as :func:`decimal.localcontext` does for decimals,
so that the tables, figures and lay summary of one report cannot round differently and no
function deep in a table needs the protocol passed down to print a number. Outside
:func:`formatting` the SAS convention applies.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal

__all__ = [
    "DASH",
    "MINUS",
    "NumberFormat",
    "current_format",
    "format_ci",
    "format_estimate",
    "format_number",
    "format_p",
    "formatting",
    "n_percent",
    "number_format",
]

MINUS = "\u2212"
DASH = "\u2013"
NOT_ESTIMABLE = "NE"

Rounding = Literal["half_up", "half_even"]
CiStyle = Literal["to", "dash"]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


@dataclasses.dataclass(frozen=True)
class NumberFormat:
    """How numbers print: ``rounding`` ("half_up" as SAS, "half_even" as R's ``round``),
    ``ci_style`` ("to": "0.68 to 1.10"; "dash": "0.68–1.10") and ``p_digits`` (decimals of a
    P value; below ``10**-p_digits`` it prints as "<0.001")."""

    rounding: Rounding = "half_up"
    ci_style: CiStyle = "dash"
    p_digits: int = 3

    @property
    def rule(self) -> str:
        """The rounding rule in words, for a report's notes."""
        return ("rounded half up (SAS ROUND)" if self.rounding == "half_up"
                else "rounded half to even (R round, IEC 60559)")

    def number(self, value: float | None, digits: int) -> str:
        """``value`` rounded to ``digits`` decimals, with a true minus sign; "NE" if missing.

        The decimal text of the float (its ``repr``) is rounded, so the rule applies to the
        number as printed, not to its binary approximation.
        """
        if not _finite(value):
            return NOT_ESTIMABLE
        quantum = Decimal(1).scaleb(-digits)
        mode = ROUND_HALF_UP if self.rounding == "half_up" else ROUND_HALF_EVEN
        rounded = Decimal(repr(float(value))).quantize(quantum, rounding=mode)  # type: ignore[arg-type]
        text = str(abs(rounded) if rounded == 0 else rounded)
        return text.replace("-", MINUS)

    def p(self, p: float | None) -> str:
        """A P value: ``p_digits`` decimals, "<0.001" below the smallest printable value."""
        if not _finite(p):
            return NOT_ESTIMABLE
        floor = 10.0 ** -self.p_digits
        if float(p) < floor:  # type: ignore[arg-type]
            return f"<{self.number(floor, self.p_digits)}"
        return self.number(p, self.p_digits)

    def ci(self, lower: float | None, upper: float | None, digits: int, scale: float = 1.0) -> str:
        """An interval "x to y" or "x–y" (``ci_style``), each limit times ``scale``."""
        low, high = (self.number(None if x is None else x * scale, digits) for x in (lower, upper))
        return f"{low} to {high}" if self.ci_style == "to" else f"{low}{DASH}{high}"

    def estimate(self, estimate: float | None, lower: float | None, upper: float | None, digits: int,
                 scale: float = 1.0) -> str:
        """"0.87 (0.68–1.10)": an estimate and its interval (or IQR), each times ``scale``."""
        est = self.number(None if estimate is None else estimate * scale, digits)
        return f"{est} ({self.ci(lower, upper, digits, scale)})"

    def n_percent(self, n: int, total: int, *, digits: int = 0, percent_sign: bool = False,
                  denominator: bool = False) -> str:
        """"n (%)" or, with ``denominator``, "n/N (%)"; the count alone when ``total`` is 0."""
        count = f"{n}/{total}" if denominator else f"{n}"
        if total == 0:
            return count
        return f"{count} ({self.number(100 * n / total, digits)}{'%' if percent_sign else ''})"


#: the formatter of each statistical convention of the protocol's analysis
_CONVENTIONS = {"sas": NumberFormat(rounding="half_up"), "r": NumberFormat(rounding="half_even")}

DEFAULT = _CONVENTIONS["sas"]
_CURRENT: ContextVar[NumberFormat] = ContextVar("number_format", default=DEFAULT)


@contextmanager
def formatting(convention: str | NumberFormat) -> Iterator[NumberFormat]:
    """Within the block, the module functions format with ``convention`` ("sas", "r", or a
    :class:`NumberFormat`); the previous formatter is restored on leaving it."""
    chosen = convention if isinstance(convention, NumberFormat) else number_format(convention)
    token = _CURRENT.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT.reset(token)


def current_format() -> NumberFormat:
    """The formatter in force: that of the innermost :func:`formatting` block, else SAS."""
    return _CURRENT.get()


def number_format(convention: str = "sas") -> NumberFormat:
    """The formatter of a protocol's ``analysis.convention`` ("sas" or "r")."""
    try:
        return _CONVENTIONS[convention.lower()]
    except KeyError:
        raise ValueError(f"convention must be one of {sorted(_CONVENTIONS)}, not {convention!r}") from None


def format_number(value: float | None, digits: int) -> str:
    """:meth:`NumberFormat.number` of the formatter in force (:func:`formatting`)."""
    return _CURRENT.get().number(value, digits)


def format_p(p: float | None, digits: int = 3) -> str:
    """:meth:`NumberFormat.p` of the formatter in force, with ``digits`` decimals."""
    return dataclasses.replace(_CURRENT.get(), p_digits=digits).p(p)


def format_ci(lower: float | None, upper: float | None, digits: int, scale: float = 1.0) -> str:
    """:meth:`NumberFormat.ci` of the formatter in force."""
    return _CURRENT.get().ci(lower, upper, digits, scale)


def format_estimate(estimate: float | None, lower: float | None, upper: float | None, digits: int,
                    scale: float = 1.0) -> str:
    """:meth:`NumberFormat.estimate` of the formatter in force."""
    return _CURRENT.get().estimate(estimate, lower, upper, digits, scale)



def n_percent(n: int, total: int, *, digits: int = 0, percent_sign: bool = False,
              denominator: bool = False) -> str:
    """:meth:`NumberFormat.n_percent` of the formatter in force."""
    return _CURRENT.get().n_percent(n, total, digits=digits, percent_sign=percent_sign, denominator=denominator)
