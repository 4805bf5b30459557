"""The design written in a protocol file, computed: ``protocol.design`` through
:func:`survival_sample_size` and, with interim looks, :func:`group_sequential`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oncotrial.design.group_sequential import group_sequential
from oncotrial.design.survival import SurvivalSampleSize, survival_sample_size

if TYPE_CHECKING:
    from oncotrial.protocol import Protocol

__all__ = ["protocol_design"]


def protocol_design(protocol: Protocol, arm: str | None = None) -> SurvivalSampleSize:
    """Events and patients of ``protocol``'s design for ``arm`` (default: the experimental
    arm) against control: :meth:`Protocol.design_inputs`, with the group-sequential design
    of :meth:`Protocol.group_sequential_inputs` when the protocol plans interim looks.

    With more than two arms the result is that of one pairwise comparison (its patients are
    those of the two arms compared)."""
    inputs = protocol.design_inputs(arm)
    inputs["time_unit"] = protocol.analysis.time_unit
    gsd = protocol.group_sequential_inputs()
    if gsd is None:
        return survival_sample_size(**inputs)
    for key in ("alpha", "sided", "power"):
        del inputs[key]
    return survival_sample_size(**inputs, design=group_sequential(**gsd))
