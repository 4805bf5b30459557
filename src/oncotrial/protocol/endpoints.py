"""End points as the protocol defines them, and how each time-to-event end point is analysed.

The analysis block records the SAP's choices that the report otherwise has to guess: which
model gives the hazard ratio and its confidence interval, which test gives the P value, and
whether a P value is reported at all (many SAPs, the bundled reference protocol's among them,
give secondary end points and subgroups estimates with 95 % confidence intervals only).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from oncotrial.core.specfile import Issues
from oncotrial.protocol.base import Issue, PositiveNumber, SchemaModel, Text

__all__ = ["Endpoint", "EndpointAnalysis"]


class EndpointAnalysis(SchemaModel):
    """How a time-to-event end point is analysed. Unset fields take defaults from the rest
    of the protocol (see :meth:`oncotrial.protocol.Protocol.endpoint_analysis`)."""

    model: Literal["stratified_cox", "adjusted_cox", "cox"] | None = Field(
        default=None, description="What gives the hazard ratio and its CI: a Cox model stratified "
                          "by, adjusted for, or without the strata. Default: stratified_cox "
                          "when there are strata, else cox.")
    test: Literal["stratified_logrank", "logrank", "model_score", "model_wald"] | None = Field(
        default=None, description="What gives the P value: the (stratified) log-rank test, or the "
                          "score or Wald test of the model that gives the hazard ratio. It must "
                          "test that model: a log-rank test stratified like a stratified Cox "
                          "model, the Wald test of an adjusted one. Default: stratified_logrank "
                          "when there are strata, else logrank (model_wald for adjusted_cox).")
    strata: list[Text] | None = Field(
        default=None, description="Stratification factors of the stratified or adjusted analysis. "
                          "Default: analysis.adjust_for.")
    sided: Literal[1, 2] | None = Field(
        default=None, description="Sidedness of the test. Default: the design's for the primary end "
                          "point, 2 otherwise.")
    p_value: bool = Field(default=True, description="Whether a P value is reported (false: estimates "
                                            "with confidence intervals only).")
    conf_level: float = Field(default=0.95, description="Confidence level of intervals, in (0, 1).")
    landmarks: list[PositiveNumber] | None = Field(
        default=None, description="Times (analysis.time_unit) of the Kaplan-Meier rates reported. "
                          "Default: analysis.landmarks.")
    subgroups: list[Text] = Field(
        default=[], description="Names of the forest-plot subgroups: keys of ``reporting.subgroups`` "
                          "(without them, stratification factors).")

    @field_validator("conf_level")
    @classmethod
    def _level(cls, value: float) -> float:
        if isinstance(value, bool) or not 0 < value < 1:
            raise ValueError(f"must be in (0, 1), got {value!r}")
        return value


class Endpoint(SchemaModel):
    """An end point as the protocol defines it; ``name`` is its ADTTE/ADRS ``PARAMCD``."""

    name: Text = Field(description="PARAMCD of the end point (OS, PFS, PFS2, DOR, TTF...).")
    role: Literal["primary", "secondary"] = Field(description="Exactly one is primary.")
    kind: Literal["time_to_event", "binary", "safety"] = Field(description="Type of end point.")
    definition: Text = Field(description="Definition, as in the protocol.")
    events: list[str] = Field(default=[], description="What counts as an event.")
    censoring: str | None = Field(default=None, description="Censoring rule.")
    assessed_by: str | None = Field(default=None, description="Who assesses it (e.g. central review).")
    analysis: EndpointAnalysis | None = Field(
        default=None, description="Analysis of a time-to-event end point.")
    p_value: bool = Field(
        default=True, description="Whether the comparison of a binary end point (difference of "
                          "rates) gets a P value (Fisher's exact test); false: the difference "
                          "with its confidence interval only. A time-to-event end point says "
                          "it in analysis.p_value.")

    @model_validator(mode="after")
    def _analysis_for_time_to_event(self) -> Endpoint:
        issues: list[Issue] = []
        if self.analysis is not None and self.kind != "time_to_event":
            issues.append((("analysis",), f"an analysis block belongs to a time_to_event "
                                          f"end point, not a {self.kind} one"))
        if not self.p_value and self.kind == "time_to_event":
            issues.append((("p_value",), "a time-to-event end point states its P value in analysis.p_value"))
        if issues:
            raise Issues(issues)
        return self
