"""The protocol's sample-size design: every assumption the design module needs, as data.

The section holds exactly what ``oncotrial.design.survival_sample_size`` and
``oncotrial.design.group_sequential`` take, under the same names and spellings (``method``:
``schoenfeld``, ``freedman`` or ``hsieh-freedman``; ``spending``: rpact's ``asOF``, ``asP``,
``asHSD``, ``OF``, ``P``), so that the design in the protocol and the one computed from the
command line are the same design. The allocation ratio is not written here: it comes from
the arms' ratios (experimental:control); ``allocation_ratio``, when given, must agree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from oncotrial.core.specfile import Issues
from oncotrial.protocol.base import Issue, Number, PositiveInt, PositiveNumber, SchemaModel, Text

__all__ = ["METHODS", "SPENDING", "Accrual", "DesignSpec", "Dropout"]

#: test-statistic methods, spelled as ``oncotrial.design`` spells them
METHODS = ("schoenfeld", "freedman", "hsieh-freedman")
#: boundary types of ``oncotrial.design.group_sequential`` (rpact's typeOfDesign)
SPENDING = ("asOF", "asP", "asHSD", "OF", "P")


class Accrual(SchemaModel):
    """Uniform accrual over ``duration``, or piecewise: ``time: [0, 6, 24]`` breakpoints
    with ``intensity: [10, 25]`` patients per time unit in each piece (only their ratio
    matters to the design)."""

    duration: PositiveNumber | None = Field(default=None, description="Length of uniform accrual.")
    time: list[Number] | None = Field(default=None, description="Breakpoints [0, t1, ..., tm].")
    intensity: list[Number] | None = Field(default=None, description="Rate in each piece (m values).")

    @model_validator(mode="after")
    def _one_form(self) -> Accrual:
        issues: list[Issue] = []
        if (self.duration is None) == (self.time is None):
            issues.append(((), "give either 'duration' (uniform accrual) or 'time' with "
                               "'intensity' (piecewise)"))
        elif self.time is not None:
            t = self.time
            if len(t) < 2 or t[0] != 0 or any(b <= a for a, b in zip(t, t[1:])):
                issues.append((("time",), f"breakpoints start at 0 and increase strictly, "
                                          f"got {t}"))
            if self.intensity is None or len(self.intensity) != len(t) - 1:
                issues.append((("intensity",), f"one intensity per accrual piece "
                                               f"({len(t) - 1}), got {self.intensity}"))
            elif any(x < 0 for x in self.intensity) or not any(x > 0 for x in self.intensity):
                issues.append((("intensity",), f"intensities are non-negative and not all 0, "
                                               f"got {self.intensity}"))
        elif self.intensity is not None:
            issues.append((("intensity",), "only piecewise accrual ('time') has intensities"))
        if issues:
            raise Issues(issues)
        return self

    @property
    def end(self) -> float:
        """When accrual ends."""
        return float(self.duration if self.duration is not None else (self.time or [0])[-1])


class Dropout(SchemaModel):
    """Loss to follow-up: the fraction ``rate`` lost by ``time`` (exponential), both arms."""

    rate: Number = Field(description="Fraction lost by ``time``, in [0, 1).")
    time: PositiveNumber = Field(default=12.0, description="Time (analysis.time_unit) of ``rate``.")

    @model_validator(mode="after")
    def _fraction(self) -> Dropout:
        if not 0 <= self.rate < 1:
            raise Issues([(("rate",), f"must be in [0, 1), got {self.rate!r}")])
        return self


class DesignSpec(SchemaModel):
    """Sample-size design of the primary comparison (log-rank test, exponential survival).

    With more than two arms the design is that of each experimental arm against control
    (pairwise); ``alpha`` is then per comparison.
    """

    endpoint: Text = Field(description="Name of the end point designed for.")
    median_control: PositiveNumber = Field(description="Median in the control arm.")
    median_experimental: PositiveNumber | None = Field(
        default=None, description="Median in the experimental arm (or give hazard_ratio).")
    hazard_ratio: PositiveNumber | None = Field(
        default=None, description="Hazard ratio experimental:control (or give median_experimental).")
    alpha: Number = Field(description="Type I error (total over both sides when sided 2).")
    sided: Literal[1, 2] = Field(description="1 or 2.")
    power: Number = Field(description="Target power, in (0, 1).")
    allocation_ratio: PositiveNumber | None = Field(
        default=None, description="Experimental:control; must equal the arms' ratios if given.")
    accrual: Accrual = Field(description="Uniform or piecewise accrual.")
    follow_up: PositiveNumber = Field(description="Follow-up after the last patient.")
    dropout: Dropout | None = Field(default=None, description="Loss to follow-up.")
    not_randomised: Number = Field(default=0.0, description="Fraction of enrolled patients never "
                                                    "randomised, in [0, 1).")
    method: Literal["schoenfeld", "freedman", "hsieh-freedman"] = Field(
        default="schoenfeld", description="Events formula.")
    rounding: Literal["nearest", "up"] = Field(default="nearest", description="Rounding of events.")
    looks: PositiveInt = Field(default=1, description="Number of analyses, interims included "
                                              "(1: fixed design).")
    information_rates: list[Number] | None = Field(
        default=None, description="Information fraction of each look, increasing, ending at 1 "
                          "(default equally spaced).")
    spending: Literal["asOF", "asP", "asHSD", "OF", "P"] = Field(
        default="asOF", description="Efficacy boundary: Lan-DeMets O'Brien-Fleming or Pocock "
                            "spending, Hwang-Shih-DeCani, or classic OF/P.")
    gamma: Number | None = Field(default=None, description="Gamma of asHSD spending.")
    futility: Literal["bsOF", "bsP", "bsHSD"] | None = Field(
        default=None, description="Non-binding futility by beta spending (one-sided designs).")
    futility_gamma: Number | None = Field(default=None, description="Gamma of bsHSD futility.")
    software: str | None = Field(default=None, description="Software the protocol's numbers came "
                                                   "from.")

    @model_validator(mode="after")
    def _consistent(self) -> DesignSpec:
        issues: list[Issue] = []
        for key in ("alpha", "power"):
            value = getattr(self, key)
            if not 0 < value < 1:
                issues.append(((key,), f"must be in (0, 1), got {value!r}"))
        if not 0 <= self.not_randomised < 1:
            issues.append((("not_randomised",), f"must be in [0, 1), "
                                                f"got {self.not_randomised!r}"))
        if (self.median_experimental is None) == (self.hazard_ratio is None):
            issues.append((("hazard_ratio",), "give exactly one of hazard_ratio and "
                                              "median_experimental"))
        if self.information_rates is not None:
            rates = self.information_rates
            if len(rates) != self.looks:
                issues.append((("information_rates",), f"one rate per look ({self.looks}), "
                                                       f"got {len(rates)}"))
            elif rates[-1] != 1 or any(not 0 < r <= 1 for r in rates) or any(
                    b <= a for a, b in zip(rates, rates[1:])):
                issues.append((("information_rates",), f"rates increase strictly in (0, 1] "
                                                       f"and end at 1, got {rates}"))
        if self.gamma is not None and (self.spending != "asHSD" or self.looks == 1):
            issues.append((("gamma",), "only used by asHSD spending with 2 or more looks"))
        if self.spending == "asHSD" and self.looks > 1 and self.gamma is None:
            issues.append((("gamma",), "asHSD spending needs its gamma"))
        if self.futility is not None:
            if self.looks == 1:
                issues.append((("futility",), "futility bounds need 2 or more looks"))
            if self.sided != 1:
                issues.append((("futility",), "futility bounds need a one-sided design"))
            if self.spending in ("OF", "P"):
                issues.append((("futility",), "futility bounds need an alpha-spending "
                                              "function (asOF, asP, asHSD)"))
        if (self.futility_gamma is None) != (self.futility != "bsHSD"):
            issues.append((("futility_gamma",), "bsHSD futility needs futility_gamma, and "
                                                "only it uses one"))
        if issues:
            raise Issues(issues)
        return self
