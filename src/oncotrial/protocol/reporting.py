"""The protocol's ``reporting:`` section: what the trial report shows beyond the SAP's
end points — the Table 1 characteristics, the forest-plot subgroups and the medical words
the plain-language summary explains.

The landmark times of the report's rates are not here: they are ``analysis.landmarks``,
because the analysis computes them (efficacy tables, ARD) and the report only prints what
the analysis produced; one home keeps the two from disagreeing.

Level values are compared canonically (:func:`oncotrial.protocol.base.level_key`): a
protocol writing ``ECOG`` levels as ``0`` and ``1`` matches an ADSL column read from CSV
(``int64``), from XPT (``float``, 0.0) or as text (``"0"``).
"""

from __future__ import annotations

import ast
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from oncotrial.core.specfile import Issues, not_bool
from oncotrial.protocol.base import Issue, Level, SchemaModel, Text, level_key

__all__ = ["CONTINUOUS_STATISTICS", "Bin", "Reporting", "SubgroupDefinition", "Table1Row"]

#: statistics a continuous Table 1 row may show (see ``oncotrial.report.tables.Continuous``)
CONTINUOUS_STATISTICS = ("n", "mean_sd", "median_iqr", "median", "range")

def _where(expression: str) -> str:
    """A ``where`` must be a Python/pandas expression; its columns are checked against ADSL
    when the report runs."""
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an expression over ADSL columns ({exc.msg}): {expression!r}") from None
    return expression


Where = Annotated[str, AfterValidator(_where)]
Bound = Annotated[float, BeforeValidator(not_bool)]
#: a closed interval ``[low, high, label]`` of a number (``.inf`` for no upper bound)
Bin = tuple[Bound, Bound, Text]


def _level_issues(levels: dict[Any, str] | None, loc: tuple[str | int, ...]) -> list[Issue]:
    """Two values naming the same level (``0`` and ``"0"``) are one level written twice."""
    seen: dict[str | None, Any] = {}
    issues: list[Issue] = []
    for value in levels or {}:
        key = level_key(value)
        if key in seen:
            issues.append(((*loc, str(value)), f"the same level as {seen[key]!r}"))
        seen[key] = value
    return issues


def _bin_issues(bins: list[tuple[float, float, str]] | None, loc: tuple[str | int, ...]) -> list[Issue]:
    issues: list[Issue] = []
    for i, (low, high, _) in enumerate(bins or []):
        if math.isnan(low) or math.isnan(high) or low > high:
            issues.append(((*loc, i), f"a bin is [low, high, label] with low <= high, got [{low}, {high}]"))
        elif i and low <= (bins or [])[i - 1][1]:
            issues.append(((*loc, i), f"bins must be increasing and not overlap: {low} <= the previous "
                                      f"bin's high {(bins or [])[i - 1][1]}"))
    return issues


class Table1Row(SchemaModel):
    """One characteristic of Table 1 (``type``: ``continuous``, ``categorical`` or ``flags``).

    ``continuous``: ``column``, ``statistics`` (of :data:`CONTINUOUS_STATISTICS`, default
    median (IQR)), ``digits``. ``categorical``: ``column`` and either ``levels`` (value ->
    printed label, in printing order; a value outside them is a data error) or ``bins``
    (``[low, high, label]`` closed intervals), or neither (the observed values, sorted);
    ``missing``: ``row`` (a Missing row, kept in the denominator) or ``exclude`` (left out
    of the denominator). ``flags``: ``columns`` (Y/N column -> label). Every type: ``label``
    and ``where`` (a pandas expression over ADSL columns restricting the row to the patients
    it applies to).
    """

    type: Literal["continuous", "categorical", "flags"] = Field(description="Kind of row.")
    label: Text = Field(description="Printed name of the characteristic.")
    column: Text | None = Field(default=None, description="ADSL column (continuous, categorical).")
    levels: dict[Level, Text] | None = Field(
        default=None, description="Categorical: value -> printed label, in printing order.")
    bins: Annotated[list[Bin], Field(min_length=1)] | None = Field(
        default=None, description="Categorical: [low, high, label] closed intervals of a number.")
    missing: Literal["row", "exclude"] | None = Field(
        default=None, description="Categorical: a Missing row (default) or missing left out of N.")
    statistics: Annotated[list[Literal["n", "mean_sd", "median_iqr", "median", "range"]],
                          Field(min_length=1)] | None = Field(
        default=None, description="Continuous: rows shown (default median_iqr).")
    digits: Annotated[int, Field(ge=0, le=6)] | None = Field(
        default=None, description="Continuous: decimals of location statistics (default 1).")
    columns: Annotated[dict[Text, Text], Field(min_length=1)] | None = Field(
        default=None, description="Flags: Y/N column -> printed label.")
    where: Where | None = Field(default=None, description="pandas expression over ADSL: the patients "
                                                  "the row applies to.")

    @model_validator(mode="after")
    def _fields_of_type(self) -> Table1Row:
        allowed = {"continuous": {"column", "statistics", "digits"},
                   "categorical": {"column", "levels", "bins", "missing"},
                   "flags": {"columns"}}[self.type]
        issues: list[Issue] = [
            ((key,), f"not a key of a {self.type} row (keys: type, label, where, {', '.join(sorted(allowed))})")
            for key in ("column", "levels", "bins", "missing", "statistics", "digits", "columns")
            if getattr(self, key) is not None and key not in allowed]
        needed = "columns" if self.type == "flags" else "column"
        if getattr(self, needed) is None:
            issues.append(((needed,), f"required for a {self.type} row"))
        if self.levels is not None and self.bins is not None:
            issues.append((("bins",), "give levels or bins, not both"))
        issues += _level_issues(self.levels, ("levels",)) + _bin_issues(self.bins, ("bins",))
        if issues:
            raise Issues(issues)
        return self


class SubgroupDefinition(SchemaModel):
    """A forest-plot subgroup variable: an ADSL ``column`` and how its values make the
    levels — ``levels`` (value -> label, in display order; other values left out of the
    subgroup), ``bins`` (``[low, high, label]`` closed intervals), ``cuts`` (increasing cut
    points: ``[65]`` gives "< 65" and "≥ 65"), or none (the observed values, sorted).
    ``label`` is the printed name (default: the key); ``where`` restricts the subgroup to
    the patients it applies to (the others are left out of it)."""

    column: Text = Field(description="ADSL column of the subgroup variable.")
    label: Text | None = Field(default=None, description="Printed name (default: the key).")
    levels: Annotated[dict[Level, Text], Field(min_length=1)] | None = Field(
        default=None, description="value -> level label, in display order; other values left out.")
    bins: Annotated[list[Bin], Field(min_length=1)] | None = Field(
        default=None, description="[low, high, label] closed intervals of a number.")
    cuts: Annotated[list[Bound], Field(min_length=1)] | None = Field(
        default=None, description="Increasing cut points ([65]: < 65 and >= 65).")
    where: Where | None = Field(default=None, description="pandas expression over ADSL: the patients "
                                                  "the subgroup applies to.")

    @model_validator(mode="after")
    def _one_way(self) -> SubgroupDefinition:
        ways = [key for key in ("levels", "bins", "cuts") if getattr(self, key) is not None]
        issues: list[Issue] = [((key,), f"give one of levels, bins or cuts, not {' and '.join(ways)}")
                               for key in ways[1:]]
        issues += _level_issues(self.levels, ("levels",)) + _bin_issues(self.bins, ("bins",))
        cuts = self.cuts or []
        if any(not math.isfinite(c) for c in cuts) or any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
            issues.append((("cuts",), f"cut points must be finite and increasing, got {cuts}"))
        if issues:
            raise Issues(issues)
        return self


class Reporting(SchemaModel):
    """What the report shows for this trial (all optional: a protocol without ``table1``
    gets age, sex and its stratification factors in Table 1, one without ``subgroups`` its
    stratification factors as forest-plot subgroups).

    ``glossary``: medical words of the protocol title and their plain meaning, added to the
    lay summary's general ones when the title uses them.
    """

    table1: Annotated[list[Table1Row], Field(min_length=1)] | None = Field(
        default=None, description="Table 1 rows in order (default: age, sex, stratification factors).")
    subgroups: Annotated[dict[Text, SubgroupDefinition], Field(min_length=1)] | None = Field(
        default=None, description="Forest-plot subgroups by name (default: stratification factors).")
    glossary: dict[Text, Text] = Field(default_factory=dict, description="Medical words of the title -> plain "
                                                       "meaning, for the lay summary.")
    adverse_event_p_values: bool = Field(
        default=False, description="Whether adverse-event rows get a P value (Fisher's exact test). "
                          "Default false: safety tables describe, as ICH E9 and most SAPs ask; "
                          "a P per row would be an untested multiplicity of comparisons.")

    @model_validator(mode="after")
    def _distinct(self) -> Reporting:
        issues: list[Issue] = []
        labels = [row.label for row in self.table1 or []]
        issues += [(("table1", i, "label"), f"duplicate Table 1 label {label!r}")
                   for i, label in enumerate(labels) if label in labels[:i]]
        names = [d.label or key for key, d in (self.subgroups or {}).items()]
        issues += [(("subgroups", key), f"duplicate subgroup label {name!r}")
                   for (key, name) in zip(self.subgroups or {}, names, strict=True) if names.count(name) > 1]
        if issues:
            raise Issues(issues)
        return self
