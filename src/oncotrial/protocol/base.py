"""What every section of the protocol shares: the error type, the strict base model,
the validated scalar types and the one canonical form of a stratification level.

Every model forbids unknown keys: a typo (``ratoi: 1``) is an error, never a silently
ignored setting.
"""

from __future__ import annotations

import math
import numbers
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict

from oncotrial.core.errors import SpecError
from oncotrial.core.specfile import not_bool

__all__ = ["Issue", "Level", "Number", "PositiveInt", "PositiveNumber", "ProtocolError",
           "SchemaModel", "Source", "Text", "level_key", "unique"]

#: one problem of a validator: a path relative to the model and a message
Issue = tuple[tuple[str | int, ...], str]


class ProtocolError(SpecError):
    """An invalid protocol. ``errors`` lists every problem as ``path: message``."""

    kind = "protocol"


def _positive(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive number, got {value!r}")
    return value


def _positive_int(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Number = Annotated[float, BeforeValidator(not_bool)]
PositiveNumber = Annotated[float, BeforeValidator(not_bool), AfterValidator(_positive)]
PositiveInt = Annotated[int, Strict(), AfterValidator(_positive_int)]
Text = Annotated[str, AfterValidator(_non_empty)]
Source = Literal["protocol", "assumption"]


def _level(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"a level is a whole number or a text, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: a stratification or category level: a whole number (ECOG 0) or a non-empty text
Level = Annotated[Annotated[int, Strict()] | Text, BeforeValidator(_level)]


def unique(items: list[Any], what: str) -> list[Any]:
    """``items`` unchanged, or a ValueError naming the first duplicate."""
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"duplicate {what} {item!r}")
        seen.add(item)
    return items


def level_key(value: Any) -> str | None:
    """The canonical text of a level, so that the same level matches however it was stored.

    Whole numbers of any type and integral floats become their digits (``0``, ``0.0``,
    ``numpy.int64(0)`` -> ``"0"``); other finite numbers their shortest ``repr``
    (``0.5`` -> ``"0.5"``); text is stripped (``" 0 "`` -> ``"0"``: SDTM stores levels as
    text). Missing values (None, NaN, empty text) and booleans, which are never levels,
    give None. Eligibility, randomisation, derivation and the report compare levels
    through this one function.
    """
    if value is None or isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    return None


class SchemaModel(BaseModel):
    """Base of every protocol section: unknown keys forbidden, immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
