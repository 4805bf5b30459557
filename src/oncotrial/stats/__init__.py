"""Survival statistics validated against R ``survival``: pure functions on arrays, no I/O.

Each public function is re-exported here; a module and the function it holds may share a
name (``kaplan_meier``), and the eager imports below make the package attribute the
function. The command line imports this package only inside the commands that need it.
"""

from oncotrial.core.errors import ConvergenceWarning
from oncotrial.core.results import ChiSquareTest
from oncotrial.stats.conventions import SAS, Convention, R
from oncotrial.stats.cox import CoxDesign, CoxResult, coxph
from oncotrial.stats.cox_zph import CoxZphResult, cox_zph
from oncotrial.stats.followup import FollowUp, median_followup
from oncotrial.stats.kaplan_meier import KaplanMeier, QuantileEstimate, kaplan_meier, loglog_data
from oncotrial.stats.logrank import LogrankResult, logrank_test
from oncotrial.stats.rmst import RMST, RMSTDifference, rmst_difference

__all__ = [
    "ChiSquareTest",
    "Convention",
    "ConvergenceWarning",
    "CoxDesign",
    "CoxResult",
    "CoxZphResult",
    "FollowUp",
    "KaplanMeier",
    "LogrankResult",
    "QuantileEstimate",
    "R",
    "RMST",
    "RMSTDifference",
    "SAS",
    "cox_zph",
    "coxph",
    "kaplan_meier",
    "logrank_test",
    "loglog_data",
    "median_followup",
    "rmst_difference",
]
