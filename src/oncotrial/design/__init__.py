"""Trial design: events and sample size for time-to-event end points, power, expected
events over calendar time, and group-sequential boundaries, validated against rpact."""

from oncotrial.design.events import events_required, expected_events, time_to_events
from oncotrial.design.group_sequential import GroupSequentialDesign, group_sequential
from oncotrial.design.protocol_design import protocol_design
from oncotrial.design.survival import (
    SurvivalPower,
    SurvivalSampleSize,
    survival_power,
    survival_sample_size,
)

__all__ = [
    "GroupSequentialDesign",
    "SurvivalPower",
    "SurvivalSampleSize",
    "events_required",
    "expected_events",
    "group_sequential",
    "protocol_design",
    "survival_power",
    "survival_sample_size",
    "time_to_events",
]
