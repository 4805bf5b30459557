"""Published numbers of a trial, each with its source, and the spread of the replicas.

A replica is compared with a publication number by number. A number without its source
is ambiguous when a trial was published twice, as trials often are (a primary analysis, then
a final one with longer follow-up and other estimates). So each number carries the
publication it comes from, its published confidence interval where one was printed, and
whether it was derived from published counts rather than printed.
``<scenario>_published.yaml`` next to a bundled scenario holds them.

The spread says how far one replica may fall from the publication by chance alone. It
is the central 95% of each estimate over many replicas, as ``oncotrial simulate calibrate``
computes it. ``<scenario>_calibration.json`` next to the scenario is the JSON that command
printed, kept with its scenario, replica count and seed, so the demo shows it without
simulating hundreds of trials.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from importlib import resources
from typing import Any

from oncotrial.core.errors import SpecError
from oncotrial.core.specfile import load_yaml

__all__ = ["PublishedNumber", "PublishedResults", "ReplicaSpread", "load_published", "load_spread"]

_SUFFIX = "_published.yaml"
_SPREAD_SUFFIX = "_calibration.json"


class PublishedError(SpecError):
    """A published-numbers file that cannot be read."""

    kind = "published numbers"


@dataclasses.dataclass(frozen=True)
class PublishedNumber:
    """One published number: ``value``, the published CI (``lower``, ``upper``; NaN when
    none was printed), ``source`` (the publication's citation) and ``derived`` (computed from
    published counts, not printed)."""

    value: float
    source: str
    lower: float = math.nan
    upper: float = math.nan
    derived: bool = False

    def contains(self, estimate: float) -> bool | None:
        """Whether ``estimate`` lies in the published CI; ``None`` without a CI."""
        if math.isnan(self.lower) or not math.isfinite(estimate):
            return None
        return self.lower <= estimate <= self.upper


@dataclasses.dataclass(frozen=True)
class PublishedResults:
    """The published numbers of a trial by estimate name, in the file's order."""

    numbers: Mapping[str, PublishedNumber]
    sources: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class ReplicaSpread:
    """The central 95% of each estimate over ``trials`` replicas (seed ``seed``) of
    ``scenario``: estimate name -> (2.5th, 97.5th percentile)."""

    scenario: str
    trials: int
    seed: int
    limits: Mapping[str, tuple[float, float]]


def _number(name: str, entry: Any, sources: Mapping[str, str], source: str) -> PublishedNumber:
    if not isinstance(entry, Mapping) or "value" not in entry or "source" not in entry:
        raise PublishedError([f"numbers.{name}: expected a mapping with value and source"], source)
    if entry["source"] not in sources:
        raise PublishedError([f"numbers.{name}.source: {entry['source']!r} is not one of the sources "
                              f"({', '.join(sources)})"], source)
    ci = entry.get("ci")
    if ci is not None and (not isinstance(ci, list) or len(ci) != 2 or not ci[0] <= entry["value"] <= ci[1]):
        raise PublishedError([f"numbers.{name}.ci: expected [lower, upper] around the value {entry['value']}"],
                             source)
    lower, upper = (math.nan, math.nan) if ci is None else (float(ci[0]), float(ci[1]))
    return PublishedNumber(value=float(entry["value"]), source=sources[entry["source"]], lower=lower,
                           upper=upper, derived=bool(entry.get("derived", False)))


def load_published(scenario: str) -> PublishedResults | None:
    """The published numbers shipped with the bundled ``scenario``, ``None`` if there are none."""
    path = resources.files("oncotrial") / "scenarios" / f"{scenario}{_SUFFIX}"
    if not path.is_file():
        return None
    source = f"{scenario}{_SUFFIX}"
    data = load_yaml(path.read_text(encoding="utf-8"), source=source, kind="published numbers",
                     error=PublishedError)
    sources = data.get("sources") or {}
    numbers = {str(name): _number(str(name), entry, sources, source)
               for name, entry in (data.get("numbers") or {}).items()}
    return PublishedResults(numbers=numbers, sources=dict(sources))


def load_spread(scenario: str) -> ReplicaSpread | None:
    """The replica spread shipped with the bundled ``scenario`` (the JSON of ``oncotrial
    simulate calibrate --json``), ``None`` if there is none."""
    path = resources.files("oncotrial") / "scenarios" / f"{scenario}{_SPREAD_SUFFIX}"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    limits = {row["estimate"]: (float(row["lower"]), float(row["upper"])) for row in data["table"]
              if row.get("lower") is not None and row.get("upper") is not None}
    return ReplicaSpread(scenario=data["scenario"], trials=int(data["trials"]), seed=int(data["seed"]),
                         limits=limits)
