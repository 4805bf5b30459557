"""Who is randomised and how: arms, stratification factors, randomisation, patient fields
and eligibility rules."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, field_validator, model_validator

from oncotrial.core.specfile import Issues
from oncotrial.protocol.base import (
    Issue,
    Level,
    Number,
    PositiveInt,
    PositiveNumber,
    SchemaModel,
    Text,
    level_key,
)

__all__ = ["OPS", "Arm", "Blinding", "Criterion", "FieldSpec", "Minimisation", "Randomisation",
           "Rule", "StratificationFactor"]

OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_true", "is_false")

#: a SAS (and so ADaM/XPT) variable name: a letter or underscore, then letters, digits or
#: underscores, 8 characters at most
_SAS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,7}")


def _sas_name(name: str) -> str:
    if not _SAS_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a SAS variable name (a letter or underscore, then "
                         f"letters, digits or underscores, at most 8 characters; e.g. STRAT1R)")
    return name


#: an ADaM variable name such as ``STRAT1R``
AdamName = Annotated[str, AfterValidator(_sas_name)]


def _distinct_levels(levels: list[Any]) -> list[Any]:
    keys = [level_key(v) for v in levels]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ValueError(f"duplicate level {levels[i]!r} (the same level as "
                             f"{levels[keys.index(key)]!r})")
    return levels


class Arm(SchemaModel):
    """A treatment arm. Two or more arms, exactly one with ``role: control``; with more than
    two, the design and every comparison are pairwise, each experimental arm against the
    control arm."""

    code: Text = Field(description="Short arm code, as in ADSL ``ARMCD``.")
    label: Text = Field(description="Arm name as printed in tables.")
    ratio: PositiveInt = Field(description="Whole-number share of the allocation "
                                           "(2:1 -> 2 for experimental, 1 for control).")
    role: Literal["control", "experimental"] = Field(description="Exactly one arm is the "
                                                                 "control.")


class StratificationFactor(SchemaModel):
    """A stratification factor and its levels, as recorded at randomisation.

    Levels are whole numbers (``ecog: [0, 1]``) or texts; a value matches a level when
    their :func:`~oncotrial.protocol.level_key` agree, so ECOG ``0``, ``0.0``, ``"0"`` and
    ``numpy.int64(0)`` are all level ``0``. ADaM data hold the factor in an ADSL column
    named after it or, in the CDISC form, in the variable ``adam_variable`` names (ADSL
    ``STRATwR``: the value used for randomisation; ``STRATwV``: the value from the
    verification source). ``prevalence`` is the expected share of each level among the
    patients, for ``oncotrial randomise assess``.
    """

    name: Text = Field(description="Factor name; a field of the same name declares it.")
    label: str | None = Field(default=None, description="Printed name of the factor.")
    levels: Annotated[list[Level], Field(min_length=2)] = Field(
        description="Declared levels, whole numbers or texts, at least two.")
    level_labels: dict[Level, Text] = Field(
        default={}, description="Printed label of some or all levels (``3: CPS >= 10``).")
    adam_variable: AdamName | None = Field(
        default=None, description="ADSL variable holding the factor when ADSL has no column "
                                  "named after it: CDISC ``STRATwR`` (value used for "
                                  "randomisation, e.g. ``STRAT1R``), ``STRATwV`` (value from "
                                  "verification) or any SAS name of at most 8 characters; "
                                  "its values must be the declared levels.")
    prevalence: dict[Level, Number] | None = Field(
        default=None, description="Expected share of each level among the patients "
                                  "(``{0: 0.42, 1: 0.58}``): every level, each in (0, 1], "
                                  "summing to 1; the default of ``randomise assess`` "
                                  "(equal shares without it).")

    @field_validator("levels")
    @classmethod
    def _distinct(cls, levels: list[Any]) -> list[Any]:
        return _distinct_levels(levels)

    @model_validator(mode="after")
    def _keys_name_levels(self) -> StratificationFactor:
        keys = {level_key(v) for v in self.levels}
        shown = ", ".join(map(str, self.levels))
        issues: list[Issue] = [(("level_labels", str(k)), f"{k!r} is not a level ({shown})")
                               for k in self.level_labels if level_key(k) not in keys]
        if self.adam_variable is not None and self.adam_variable == self.name:
            issues.append((("adam_variable",), f"{self.adam_variable!r} is the factor's own name, "
                                               f"which ADSL is searched for first; name another "
                                               f"variable (e.g. STRAT1R) or leave it out"))
        issues += self._prevalence_issues(keys, shown)
        if issues:
            raise Issues(issues)
        return self

    def _prevalence_issues(self, keys: set[str | None], shown: str) -> list[Issue]:
        """Shares that are not a distribution over exactly the declared levels."""
        if self.prevalence is None:
            return []
        issues: list[Issue] = []
        given: dict[str | None, Any] = {}
        for level, share in self.prevalence.items():
            loc = ("prevalence", str(level))
            key = level_key(level)
            if key not in keys:
                issues.append((loc, f"{level!r} is not a level ({shown})"))
            elif key in given:
                issues.append((loc, f"{level!r} is the same level as {given[key]!r}, given twice"))
            given.setdefault(key, level)
            if not (math.isfinite(share) and 0 < share <= 1):
                issues.append((loc, f"a share is in (0, 1], got {share!r}"))
        missing = [v for v in self.levels if level_key(v) not in given]
        if missing:
            issues.append((("prevalence",), f"every level needs a share; missing "
                                            f"{', '.join(map(str, missing))}"))
        total = math.fsum(self.prevalence.values())
        if not issues and abs(total - 1) > 1e-9:
            issues.append((("prevalence",), f"the shares must sum to 1, got {total:.12g}"))
        return issues

    def level_of(self, value: Any) -> int | str | None:
        """The declared level ``value`` stands for (``"0"`` -> ``0``), None if none."""
        key = level_key(value)
        for level in self.levels:
            if key is not None and level_key(level) == key:
                return level
        return None

    def label_of(self, level: Any) -> str:
        """The printed label of a level (its text when it has no label)."""
        declared = self.level_of(level)
        for key, text in self.level_labels.items():
            if declared is not None and level_key(key) == level_key(declared):
                return text
        return str(level if declared is None else declared)


class Minimisation(SchemaModel):
    """Pocock-Simon minimisation: factor weights, probability of the preferred arm, metric."""

    weights: dict[str, PositiveNumber] = Field(description="Weight of each stratification "
                                                           "factor in the imbalance score.")
    p: Number = Field(description="Probability of allocating the arm that minimises "
                                  "imbalance, in (0.5, 1].")
    imbalance: Literal["range", "variance"] = Field(default="range", description="Imbalance metric "
                                                                         "per factor level.")

    @field_validator("p")
    @classmethod
    def _p(cls, p: float) -> float:
        if not 0.5 < p <= 1:
            raise ValueError(f"must be in (0.5, 1], got {p!r}")
        return p


class Blinding(SchemaModel):
    """Who may see the allocated arm. In a masked (double-blind) trial every user but the
    unblinded statistician sees a code instead of the arm, until an emergency unblinding
    reveals one subject's arm to the investigator who asks.

    ``codes: kit`` gives every allocation its own kit number, drawn from a cryptographic
    random source and unrelated to the arm (the pharmacy dispenses the kit; two kit numbers
    say nothing about whether two patients share an arm). ``codes: arm_letter`` shows one
    letter per arm (``A``, ``B``, ...), the letters assigned to the arms by a permutation
    drawn from the sealed list seed; it reveals which patients share an arm, so prefer
    ``kit`` unless the protocol calls for coded treatment groups.
    """

    masked: StrictBool = Field(description="Arms are hidden from every role but the unblinded "
                                     "statistician (open label when false).")
    codes: Literal["kit", "arm_letter"] = Field(
        default="kit", description="What masked users see instead of the arm: a kit number per "
                                   "allocation or a letter per arm.")


class Randomisation(SchemaModel):
    """How arms are allocated; the strata are the stratification factors."""

    method: Literal["blocks", "minimisation", "simple"] = Field(
        description="Permuted blocks within strata, minimisation or simple randomisation.")
    system: str | None = Field(default=None, description="Free text: the system that randomises.")
    block_sizes: list[PositiveInt] | None = Field(
        default=None, description="Block sizes (method ``blocks``), multiples of the ratio sum.")
    minimisation: Minimisation | None = Field(default=None, description="Settings of method "
                                                                "``minimisation``.")
    blinding: Blinding = Field(default=Blinding(masked=False), description="Masking of the "
                                                                           "allocated arm (open "
                                                                           "label by default).")

    @property
    def blinded(self) -> bool:
        """True when the allocated arm is masked."""
        return self.blinding.masked

    @model_validator(mode="after")
    def _settings_match_method(self) -> Randomisation:
        issues: list[Issue] = []
        if self.method == "blocks" and not self.block_sizes:
            issues.append((("block_sizes",), "method 'blocks' needs at least one block size"))
        if self.method != "blocks" and self.block_sizes is not None:
            issues.append((("block_sizes",), f"only used by method 'blocks', "
                                             f"not {self.method!r}"))
        if self.method == "minimisation" and self.minimisation is None:
            issues.append((("minimisation",), "method 'minimisation' needs a "
                                              "'minimisation' section"))
        if self.method != "minimisation" and self.minimisation is not None:
            issues.append((("minimisation",), f"only used by method 'minimisation', "
                                              f"not {self.method!r}"))
        if self.block_sizes:
            for i, size in enumerate(self.block_sizes):
                if size in self.block_sizes[:i]:
                    issues.append((("block_sizes", i), f"duplicate block size {size}"))
        if issues:
            raise Issues(issues)
        return self


class FieldSpec(SchemaModel):
    """A patient field that eligibility rules may test; categories declare their levels
    (whole numbers or texts, matched like stratification levels)."""

    type: Literal["number", "boolean", "category", "date"] = Field(
        description="Value type; values are never converted between types, except that a "
                    "category level matches by its canonical text.")
    levels: list[Level] | None = Field(default=None, description="Levels of a category field.")
    unit: str | None = Field(default=None, description="Unit of a number field.")
    description: str | None = Field(default=None, description="What the field records.")

    @model_validator(mode="after")
    def _levels_for_categories(self) -> FieldSpec:
        if self.type == "category" and not self.levels:
            raise Issues([(("levels",), "a category field must declare its levels")])
        if self.type != "category" and self.levels is not None:
            raise Issues([(("levels",), f"only a category field has levels, "
                                         f"not a {self.type} field")])
        if self.levels:
            try:
                _distinct_levels(self.levels)
            except ValueError as exc:
                raise Issues([(("levels",), str(exc))]) from None
        return self


class Rule(SchemaModel):
    """One machine-checkable condition, or an ``all``/``any`` group of rules.

    A condition is ``field op value`` (``value`` is omitted for ``is_true``/``is_false``;
    it is a list for ``in``/``not_in``). A rule states what must hold for the patient to
    be eligible, so an exclusion criterion is written as its negation
    (``cns_metastases is_false``).
    """

    text: str | None = Field(default=None, description="Wording of the rule.")
    field: str | None = Field(default=None, description="Declared field the condition tests.")
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in",
                "is_true", "is_false"] | None = Field(default=None, description="Comparison.")
    value: Any = Field(default=None, description="Value compared with (a list for in/not_in).")
    all: list[Rule] | None = Field(default=None, description="Rules that must all hold.")
    any: list[Rule] | None = Field(default=None, description="Rules of which one must hold.")

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        forms = [self.field is not None, self.all is not None, self.any is not None]
        if sum(forms) != 1:
            raise ValueError("a rule needs exactly one of 'field' (with 'op'), "
                             "'all' or 'any'")
        if self.field is not None and self.op is None:
            raise Issues([(("op",), f"a rule on field {self.field!r} needs an 'op' "
                                     f"(one of {', '.join(OPS)})")])
        if self.field is None and (self.op is not None or self.value is not None):
            raise ValueError("'op' and 'value' belong to a rule with a 'field'")
        for key in ("all", "any"):
            group = getattr(self, key)
            if group is not None and not group:
                raise Issues([((key,), "a group needs at least one rule")])
        return self


class Criterion(Rule):
    """An eligibility criterion: an identified, worded :class:`Rule`."""

    id: Text = Field(description="Unique criterion id.")
    text: Text = Field(description="Wording of the criterion.")
    kind: Literal["inclusion", "exclusion"] = Field(default="inclusion", description="As the "
                                                                             "protocol lists it.")


Rule.model_rebuild()
Criterion.model_rebuild()
