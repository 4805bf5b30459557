"""What the YAML specification files (protocols, scenarios) share: the error that lists
every problem as ``dotted.path[index]: message``, the pydantic-error formatting behind it,
validators reporting several problems with their own paths, and finding a file by bundled
name or by path."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

Loc = tuple[str | int, ...]


class SpecError(ValueError):
    """An invalid specification file. ``errors`` lists every problem as ``path: message``;
    subclasses name the kind of file (``kind``)."""

    kind = "specification"

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        head = f"invalid {self.kind}{f' {source}' if source else ''}"
        super().__init__(f"{head} ({len(self.errors)} error"
                         f"{'s' if len(self.errors) != 1 else ''}):\n  "
                         + "\n  ".join(self.errors))


def path(loc: Loc, root: str) -> str:
    """``("arms", 1, "ratio")`` as ``arms[1].ratio``; the empty path as ``root``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or root


class Issues(ValueError):
    """Several problems found by one validator, each with a path relative to the model.

    Pydantic keeps the raised exception in the error's ``ctx``; :func:`format_errors`
    expands it so that a cross-section check can name the exact field it objects to.
    """

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{path(p, '<model>')}: {m}" for p, m in issues))


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_errors(exc: ValidationError, *, kind: str) -> list[str]:
    """Pydantic errors as ``arms[1].ratio: must be a positive integer, got 0`` lines
    (``kind``: the file's kind, for the root path and the unknown-key message)."""
    root = f"<{kind}>"
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, Issues):
            lines.extend(f"{path(loc + sub, root)}: {msg}" for sub, msg in error.issues)
            continue
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = f"unknown key (not part of the {kind} schema; check the spelling)"
        elif err["type"] == "value_error" and error is not None:
            msg = str(error)
        else:
            msg = err["msg"]
            if msg.startswith("Input should be "):
                msg = "must be " + msg[len("Input should be "):]
            msg = f"{msg}, got {short(err.get('input'))}"
        lines.append(f"{path(loc, root)}: {msg}")
    return lines


def not_bool(value: Any) -> Any:
    """Before-validator of numbers: YAML ``yes``/``true`` must not become 1.0 — a boolean
    where a number belongs is a typo."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def read_source(name_or_path: str | Path, *, folder: str, kind: str,
                bundled: Callable[[], list[str]],
                error: Callable[..., Exception]) -> tuple[str, str]:
    """``(text, source)`` of a file: a path (a ``Path``, a ``.yaml``/``.yml`` name, a name
    with a folder, or an existing file) or else the bundled ``oncotrial/<folder>/<name>.yaml``.
    A file that cannot be read or an unknown bundled name raises ``error([...], source)``
    with one line saying which, so loaders report it like any other problem."""
    path = Path(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") \
        or len(path.parts) > 1
    if looks_like_path or path.is_file():
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise error([f"<file>: cannot read {str(path)!r}: {exc.strerror}"],
                        str(path)) from None
    resource = resources.files("oncotrial") / folder / f"{name_or_path}.yaml"
    if not resource.is_file():
        raise error([f"<name>: no bundled {kind} {str(name_or_path)!r} "
                     f"(bundled: {', '.join(bundled())})"])
    return resource.read_text(encoding="utf-8"), str(name_or_path)
