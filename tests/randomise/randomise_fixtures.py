"""Stand-in protocol objects with the attributes oncotrial.randomise duck-types against."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Arm:
    code: str
    label: str
    ratio: int


@dataclass
class Factor:
    name: str
    levels: list[str | int]
    prevalence: dict[str | int, float] | None = None


@dataclass
class Minimisation:
    weights: dict[str, float]
    p: float = 0.8
    imbalance: str = "range"


@dataclass
class Randomisation:
    method: str = "blocks"
    block_sizes: list[int] = field(default_factory=lambda: [2, 4, 6])
    minimisation: Minimisation | None = None


@dataclass
class StandIn:
    id: str = "lms04"
    arms: list[Arm] = field(default_factory=lambda: [Arm("DOX", "Doxorubicin", 1),
                                                    Arm("DOXTRAB", "Doxorubicin + trabectedin", 1)])
    stratification: list[Factor] = field(default_factory=lambda: [
        Factor("origin", ["uterine", "soft_tissue"]), Factor("stage", ["locally_advanced", "metastatic"])])
    randomisation: Randomisation = field(default_factory=Randomisation)


def protocol(ratios: tuple[int, ...] = (1, 1), block_sizes: list[int] | None = None, method: str = "blocks",
             factors: list[Factor] | None = None, minimisation: Minimisation | None = None) -> StandIn:
    arms = [Arm(f"A{i}", f"arm {i}", r) for i, r in enumerate(ratios)] if ratios != (1, 1) else None
    p = StandIn()
    if arms:
        p.arms = arms
    if factors is not None:
        p.stratification = factors
    p.randomisation = Randomisation(method, block_sizes or [2, 4, 6], minimisation)
    return p
