"""The protocol reference page, generated from the models so that it cannot drift from them:
one table per section, with each field's type, default and description."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["reference_markdown"]


def _name(annotation: Any) -> str:
    """A readable type: ``list[int | str]``, ``Literal['a', 'b']``, without validators."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model reachable from its fields, in first-seen order."""
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for info in model.model_fields.values():
            stack = [info.annotation]
            while stack:
                item = stack.pop()
                if isinstance(item, type) and issubclass(item, BaseModel):
                    visit(item)
                stack.extend(typing.get_args(item))

    visit(root)
    return seen


def reference_markdown() -> str:
    """The Markdown text of ``docs/protocol-reference.md``."""
    from oncotrial.protocol.models import Protocol

    lines = ["# Protocol file reference", "",
             "Generated from the protocol models by `oncotrial protocol schema --markdown`; "
             "do not edit by hand. Every section forbids unknown keys.", ""]
    for model in _models(Protocol):
        doc = " ".join((model.__doc__ or "").split())
        lines += [f"## {model.__name__}", "", doc, "",
                  "| field | type | default | description |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            key = info.alias or name
            default = ("required" if info.default is PydanticUndefined and
                       info.default_factory is None else f"`{info.default!r}`")
            if isinstance(info.default, BaseModel):
                default = "(defaults)"
            desc = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{key}` | `{_name(info.annotation)}` | {default} | {desc} |")
        lines.append("")
    return "\n".join(lines)
