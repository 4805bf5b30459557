"""``oncotrial derive``: a folder of SDTM domains in, ADaM datasets and a data-quality
report out (:func:`oncotrial.clinical.derive_all`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncotrial.cli._output import check_output_dir, console, iso_date, reports_errors
from oncotrial.cli.protocol import load_protocol

__all__ = ["SIMULATION_TRUTH", "derive"]

#: the file ``oncotrial simulate trial`` writes beside the domains it simulates: the
#: simulated truth, not a domain, so an SDTM folder may hold it
SIMULATION_TRUTH = "truth.csv"


@reports_errors
def derive(
    sdtm: Annotated[Path, typer.Option(
        "--sdtm", help="Directory with one file per SDTM domain (dm, ex, ae, ds, cm, tu, tr, rs, pr).")],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    cutoff: Annotated[str | None, typer.Option("--cutoff", help="Data cut-off date (YYYY-MM-DD).")] = None,
) -> None:
    """Derive ADSL, ADTTE, ADRS and ADAE (.csv, .parquet, .xpt) and a data-quality report."""
    cut = iso_date(cutoff, "--cutoff")
    check_output_dir(out, "--out")
    import pandas as pd

    from oncotrial.clinical import SPECS, derive_all
    from oncotrial.io import read_folder

    domains = read_folder(sdtm, SPECS, required=("DM",), ignore=(SIMULATION_TRUTH,))
    data = derive_all(domains, load_protocol(protocol), cutoff=None if cut is None else pd.Timestamp(cut))
    data.write(out)
    summary = data.summary()
    console.print(f"Wrote adsl, adtte, adrs, adae (.csv, .parquet, .xpt) and data_quality.csv to {out}",
                  highlight=False, markup=False)
    console.print(f"Subjects: {summary['subjects']} (ITT {summary['itt']}, safety {summary['safety']})",
                  highlight=False)
    for param, counts in summary["events"].items():
        console.print(f"  {param}: {counts['events']} events in {counts['subjects']} subjects", highlight=False)
    by_domain = ", ".join(f"{k} {v}" for k, v in summary["problems_by_domain"].items()) or "none"
    console.print(f"Data-quality problems: {summary['problems']} ({by_domain}); see data_quality.csv",
                  highlight=False)
