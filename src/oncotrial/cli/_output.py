"""What every command shares: the consoles, JSON output, the checks of output paths and
dates, and the one error handler.

The error handler (:func:`reports_errors`) is why a user never sees a traceback: every
error the library raises on purpose, a file-system error or an undecodable file becomes
one line on stderr, ``error: <message>``, with the option as the user typed it
(``--looks``) where the library named its argument (``k``). Exit status 2 means the
input or the command line must change (bad value, bad file, unreadable path); 1 means
the input was valid but the run failed (e.g. a refused allocation).

Only the standard library, Typer and Rich are imported here, so that ``oncotrial
--version`` and the small commands start fast.
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import json
import os
import re
import sys
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from oncotrial.core.errors import DataError, InputError, OncotrialError, SpecError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "check_output_dir", "check_output_file", "console",
           "err_console", "fail", "iso_date", "print_json", "reports_errors"]

#: exit status for bad input: a bad option value, an invalid or unreadable file
EXIT_BAD_INPUT = 2
#: exit status for a run that failed on valid input (e.g. a refused allocation)
EXIT_FAILED = 1

# A report printed to a file or a pipe keeps its table rows on one line; a narrow
# terminal wraps cells at spaces instead of truncating numbers.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

F = TypeVar("F", bound=Callable[..., Any])

#: a message that starts with the names of the arguments it is about: ``"k: ..."``,
#: ``"median_experimental, hazard_ratio: ..."``
_LEADING_NAMES = re.compile(r"^([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*): ")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    one_line = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    err_console.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def print_json(value: Any) -> None:
    """Print ``value`` as JSON: NaN and infinities become null, NumPy numbers plain numbers,
    dates ISO 8601 strings (:func:`oncotrial.core.results.json_safe`)."""
    from oncotrial.core.results import json_safe  # imports pandas: only once there is a result

    console.print_json(json.dumps(json_safe(value)))


def _option_names(command: Callable[..., Any]) -> dict[str, str]:
    """Parameter name -> what the user types for it (``--looks``, or ``DATA`` for an
    argument), read from the command's ``Annotated[..., typer.Option(...)]`` hints."""
    from typer.models import ArgumentInfo, OptionInfo

    try:
        hints = typing.get_type_hints(command, include_extras=True)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no translation
        hints = {}
    names: dict[str, str] = {}
    for name, parameter in inspect.signature(command).parameters.items():
        infos = [*getattr(hints.get(name), "__metadata__", ()), parameter.default]
        for info in infos:
            if isinstance(info, OptionInfo):
                decls = [d for d in (info.default, *(info.param_decls or ()))
                         if isinstance(d, str) and d.startswith("-")]
                names[name] = max(decls, key=len) if decls else "--" + name.replace("_", "-")
                break
            if isinstance(info, ArgumentInfo):
                names[name] = info.metavar or name.upper()
                break
    return names


def _as_typed(message: str, field: str | None, fields: Mapping[str, str],
              options: Mapping[str, str]) -> str:
    """Replace the library's argument names at the start of ``message`` (and the
    ``field`` of the error) by the command's ``options`` (parameter name -> as typed)."""

    def option(name: str) -> str | None:
        return options.get(fields.get(name, name))

    match = _LEADING_NAMES.match(message)
    if match:
        names = match.group(1).split(", ")
        typed = [option(name) for name in names]
        if all(typed):
            return ", ".join(t for t in typed if t) + ": " + message[match.end():]
        if field is None or field in names:
            return message
    if field is not None and option(field):
        return f"{option(field)}: {message}"
    return message


def _describe(exc: BaseException, fields: Mapping[str, str],
              options: Mapping[str, str]) -> tuple[str, int]:
    """The one-line message and the exit status of an error."""
    if isinstance(exc, SpecError):
        source = f" {exc.source}" if exc.source else ""
        return f"invalid {exc.kind}{source}: " + "; ".join(exc.errors), EXIT_BAD_INPUT
    if isinstance(exc, DataError):
        # names a file, a dataset or its columns, which may be spelled like an option
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, OncotrialError):
        code = EXIT_BAD_INPUT if isinstance(exc, InputError) else EXIT_FAILED
        return _as_typed(str(exc), getattr(exc, "field", None), fields, options), code
    if isinstance(exc, UnicodeError):
        return f"cannot decode the input as UTF-8 text: {exc}", EXIT_BAD_INPUT
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        text = exc.strerror or str(exc)
        return (f"{where}: {text}" if where else text), EXIT_BAD_INPUT
    # a ValueError that is not yet an InputError: still the user's input
    return _as_typed(str(exc), None, fields, options), EXIT_BAD_INPUT


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A library warning as one ``warning:`` line on stderr, without Python's source line."""
    err_console.print(f"[yellow]warning:[/] {escape(' '.join(str(message).split()))}",
                      highlight=False, soft_wrap=True)


def reports_errors(func: F | None = None, *, fields: Mapping[str, str] | None = None) -> Any:
    """Decorate a command so that its errors print as one line (see the module docstring).

    ``fields`` maps the library's argument names to the command's parameter names where
    they differ (``{"k": "looks"}``); a library name equal to a parameter name needs no
    entry. Typer's own exceptions (usage errors, ``typer.Exit``) pass through.
    """
    mapping = dict(fields or {})

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                with warnings.catch_warnings():
                    warnings.showwarning = _show_warning
                    return command(*args, **kwargs)
            except (OncotrialError, ValueError, OSError, UnicodeError) as exc:
                message, code = _describe(exc, mapping, _option_names(command))
                fail(message, code)
            except KeyboardInterrupt:
                fail("interrupted", 130)

        run.reports_errors = True  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def iso_date(text: str | None, option: str) -> _dt.date | None:
    """An ISO 8601 calendar date (``2023-01-31``) typed for ``option``; ``None`` stays ``None``.

    Only the complete form is accepted: ``01/02/2023`` is ambiguous between countries and
    ``2023`` or ``2023-01`` would have to be completed with a guessed day.
    """
    if text is None:
        return None
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(f"{option}: {text!r} is not a calendar date; expected YYYY-MM-DD "
                             "(ISO 8601), e.g. 2023-01-31") from None
    raise InputError(f"{option}: expected a date as YYYY-MM-DD (ISO 8601), e.g. 2023-01-31, "
                     f"got {text!r}")


def _check_parent(path: Path, option: str) -> None:
    """The folder that will hold ``path`` exists, is a directory and is writable."""
    parent = path.parent
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{option}: {path} is under {ancestor}, which is a file, not a directory")
    if ancestor != parent:
        raise InputError(f"{option}: directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option}: cannot write in directory {parent}: permission denied")


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output directory that cannot be used: an existing
    file, a path under a file, a missing parent directory or a directory not writable.
    The directory itself may be missing (the command creates it)."""
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option}: {path} is a file; expected a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option}: cannot write in directory {path}: permission denied")
        return
    _check_parent(path, option)


def check_output_file(path: Path, option: str, suffixes: Iterable[str] = ()) -> None:
    """Refuse, before any work, an output file that cannot be written: a directory, an
    unsupported extension (when ``suffixes`` are given), a missing or unwritable folder."""
    allowed = tuple(suffixes)
    if allowed and path.suffix.lower() not in allowed:
        raise InputError(f"{option}: unsupported file type {path.suffix!r} for {path}; expected "
                         f"{', '.join(allowed)}")
    if path.is_dir():
        raise InputError(f"{option}: {path} is a directory; expected a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option}: cannot write {path}: permission denied")
    if not path.exists():
        _check_parent(path, option)
