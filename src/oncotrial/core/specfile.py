"""Reading the YAML specification files (protocols, scenarios).

What both kinds of file share: finding a file by bundled name or by path, parsing YAML
strictly (a duplicated key is an error naming its path, never "the second one wins"),
formatting pydantic's errors as ``dotted.path[index]: message`` lines, and validators that
report several problems, each with its own path.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from oncotrial.core.errors import SpecError

__all__ = ["Issues", "Loc", "format_errors", "load_yaml", "not_bool", "path", "read_source",
           "short"]

Loc = tuple[str | int, ...]

#: libyaml's safe loader when PyYAML was built with it (10x faster), else the pure-Python one
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    (A ``ValueError`` because pydantic turns only that into a validation error.)
    """

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{path(p, '<model>')}: {m}" for p, m in issues))


def short(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_errors(exc: ValidationError, *, kind: str) -> list[str]:
    """Pydantic errors as ``arms[1].ratio: must be a positive integer, got 0`` lines
    (``kind``: the file's kind, for the root path and the unknown-key message)."""
    root = f"<{kind}>"
    lines: list[str] = []
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
                error: Callable[..., SpecError]) -> tuple[str, str]:
    """``(text, source)`` of a file: a path (a ``Path``, a ``.yaml``/``.yml`` name, a name
    with a folder, or an existing file) or else the bundled ``oncotrial/<folder>/<name>.yaml``.

    A file that cannot be read, is not UTF-8 text, or an unknown bundled name raises
    ``error([...], source)`` with one line saying which, so loaders report it like any
    other problem of the file.
    """
    file = Path(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or file.suffix in (".yaml", ".yml") \
        or len(file.parts) > 1
    if looks_like_path or file.is_file():
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise error([f"<file>: cannot read {str(file)!r}: {exc.strerror}"],
                        str(file)) from None
        try:
            return data.decode("utf-8"), str(file)
        except UnicodeDecodeError as exc:
            raise error([f"<file>: {str(file)!r} is not UTF-8 text (byte {exc.start + 1}: "
                         f"{data[exc.start:exc.start + 1]!r}); save it as UTF-8"],
                        str(file)) from None
    resource = resources.files("oncotrial") / folder / f"{name_or_path}.yaml"
    if not resource.is_file():
        raise error([f"<name>: no bundled {kind} {str(name_or_path)!r} "
                     f"(bundled: {', '.join(bundled())})"])
    return resource.read_text(encoding="utf-8"), str(name_or_path)


def _duplicate_keys(node: yaml.Node, loc: Loc, root: str) -> list[str]:
    """``path: key 'x' appears twice (lines 3 and 9)`` for every duplicated mapping key."""
    found: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                found.append(f"{path(loc + (key,), root)}: key {key!r} appears twice "
                             f"(lines {seen[key]} and {line}); keep one")
            elif key is not None:
                seen[key] = line
            found += _duplicate_keys(value_node, loc + ((key,) if key is not None else ()), root)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, loc + (i,), root)
    return found


def load_yaml(text: str, *, source: str | None, kind: str,
              error: Callable[..., SpecError]) -> Any:
    """Parse one YAML document strictly: a syntax error or a duplicated key raises
    ``error([...], source)`` naming the line or the key's path; an empty file is ``{}``."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        duplicates = _duplicate_keys(node, (), f"<{kind}>")
        if duplicates:
            raise error(duplicates, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise error([f"<yaml>: {exc}".replace("\n", " ")], source) from None
    finally:
        loader.dispose()

