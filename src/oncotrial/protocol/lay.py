"""What the plain-language summary of EU Regulation 536/2014 (Annex V) needs that the rest
of the protocol does not say: the EU trial number, how to reach the sponsor, where and when
the trial ran, who could take part in plain words, what each medicine is, the limits the
protocol declares, follow-up trials and where to read more.

It is written by people, not derived: a sentence such as "a medicine first made from a sea
animal" or "patients whose cancer grew could switch to the new drug" cannot be computed
from a regimen, and a lay summary must not guess it. Every field is optional; the
summary says plainly what the protocol does not give.
"""

from __future__ import annotations

from pydantic import Field

from oncotrial.protocol.base import SchemaModel, Text

__all__ = ["LaySummary"]


class LaySummary(SchemaModel):
    """Plain-language facts of the trial for its lay summary (EU CTR 536/2014 Annex V)."""

    eu_trial_number: Text | None = Field(default=None, description="EU trial number (EU CT number, e.g. "
                                                                   "2022-500000-00-00) or EudraCT number.")
    other_identifiers: list[Text] = Field(default=[], description="Other trial numbers, e.g. the "
                                                                  "sponsor's protocol code.")
    sponsor_contact: Text | None = Field(default=None, description="How the public can contact the "
                                                                   "sponsor (address, e-mail or web page).")
    countries: list[Text] = Field(default=[], description="Countries where people took part.")
    places: Text | None = Field(default=None, description="Where people were treated, in plain words "
                                                          "(e.g. 'cancer centres in France').")
    start: Text | None = Field(default=None, description="When the first person joined, as precise as "
                                                         "known (e.g. 'January 2017').")
    end: Text | None = Field(default=None, description="When the trial ended, if it has, as precise as "
                                                       "known.")
    eligibility: list[Text] = Field(default=[], description="Who could take part, in plain words, "
                                                            "one criterion per item.")
    medicines: dict[str, Text] = Field(default={}, description="What each drug of the regimens is, in "
                                                               "plain words, by drug name as in the "
                                                               "regimens.")
    limitations: list[Text] = Field(default=[], description="Limits of the trial the protocol declares, "
                                                            "in plain words (e.g. open label, cross-over, "
                                                            "no control of multiple tests).")
    follow_up_trials: Text | None = Field(default=None, description="Whether follow-up trials are "
                                                                    "planned, in plain words.")
    more_information: list[Text] = Field(default=[], description="Where to find more: web pages, "
                                                                 "publications.")
