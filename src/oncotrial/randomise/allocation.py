"""The pure allocation interface called by the web service: state in, (arm, new state) out.

No I/O and no hidden state: the service stores :class:`AllocationState` (``to_dict()``) in
the same transaction as the allocation record, and the next arm depends only on (state,
stratum, method, protocol, seed). That makes an allocation replayable from the audit trail
(goal G2 of the IWRS survey) and lets :func:`replay` check a whole trial in CI.

* ``blocks``: the state holds the next position in each stratum's list; the arm is row
  ``position`` of :func:`oncotrial.randomise.generate_list` for that stratum (the list is
  regenerated up to that row, which its prefix property makes identical to the sealed one).
* ``minimisation``: the state holds the allocations per factor level and arm; the draws come
  from (seed, counter) (:mod:`oncotrial.randomise.minimisation`).
* ``simple``: one draw from (seed, counter).

The state records per-stratum positions and per-level counts for every method, so that the
service can report balance whatever the method; the subjects randomised so far, so that
no subject is randomised twice; every allocation's inputs and arm in order (subject,
stratum, arm), so that :func:`replay_state` can re-run the trial and detect an edited
state; and a fingerprint of the seed, so that a mistyped seed is refused instead of
silently starting another sequence. The fingerprint does not hide the seed (a small seed
is found by trying them all, as it is from the recorded arms): the state is confidential
like the allocation list.

Refusals are :class:`~oncotrial.core.errors.AllocationError` (the subject is already
randomised or not eligible, the stratum's sealed list is exhausted); bad arguments are
:class:`~oncotrial.core.errors.InputError` naming the argument (``stratum``, ``method``,
``state``...).
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import check_seed
from oncotrial.randomise import minimisation, simple
from oncotrial.randomise.blocks import protocol_block_sizes, stratum_sequence
from oncotrial.randomise.strata import Design

__all__ = ["METHODS", "AllocationState", "Replay", "allocate", "replay", "replay_state", "seed_fingerprint"]

METHODS = ("blocks", "minimisation", "simple")


def _method(protocol: Any, method: str | None) -> str:
    if method is None:
        method = getattr(getattr(protocol, "randomisation", None), "method", None)
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}", field="method")
    return method


def seed_fingerprint(seed: int) -> str:
    """Short SHA-256 fingerprint of a seed, stored in the state to refuse another seed."""
    return hashlib.sha256(f"oncotrial.randomise.seed/1:{check_seed(seed)}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AllocationState:
    """Immutable allocation state.

    ``counter`` allocations made so far; ``positions`` maps stratum label -> allocations made
    in that stratum (= next 0-based row of its block list); ``counts`` maps ``factor=level``
    -> allocations per arm (in the order of ``arms``); ``subjects`` the identifiers of the
    subjects randomised with one (in order; allocations without an identifier add none);
    ``allocations`` every allocation as (subject or ``None``, stratum label, arm code), in
    order; ``seed_check`` the :func:`seed_fingerprint` of the seed used (``None`` before the
    first allocation).
    """

    method: str
    counter: int
    arms: tuple[str, ...]
    positions: tuple[tuple[str, int], ...]
    counts: tuple[tuple[str, tuple[int, ...]], ...]
    subjects: tuple[str, ...] = ()
    allocations: tuple[tuple[str | None, str, str], ...] = ()
    seed_check: str | None = None

    @classmethod
    def initial(cls, protocol: Any, method: str | None = None) -> AllocationState:
        """The state before the first allocation."""
        design = Design.from_protocol(protocol)
        zeros = (0,) * len(design.arms)
        return cls(_method(protocol, method), 0, design.arms,
                   tuple((lab, 0) for lab in design.stratum_labels),
                   tuple((lab, zeros) for lab in design.level_labels))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "counter": self.counter, "arms": list(self.arms),
                "positions": dict(self.positions),
                "counts": {lab: dict(zip(self.arms, c, strict=True)) for lab, c in self.counts},
                "subjects": list(self.subjects),
                "allocations": [{"subject": s, "stratum": lab, "arm": a} for s, lab, a in self.allocations],
                "seed_check": self.seed_check}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationState:
        """Inverse of :meth:`to_dict` (key order of ``positions``/``counts`` is kept).

        ``subjects``, ``allocations`` and ``seed_check`` may be absent (states stored before
        they were recorded); such a state allocates on but cannot be replayed.
        """
        try:
            arms = tuple(data["arms"])
            check = data.get("seed_check")
            state = cls(str(data["method"]), int(data["counter"]), arms,
                        tuple((str(k), int(v)) for k, v in data["positions"].items()),
                        tuple((str(k), tuple(int(v[a]) for a in arms)) for k, v in data["counts"].items()),
                        tuple(str(s) for s in data.get("subjects", ())),
                        tuple((None if r["subject"] is None else str(r["subject"]), str(r["stratum"]),
                               str(r["arm"])) for r in data.get("allocations", ())),
                        None if check is None else str(check))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InputError(f"state: data is not an AllocationState dictionary: {exc!r}",
                             field="state") from exc
        if state.method not in METHODS or state.counter < 0:
            raise InputError(f"state: data has an invalid method {state.method!r} or counter "
                             f"{state.counter}", field="state")
        return state


def allocate(state: AllocationState, stratum: Mapping[str, Any], *, method: str | None = None,
             protocol: Any, seed: int, subject: str | None = None,
             per_stratum: int | None = None, eligibility: Any = None) -> tuple[str, AllocationState]:
    """Allocate the next patient, in ``stratum`` (factor -> level); return (arm code, new state).

    ``stratum`` values are matched to the declared levels by
    :meth:`~oncotrial.randomise.strata.Design.level` (``1``, ``"1"`` and ``1.0`` are level
    1). ``method`` defaults to ``protocol.randomisation.method`` and must match
    ``state.method``; ``seed`` must be the seed of the state's earlier allocations.
    ``subject`` (optional) identifies the patient: a subject already in ``state.subjects``
    is refused. ``per_stratum`` (blocks only) is the length of the sealed list of every
    stratum: allocating beyond it is refused rather than read past the list.
    ``eligibility`` (optional) is the patient's
    :class:`~oncotrial.protocol.EligibilityResult`: anything but "eligible" is refused.

    Raises :class:`~oncotrial.core.errors.InputError` (``field="stratum"``) for an unknown
    factor, a missing factor or an unknown level (naming the declared levels), for a state
    that does not belong to this protocol (``field="state"``), another method
    (``field="method"``) or another seed (``field="seed"``);
    :class:`~oncotrial.core.errors.AllocationError` for a refusal.
    """
    design = Design.from_protocol(protocol)
    seed = check_seed(seed)
    method = _method(protocol, method)
    if state.method != method:
        raise InputError(f"method: {method!r} does not match the state's method "
                         f"{state.method!r}", field="method")
    _check_matches(state, design)
    check = seed_fingerprint(seed)
    if state.seed_check is not None and state.seed_check != check:
        raise InputError(f"seed: {seed} is not the seed of the {state.counter} earlier "
                         f"allocation(s) of this state", field="seed")
    limit = _per_stratum(per_stratum, method)
    if subject is not None and not isinstance(subject, str):
        raise TypeError(f"subject: expected a string identifier, got "
                        f"{type(subject).__name__} {subject!r}")
    if subject is not None and not subject.strip():
        raise InputError(f"subject: expected a non-empty identifier, got {subject!r}",
                         field="subject")
    s = design.stratum_index(stratum)
    _refuse(state, subject, eligibility, design.stratum_labels[s],
            state.positions[s][1], limit)
    levels = design.level_offsets() + np.asarray(design.stratum_levels(stratum), dtype=np.int64)
    arm = _next_arm(state, design, protocol, seed, s, levels)
    return design.arms[arm], replace(_advance(state, design, s, levels, arm, subject), seed_check=check)


def _check_matches(state: AllocationState, design: Design) -> None:
    if (state.arms != design.arms or [lab for lab, _ in state.positions] != design.stratum_labels
            or [lab for lab, _ in state.counts] != design.level_labels):
        raise InputError(f"state: does not match protocol {design.protocol_id!r} (arms, strata "
                         f"or levels differ)", field="state")


def _level_counts(state: AllocationState, design: Design) -> np.ndarray:
    return np.array([c for _, c in state.counts], dtype=np.int64).reshape(len(design.level_labels),
                                                                         len(design.arms))


def _next_arm(state: AllocationState, design: Design, protocol: Any, seed: int, s: int,
              levels: np.ndarray) -> int:
    """Index of the arm the method assigns to the next patient, in stratum ``s``."""
    ratios = np.asarray(design.ratios)
    if state.method == "blocks":
        position = state.positions[s][1]
        sizes = protocol_block_sizes(protocol, None, design)
        return int(stratum_sequence(seed, s, sizes, design.ratios, position + 1)[2][position])
    if state.method == "minimisation":
        config = minimisation.MinimisationConfig.from_protocol(protocol, design)
        u_tie, u_p = minimisation.draws(seed, state.counter)
        g = minimisation.scores(_level_counts(state, design)[levels], ratios, config)
        return int(minimisation.choose(g, np.asarray(u_tie), np.asarray(u_p), ratios, config.p))
    return int(simple.choose(simple.draw(seed, state.counter), ratios))


def _advance(state: AllocationState, design: Design, s: int, levels: np.ndarray, arm: int,
             subject: str | None) -> AllocationState:
    """The state after assigning arm index ``arm`` to a patient of stratum ``s``."""
    counts = _level_counts(state, design)
    counts[levels, arm] += 1
    positions = tuple((lab, pos + (i == s)) for i, (lab, pos) in enumerate(state.positions))
    new_counts = tuple((lab, tuple(int(x) for x in row)) for (lab, _), row in zip(state.counts, counts, strict=True))
    subjects = state.subjects + ((subject,) if subject is not None else ())
    record = (subject, design.stratum_labels[s], design.arms[arm])
    return replace(state, counter=state.counter + 1, positions=positions, counts=new_counts,
                   subjects=subjects, allocations=(*state.allocations, record))
def _per_stratum(per_stratum: Any, method: str) -> int | None:
    if per_stratum is None:
        return None
    if isinstance(per_stratum, bool) or not isinstance(per_stratum, numbers.Integral):
        raise TypeError(f"per_stratum: expected a positive integer, got {per_stratum!r}")
    if per_stratum < 1:
        raise InputError(f"per_stratum: expected a positive integer, got {per_stratum!r}",
                         field="per_stratum")
    if method != "blocks":
        raise InputError(f"per_stratum: only used with method 'blocks' (a sealed list), "
                         f"not {method!r}", field="per_stratum")
    return int(per_stratum)


def _refuse(state: AllocationState, subject: str | None, eligibility: Any, label: str,
            position: int, limit: int | None) -> None:
    """Raise :class:`AllocationError` when the allocation must not happen."""
    if subject is not None and subject in state.subjects:
        raise AllocationError(f"subject {subject!r} is already randomised (allocation "
                              f"{state.subjects.index(subject) + 1} of {len(state.subjects)} "
                              f"identified ones)")
    if eligibility is not None and not eligibility.eligible:
        why = [f"{o.id}: {o.reason}" for o in (*eligibility.failed, *eligibility.undetermined)]
        raise AllocationError(f"subject{f' {subject!r}' if subject else ''} is "
                              f"{eligibility.status}: " + "; ".join(why))
    if limit is not None and position >= limit:
        raise AllocationError(f"the allocation list of stratum {label} is exhausted: all "
                              f"{limit} rows are allocated")


def replay(protocol: Any, seed: int, strata_sequence: Iterable[Mapping[str, Any]],
           method: str | None = None) -> list[str]:
    """Arms allocated to patients arriving with ``strata_sequence``, from the initial state.

    Replaying a prefix gives the prefix of the arms; the audit trail check is
    ``replay(protocol, seed, recorded_strata) == recorded_arms``.
    """
    check_seed(seed)
    state = AllocationState.initial(protocol, method)
    arms = []
    for stratum in strata_sequence:
        arm, state = allocate(state, stratum, method=state.method, protocol=protocol, seed=seed)
        arms.append(arm)
    return arms


@dataclass(frozen=True, repr=False)
class Replay(Result):
    """Every stored allocation of a state re-run from its stored inputs.

    ``table`` has one row per allocation: ``allocation`` (1-based), ``subject``,
    ``stratum``, the stored ``arm``, the ``replayed`` arm (``None`` when the replay had no
    seed, or the allocation could not be re-run) and ``problem`` (empty when it agrees).
    ``problems`` lists, in order, each disagreement, then any difference between the stored
    positions, counts or subjects and those the allocations imply; ``ok`` is true when
    there is none. Without a seed only the bookkeeping is checked (``seeded`` false).
    """

    protocol_id: str
    method: str
    seeded: bool
    n_allocations: int
    problems: tuple[str, ...]
    table: pd.DataFrame

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "ok": self.ok}


def _parse_label(design: Design, label: str) -> dict[str, str]:
    pairs = [part.partition("=") for part in label.split("|")] if design.factors else []
    stratum = {f: lv for f, _, lv in pairs}
    if len(stratum) != len(pairs) or any(not sep for _, sep, _ in pairs):
        raise InputError(f"stratum: {label!r} is not a stratum label of the protocol",
                         field="stratum")
    return stratum


def replay_state(state: AllocationState, protocol: Any, seed: int | None = None, *,
                 per_stratum: int | None = None) -> Replay:
    """Re-run every allocation recorded in ``state`` and compare it with the stored arm.

    Each allocation is re-run from the state its recorded predecessors imply (so one edited
    arm is reported once, not as a cascade), with its recorded subject and stratum, the
    protocol's method settings and ``seed``. Without ``seed`` only the bookkeeping is
    checked: positions, per-level counts and subjects against the recorded allocations.
    Raises :class:`~oncotrial.core.errors.InputError` for a state of another protocol, a
    state without allocation records (stored before they were kept) or another seed.
    """
    design = Design.from_protocol(protocol)
    _check_matches(state, design)
    if len(state.allocations) != state.counter:
        raise InputError(f"state: records {len(state.allocations)} allocation(s) but counts "
                         f"{state.counter}; it cannot be replayed (a state stored before "
                         f"allocations were recorded, or an edited one)", field="state")
    if seed is not None:
        check_seed(seed)
        if state.seed_check is not None and state.seed_check != seed_fingerprint(seed):
            raise InputError(f"seed: {seed} is not the seed of this state's allocations",
                             field="seed")
    limit = _per_stratum(per_stratum, state.method)
    current = AllocationState.initial(protocol, state.method)
    rows, problems = [], []
    for i, (subject, label, arm) in enumerate(state.allocations, start=1):
        replayed, problem = None, ""
        try:
            stratum = _parse_label(design, label)
            s = design.stratum_index(stratum)
            levels = design.level_offsets() + np.asarray(design.stratum_levels(stratum), dtype=np.int64)
            if arm not in design.arms:
                raise InputError(f"arm {arm!r} is not an arm of the protocol ({', '.join(design.arms)})")
            _refuse(current, subject, None, label, current.positions[s][1], limit)
            if seed is not None:
                replayed = design.arms[_next_arm(current, design, protocol, seed, s, levels)]
                if replayed != arm:
                    problem = f"stored arm {arm}, the seed gives {replayed}"
            current = _advance(current, design, s, levels, design.arms.index(arm), subject)
        except (InputError, AllocationError) as exc:
            problem = str(exc)
        if problem:
            problems.append(f"allocation {i} ({subject or 'no subject'}, {label}): {problem}")
        rows.append({"allocation": i, "subject": subject, "stratum": label, "arm": arm,
                     "replayed": replayed, "problem": problem})
    for what in ("positions", "counts", "subjects"):
        if not problems and getattr(current, what) != getattr(state, what):
            problems.append(f"the stored {what} differ from those of the {state.counter} recorded "
                            f"allocations")
    table = pd.DataFrame(rows, columns=["allocation", "subject", "stratum", "arm", "replayed", "problem"])
    return Replay(design.protocol_id, state.method, seed is not None, state.counter, tuple(problems), table)
