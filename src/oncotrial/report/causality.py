"""The one rule reading ADAE ``AEREL`` (causality) as related to study treatment or not, used
by the safety tables and by the lay summary's adverse reactions, so that the report and the
summary count the same events as related.

A blank counts as related: the conservative convention of ICH E2A, where an event whose
causality was not assessed cannot be ruled out. A value in neither list is an error naming
it, never a guess.
"""

from __future__ import annotations

import pandas as pd

from oncotrial.core.errors import DataError

__all__ = ["NOT_RELATED", "RELATED", "related_events"]

#: AEREL values read as related to study treatment, and as not related (upper case)
RELATED = frozenset({"RELATED", "Y", "YES", "POSSIBLE", "POSSIBLY RELATED", "PROBABLE", "PROBABLY RELATED",
                     "DEFINITE", "DEFINITELY RELATED"})
NOT_RELATED = frozenset({"NOT RELATED", "N", "NO", "UNRELATED", "UNLIKELY", "UNLIKELY RELATED", "NONE"})


def related_events(aerel: pd.Series) -> tuple[pd.Series, int]:
    """Whether each record is related (boolean, same index) and how many were blank (and so
    counted as related); a DataError naming ADAE AEREL and the value for a value in neither
    :data:`RELATED` nor :data:`NOT_RELATED`."""
    value = aerel.astype("string").str.strip().str.upper()
    blank = value.isna() | (value == "")
    unknown = ~blank & ~value.isin(RELATED | NOT_RELATED)
    if unknown.any():
        raise DataError(f"ADAE: AEREL value {aerel[unknown].iloc[0]!r} is neither related "
                        f"({sorted(RELATED)}) nor not related ({sorted(NOT_RELATED)})",
                        dataset="ADAE", variable="AEREL")
    return (blank | value.isin(RELATED)).fillna(True).astype(bool), int(blank.sum())
