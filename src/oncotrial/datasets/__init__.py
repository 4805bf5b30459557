"""Real trial data sets bundled with oncotrial, exported from R ``survival`` 3.5-3.

They are here so that the analyses, the tests and the demo run on published trial data
rather than only on simulated data. ``export_datasets.R`` beside this file regenerates
the CSV files; the R documentation of each data set is the reference for its columns.
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from oncotrial.core.errors import InputError

__all__ = ["DATASETS", "load"]

#: name -> one-line description (source: the R ``survival`` help pages).
DATASETS: dict[str, str] = {
    "colon": "Moertel et al. adjuvant chemotherapy for stage B/C colon cancer (Obs, Lev, Lev+5FU); "
    "two rows per patient: etype 1 = recurrence, 2 = death; time in days.",
    "veteran": "Veterans' Administration lung cancer trial (standard vs test chemotherapy); time in days.",
    "ovarian": "Ovarian cancer trial comparing two treatments (rx 1/2); futime in days.",
    "pbc": "Mayo Clinic primary biliary cholangitis trial (D-penicillamine vs placebo); status 0/1/2 = "
    "censored/transplant/dead; time in days.",
    "gbsg": "German Breast Cancer Study Group 2 trial (hormonal therapy); rfstime in days.",
    "lung": "NCCTG advanced lung cancer cohort; status 1 = censored, 2 = dead; time in days; has missing values.",
    "aml": "Acute myelogenous leukaemia maintenance chemotherapy trial (Maintained vs Nonmaintained); weeks.",
}


def load(name: str) -> pd.DataFrame:
    """Return the bundled data set ``name`` as a DataFrame (missing values as NaN)."""
    if name not in DATASETS:
        raise InputError(f"name: unknown data set {name!r}; expected one of {sorted(DATASETS)}",
                         field="name")
    path = files("oncotrial.datasets") / "data" / f"{name}.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
