"""The protocol's ``reporting:`` section: what the trial report shows beyond the SAP's
end points — Table 1 characteristics, forest-plot subgroups and landmark times."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Reporting"]


class Reporting(BaseModel):
    """What the report shows for this trial (all optional: a protocol without the section
    gets age, sex and its stratification factors in Table 1 and its factors as subgroups)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
