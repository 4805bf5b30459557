"""The two analysis conventions: R ``survival`` (default) and SAS 9.4 PROC LIFETEST/PHREG.

A trial analysed in SAS can only be reproduced if every default that
differs between the two systems is switched together; a ``Convention`` bundles them so
that ``convention="sas"`` is one argument. An explicit argument (e.g. ``conf_type=``)
always wins over the convention. Sources: PHUSE CAMIS ``Comp/r-sas_survival.qmd``, R
``survival`` help pages, SAS/STAT 9.4 User's Guide.

==========================  ===============================  ===============================
setting                     ``"r"`` (R survival >= 3.5)      ``"sas"`` (SAS 9.4)
==========================  ===============================  ===============================
KM pointwise CI             ``conf_type="log"``              ``"log-log"`` (CONFTYPE=LOGLOG)
quantile point estimate     curve crosses 1-p; midpoint of   first time with S < 1-p; midpoint
                            a segment flat at 1-p            if S = 1-p exactly; NaN if flat
                                                             to the end
quantile CI                 band crosses 1-p (same rule)     Brookmeyer-Crowley inversion
                                                             under the CONFTYPE transform
survival past last time     carried forward (extend=TRUE)    NaN (SAS prints NE)
Cox ties                    ``"efron"``                      ``"breslow"``
categorical reference       first sorted level               last sorted level (PARAM=REF)
near-equal times            merged (``timefix=TRUE``)        compared exactly
==========================  ===============================  ===============================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from oncotrial.core.errors import InputError

__all__ = ["Convention", "R", "SAS", "resolve_convention"]


@dataclass(frozen=True)
class Convention:
    """Defaults that differ between R ``survival`` and SAS; see the module docstring."""

    name: Literal["r", "sas"]
    conf_type: Literal["log", "log-log", "plain"]
    quantile_rule: Literal["r", "sas"]
    extend: bool
    ties: Literal["efron", "breslow"]
    reference: Literal["first", "last"]
    timefix: bool


R = Convention(name="r", conf_type="log", quantile_rule="r", extend=True, ties="efron",
               reference="first", timefix=True)
SAS = Convention(name="sas", conf_type="log-log", quantile_rule="sas", extend=False,
                 ties="breslow", reference="last", timefix=False)

_BY_NAME = {"r": R, "sas": SAS}


def resolve_convention(convention: str | Convention) -> Convention:
    """Return the :class:`Convention` for ``"r"``, ``"sas"`` or a Convention instance."""
    if isinstance(convention, Convention):
        return convention
    key = str(convention).lower()
    if key not in _BY_NAME:
        raise InputError(f"convention: expected one of {sorted(_BY_NAME)}, got {convention!r}", field="convention")
    return _BY_NAME[key]
