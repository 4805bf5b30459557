"""Import-linter contract types of this repository (loaded through ``contract_types``).

``private_names``: a package may not reach into another package's private names. Python marks
a name private with a leading underscore, but nothing enforces it; once ``design`` imports
``stats.cox._helper`` the helper cannot change without breaking the other layer. What two
packages share belongs, made public, in the lower one or in ``core``.

The import graph that import-linter builds records modules only, so it cannot see
``from oncotrial.stats.cox import _helper``; this contract reads the source files instead. It
reports, with file and line:

- ``from a.b import _name`` and ``from a._mod import name`` (private name or private module);
- ``import a._mod`` and ``import a._mod as m``;
- ``alias._name`` where ``alias`` was bound by one of the imports above to a module of the
  checked packages.

A private name belongs to the package directly inside the container that defines it (for
container ``oncotrial``, ``oncotrial.stats._cox_engine`` belongs to ``oncotrial.stats``). Any
module of that package may use it; modules of other packages may not. Dunder names such as
``__version__`` are public.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True, order=True)
class Violation:
    """One use of another package's private name, with where it happens."""

    path: str
    line: int
    importer: str
    target: str


class PrivateNamesContract(Contract):
    """Modules of one package must not use a private name of another package.

    Options:
        containers: the packages whose direct children are the units of privacy
            (e.g. ``oncotrial``: ``oncotrial.stats`` and ``oncotrial.design`` are two units).
    """

    type_name = "private_names"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        violations: list[Violation] = []
        for container in self.containers:  # type: ignore[attr-defined]
            for module, path in _source_files(container):
                violations += _violations_in(module, path, container)
        violations.sort()
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(
            "Private names may only be used inside the package that defines them:", bold=False
        )
        output.new_line()
        for v in check.metadata["violations"]:
            where = f"{os.path.relpath(v.path)}:{v.line}"
            output.print_error(f"- {v.importer} -> {v.target} ({where})", bold=False)
        output.new_line()


def _source_files(container: str) -> list[tuple[str, Path]]:
    """Every module of ``container`` with its file, found without importing the package."""
    spec = importlib.util.find_spec(container)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"private_names: package {container!r} not found on sys.path")
    found = []
    for location in spec.submodule_search_locations:
        root = Path(location)
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join([container, *parts]), path))
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _owner(dotted: str, container: str) -> str | None:
    """The package a private name in ``dotted`` belongs to; None if every part is public."""
    parts = dotted.split(".")
    depth = len(container.split("."))
    for index in range(depth, len(parts)):
        if _is_private(parts[index]):
            return container if index == depth else ".".join(parts[: depth + 1])
    return None


def _unit(module: str, container: str) -> str:
    """The direct child of ``container`` that ``module`` is part of."""
    depth = len(container.split("."))
    return ".".join(module.split(".")[: depth + 1])


def _violations_in(module: str, path: Path, container: str) -> list[Violation]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_package = path.name == "__init__.py"
    unit = _unit(module, container)
    aliases: dict[str, str] = {}
    targets: list[tuple[int, str]] = []

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                if item.name == container or item.name.startswith(container + "."):
                    targets.append((node.lineno, item.name))
                    bound = item.asname or item.name.split(".")[0]
                    aliases[bound] = item.name if item.asname else item.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            if base != container and not base.startswith(container + "."):
                continue
            for item in node.names:
                targets.append((node.lineno, f"{base}.{item.name}"))
                aliases[item.asname or item.name] = f"{base}.{item.name}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            dotted = _dotted(node)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            if head in aliases:
                targets.append((node.lineno, f"{aliases[head]}.{rest}"))

    found = set()
    for line, target in targets:
        owner = _owner(target, container)
        if owner not in (None, unit, container):
            found.add(Violation(str(path), line, module, target))
    return sorted(found)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module name of a ``from ... import`` statement."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for an attribute chain on a plain name; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])
