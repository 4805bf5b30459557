"""Finding a YAML file given by bundled name or by path (protocols, scenarios)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path


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
