"""The one error model of oncotrial.

Every error the library raises on purpose is an :class:`OncotrialError`, so that the
command line and the web service can each map it in one place: bad input to exit code 2
or HTTP 422, a refused allocation to 409, a forbidden action to 403. ``InputError``
subclasses :class:`ValueError` so that callers written against plain ``ValueError`` keep
working. Wrong Python *types* raise the built-in :class:`TypeError`, not these classes.

Messages name what the user can find: the option, the YAML path, the dataset, its
variable and its 1-based data rows.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AllocationError",
    "ConcurrencyConflict",
    "ConvergenceWarning",
    "DataError",
    "InputError",
    "OncotrialError",
    "OncotrialWarning",
    "PermissionDenied",
    "SpecError",
]


class OncotrialError(Exception):
    """Base of every error oncotrial raises on purpose."""


class InputError(OncotrialError, ValueError):
    """A bad argument or bad data; the message names the field, column or row.

    ``field`` (optional) is the argument or option the error is about, as the library
    names it; front ends may translate it to what the user typed (``--looks``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class SpecError(InputError):
    """An invalid protocol or scenario file. ``errors`` lists every problem as
    ``dotted.path[index]: message``; subclasses name the kind of file (``kind``)."""

    kind = "specification"

    def __init__(self, errors: Sequence[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        head = f"invalid {self.kind}{f' {source}' if source else ''}"
        count = len(self.errors)
        super().__init__(f"{head} ({count} error{'s' if count != 1 else ''}):\n  "
                         + "\n  ".join(self.errors))


class DataError(InputError):
    """A problem in a dataset: the message names the dataset, the variable and the
    1-based data rows (the first data row under the header is row 1)."""

    def __init__(self, message: str, *, dataset: str | None = None,
                 variable: str | None = None, rows: Sequence[int] = ()) -> None:
        self.dataset = dataset
        self.variable = variable
        self.rows = list(rows)
        super().__init__(message, field=variable)


class AllocationError(OncotrialError):
    """A randomisation was refused: the subject is ineligible, already randomised, or
    the list is exhausted."""


class ConcurrencyConflict(OncotrialError):
    """A conflict that a retry may resolve (e.g. a serialisation failure)."""


class PermissionDenied(OncotrialError):
    """The user's role or site scope forbids the action."""


class OncotrialWarning(UserWarning):
    """Base of the warnings oncotrial issues on purpose."""


class ConvergenceWarning(OncotrialWarning):
    """An iterative fit stopped without converging, or an estimate is not identifiable
    (e.g. an arm with no events); the result says so in its own fields too."""
