"""Golden fingerprints of ``derive_all`` on simulated replicas: the cases, the fingerprint,
and (run as a script) the generator of ``derive_golden.json``.

The fixture pins the output of the derivations so that a rewrite for speed can be proven to
change nothing: per ADaM dataset and the data-quality frame, the column list, the dtypes, the
row count and a SHA-256 of the content in row order (per column too, so a mismatch names the
column). Clean replicas of both bundled protocols cover the ordinary path; a "dirty" replica,
corrupted deterministically (partial and unparsable dates, text in numbers, unknown codes,
records of unknown subjects, exact and conflicting duplicates, deaths before randomisation),
covers every kind of data-quality issue, whose text, field, value and row are hashed too.

Regenerate (only when a change of output is intended, and say so in the commit):
``PYTHONPATH=src python tests/clinical/data/derive_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIXTURE = Path(__file__).with_name("derive_golden.json")

#: a smaller gastric trial never reaches the event-driven cut-off of 890 patients: a date
_GASTRIC_400 = {"patients": 400, "cutoff": date(2028, 6, 30)}
#: name -> (scenario, changes to it, seed, corrupted, cut-off passed to derive_all)
CASES: dict[str, tuple[str, dict[str, Any], int, bool, bool]] = {
    "lms04_seed1": ("lms04", {}, 1, False, True),
    "gastric_seed3": ("gastric_example", {}, 3, False, True),
    "lms04_400_seed2": ("lms04", {"patients": 400}, 2, False, True),
    "gastric_400_seed5_dirty": ("gastric_example", _GASTRIC_400, 5, True, True),
    "lms04_400_seed7_dirty_nocutoff": ("lms04", {"patients": 400}, 7, True, False),
}


def _canonical(value: Any) -> str:
    """A text that differs whenever the value or its type differs; every missing value
    (None, NaN, NaT, pd.NA) is the same token so that equal frames hash equally."""
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return "<NA>"
    return f"{type(value).__name__}:{value!r}"


def column_digest(series: pd.Series) -> str:
    """SHA-256 of one column in row order, its dtype included."""
    h = hashlib.sha256(str(series.dtype).encode())
    if series.dtype == object:
        for value in series:
            h.update(_canonical(value).encode())
            h.update(b"\x00")
    else:
        hashed = pd.util.hash_pandas_object(series, index=False).to_numpy()
        h.update(hashed.tobytes())
    return h.hexdigest()


def fingerprint(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns (in order), dtypes, rows and content hashes of ``frame``."""
    columns = {str(c): column_digest(frame[c]) for c in frame.columns}
    total = hashlib.sha256()
    for name in sorted(columns):
        total.update(f"{name}={columns[name]};".encode())
    return {"columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "rows": len(frame), "sha256": total.hexdigest(), "by_column": columns}


def corrupt(domains: Mapping[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """The domains with about 2% of the cells of every spec column spoilt, some rows
    duplicated (exactly or with a conflicting value), records of a subject absent from DM,
    and a few deaths dated before randomisation."""
    from oncotrial.clinical.sdtm import SPECS

    rng = np.random.default_rng(seed)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in domains.items():
        frame = frame.copy().astype(object)
        spec = SPECS[name]
        n = len(frame)
        for column in spec.columns:
            if column.name not in frame.columns or column.name == "USUBJID" or n == 0:
                continue
            rows = rng.choice(n, size=max(1, n // 50), replace=False)
            if column.kind == "date":
                bad: list[Any] = ["2019-05", "2019", "31/12/2019", "", None, "2019-02-30"]
            elif column.kind in ("number", "integer"):
                bad = ["12", True, float("nan"), -1, 1e9, 2.5, None]
            elif column.kind == "flag":
                bad = ["y", "maybe", None, " N "]
            elif column.codes is not None:
                bad = ["XX", None, "  ", str(column.codes[0]).lower()]
            else:
                bad = [None, "  ", " padded "]
            for row in rows:
                frame.iat[int(row), frame.columns.get_loc(column.name)] = bad[rng.integers(len(bad))]
        if n and name != "DM":
            strangers = rng.choice(n, size=max(1, n // 200), replace=False)
            frame.iloc[strangers, frame.columns.get_loc("USUBJID")] = "UNKNOWN-SUBJECT"
        if n > 10:
            twins = frame.iloc[rng.choice(n, size=max(2, n // 100), replace=False)]
            conflicting = twins.iloc[: len(twins) // 2].copy()
            others = [c for c in conflicting.columns if c not in spec.key and c != "USUBJID"]
            if others:
                conflicting[others[-1]] = "CHANGED"
            frame = pd.concat([frame, twins, conflicting], ignore_index=True)
            order = rng.permutation(len(frame))
            frame = frame.iloc[order].reset_index(drop=True)
        out[name] = frame
    dm = out["DM"]
    if "DTHDTC" in dm.columns:
        early = rng.choice(len(dm), size=max(1, len(dm) // 100), replace=False)
        dm.iloc[early, dm.columns.get_loc("DTHDTC")] = "2000-01-01"
    return out


def derive_case(name: str) -> dict[str, dict[str, Any]]:
    """Simulate the replica of case ``name``, derive it, and fingerprint every output."""
    from oncotrial.clinical import derive_all
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import simulate_trial

    scenario_name, changes, seed, dirty, with_cutoff = CASES[name]
    scenario = Scenario.load(scenario_name)
    if changes:
        scenario = scenario.with_changes(changes)
    trial = simulate_trial(scenario, seed=seed)
    domains = corrupt(trial.domains, seed) if dirty else dict(trial.domains)
    derived = derive_all(domains, scenario.protocol_model(),
                         cutoff=trial.cutoff if with_cutoff else None)
    frames = {"adsl": derived.adsl, "adtte": derived.adtte, "adrs": derived.adrs,
              "adae": derived.adae, "data_quality": derived.data_quality()}
    return {key: fingerprint(frame) for key, frame in frames.items()}


def main() -> None:
    golden = {name: derive_case(name) for name in CASES}
    FIXTURE.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for name, frames in golden.items():
        print(name, {k: v["rows"] for k, v in frames.items()})


if __name__ == "__main__":
    main()
