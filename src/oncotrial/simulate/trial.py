"""A patient-level in-silico replica of a trial: :func:`simulate_trial` and :class:`SimulatedTrial`.

One call draws a whole trial from a protocol and a scenario and returns the SDTM-style
domains that :func:`oncotrial.clinical.derive_all` reads (DM, DS, EX, PR, CM, AE, TU, TR, RS),
plus the latent truth per patient for validation. The steps, each with its own random
generator (a child of ``numpy.random.SeedSequence(seed)``, in the fixed order of
:data:`PIECES`), so that changing one piece never shifts the draws of another:

1. accrual dates, centres and baseline characteristics (:mod:`.baseline`);
2. randomisation by the protocol's method with the replica's seed: stratified permuted
   blocks through :func:`oncotrial.randomise.generate_list` (the allocation is exactly the
   sealed list ``oncotrial randomise list --seed N`` prints, read in accrual order per
   stratum), minimisation or simple randomisation through
   :func:`oncotrial.randomise.allocate`, patient by patient in accrual order (what the live
   service would have allocated);
3. the latent disease course (:mod:`.disease`);
4. tumour assessments on the protocol's schedule (:mod:`.visits`) with date jitter and
   missed scans; progression is seen at the first scan on or after the latent progression;
5. adverse-event grades (:mod:`.adverse_events`), treatment delivery (:mod:`.treatment`),
   adverse-event dates, therapy after progression and second progression
   (:mod:`.subsequent`), tumour measurements (:mod:`.tumours`);
6. deaths on or before the cut-off, and the last contact of patients alive at the cut-off.

Nothing is dated after a patient's death, loss to follow-up or the data cut-off. The cut-off
is a date, or the date of the N-th event of the primary end point (:func:`analysis_dates`,
one per look). The DM domain carries the provenance: ``SIMFL = "Y"`` and ``SIMSEED`` (the
seed). Same seed, same data; a
scenario changed only in its cut-off gives the same patients, cut earlier (an interim look
during accrual holds only the patients randomised by then).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import check_seed
from oncotrial.protocol import Protocol
from oncotrial.randomise import AllocationState, allocate, generate_list
from oncotrial.randomise.strata import stratum_label
from oncotrial.simulate.adverse_events import adverse_event_records, draw_grades
from oncotrial.simulate.baseline import Patients, accrual_dates, draw_baseline
from oncotrial.simulate.disease import DiseaseCourse, simulate_disease
from oncotrial.simulate.estimates import phase_label
from oncotrial.simulate.scenario import EventCutoff, Scenario
from oncotrial.simulate.subsequent import Subsequent, simulate_subsequent
from oncotrial.simulate.treatment import Reason, TreatmentCourse, simulate_treatment
from oncotrial.simulate.tumours import Tumours, simulate_tumours
from oncotrial.simulate.visits import DAYS_PER_MONTH, iso, planned_assessments

__all__ = ["DOMAINS", "PIECES", "SimulatedTrial", "analysis_dates", "design_events",
           "primary_outcome", "simulate_trial"]

#: order of the child generators spawned from SeedSequence(seed); append, never reorder
PIECES = ("accrual", "baseline", "disease", "assessments", "adverse_event_grades", "treatment",
          "adverse_event_dates", "subsequent_therapy", "tumours", "deaths", "follow_up",
          "dropout")
#: domains written, in this order
DOMAINS = ("dm", "ds", "ex", "pr", "cm", "ae", "tu", "tr", "rs")
FORMATS = ("csv", "parquet", "xpt")
#: deaths within this many days of the last cycle count as on treatment
ON_TREATMENT_DAYS = 30
#: event-driven cut-offs: scans are scheduled this long after the accrual end, whatever the
#: look, so that an earlier look sees the same patients and the same scans, cut earlier
EVENT_HORIZON_YEARS = 25
#: time-to-event outcomes of a replica, by the events of the protocol end point
OUTCOMES = {frozenset({"death"}): "OS", frozenset({"progression", "death"}): "PFS",
            frozenset({"second_progression", "death"}): "PFS2"}


@dataclasses.dataclass(frozen=True, repr=False)
class SimulatedTrial(Result):
    """One replica: the SDTM domains (``dm`` ... ``rs``, upper-case column names), the seed,
    the cut-off, the allocation list's SHA-256 and ``truth``, one row per patient with the
    latent times (months) and what the derivations should find (see :func:`simulate_trial`)."""

    scenario: str
    seed: int
    cutoff: pd.Timestamp
    allocation_sha256: str
    dm: pd.DataFrame
    ds: pd.DataFrame
    ex: pd.DataFrame
    pr: pd.DataFrame
    cm: pd.DataFrame
    ae: pd.DataFrame
    tu: pd.DataFrame
    tr: pd.DataFrame
    rs: pd.DataFrame
    truth: pd.DataFrame

    @property
    def domains(self) -> dict[str, pd.DataFrame]:
        """Domain name (upper case) -> frame, the input of ``derive_all``."""
        return {name.upper(): getattr(self, name) for name in DOMAINS}

    def to_frame(self) -> pd.DataFrame:
        return self.truth

    def summary(self) -> pd.DataFrame:
        """Per arm: patients, first progressions, deaths and second progressions seen by
        the cut-off, responders."""
        t = self.truth
        return t.groupby("ARMCD").agg(
            patients=("USUBJID", "size"), progressions=("PDDT", "count"),
            deaths=("DTHDT", "count"), second_progressions=("PD2DT", "count"),
            responders=("RESPONDER", "sum")).reset_index()

    def write(self, out_dir: str | Path, formats: Iterable[str] = ("csv",)) -> list[Path]:
        """Write ``<domain>.<format>`` per domain (lower-case names, e.g. ``dm.csv``), the
        files ``oncotrial derive --sdtm DIR`` reads, and ``truth.csv``; return the paths."""
        chosen = list(formats)
        unknown = [f for f in chosen if f not in FORMATS]
        if unknown or not chosen:
            raise InputError(f"formats: expected one or more of {', '.join(FORMATS)}, got "
                             f"{chosen}", field="formats")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name in DOMAINS:
            frame: pd.DataFrame = getattr(self, name)
            for fmt in chosen:
                path = out / f"{name}.{fmt}"
                _write(frame, path, fmt, name)
                written.append(path)
        truth = out / "truth.csv"
        self.truth.to_csv(truth, index=False)
        written.append(truth)
        return written


def _write(frame: pd.DataFrame, path: Path, fmt: str, name: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        text = frame.select_dtypes(include="object").columns
        frame.astype({c: "string" for c in text}).to_parquet(path, index=False)
    else:
        import pyreadstat

        out = frame.copy()
        for column in out.columns:
            if out[column].dtype == object:
                out[column] = out[column].map(lambda v: "" if v is None or pd.isna(v) else str(v))
            else:
                out[column] = out[column].astype("float64")
        pyreadstat.write_xport(out, str(path), file_format_version=5, table_name=name.upper())


def _days(dates: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return (dates - origin).astype(np.int64)


def _dates(origin: np.ndarray, days: np.ndarray) -> np.ndarray:
    """``origin + floor(days)``; NaN/inf days give NaT."""
    days = np.asarray(days, dtype=float)
    ok = np.isfinite(days)
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    out[ok] = origin[ok] + np.floor(days[ok]).astype(np.int64)
    return out


def _sequence(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    frame.insert(2, f"{prefix}SEQ", frame.groupby("USUBJID").cumcount() + 1)
    return frame


def simulate_trial(scenario: Scenario | str | Path, *, seed: int,
                   protocol: Protocol | None = None, look: int | None = None) -> SimulatedTrial:
    """Simulate one replica of ``scenario`` (a :class:`Scenario`, a bundled name such as
    ``"gastric_example"`` or a YAML path) with ``seed``; ``protocol`` replaces the scenario's
    protocol (e.g. other block sizes), the scenario being re-validated against it. With an
    event-driven cut-off, ``look`` (1-based, default the last) chooses the analysis.

    ``truth`` columns: ``USUBJID``, ``RANDSEQ`` (order of randomisation), ``ARMCD, ARM``,
    one column per stratification factor, ``RANDDT``; latent months
    ``PFS_LATENT, PROGRESSION_LATENT, PD2_LATENT, DEATH_LATENT`` (NaN if never);
    observed dates ``PDDT`` (first PD scan), ``DTHDT``, ``PD2DT`` (on/before the cut-off),
    ``LSTALVDT``; the expected PFS/OS/PFS2 analysis (``*_ADT`` date, ``*_CNSR`` 0 event,
    1 no post-baseline assessment, 2 censored at the last assessment, 5 alive, ``*_MONTHS``
    = (ADT - RANDDT + 1 day) / 30.4375 as ADTTE's ``AVALM``); ``SCANS_MISSED`` before the
    PFS date; ``RESPONDER``, ``BOR``; treatment (``TREATED``, ``CYCLES_<PHASE>`` and
    ``REDUCED_<PHASE>`` per phase named as the protocol's, e.g. ``CYCLES_INDUCTION``,
    ``STOP_REASON``, ``SURGERY``) and subsequent therapy (``SECOND_LINE``, ``THIRD_LINE``);
    ``DEATH_CAUSE``; ``DROPOUT_DT`` (lost to follow-up, NaT if not).
    """
    scenario = _validated(scenario, protocol)
    seed = check_seed(seed)
    if isinstance(scenario.cutoff, date):
        if look not in (None, 1):
            raise InputError(f"look: the scenario has one cut-off ({scenario.cutoff}), got "
                             f"look {look!r}", field="look")
        return _replica(scenario, seed, np.datetime64(scenario.cutoff, "D"), None)
    dates = analysis_dates(scenario, seed=seed)
    if look is None:
        look = len(dates)
    if isinstance(look, bool) or not isinstance(look, int) or not 1 <= look <= len(dates):
        raise InputError(f"look: expected 1 to {len(dates)}, got {look!r}", field="look")
    return _replica(scenario, seed, np.datetime64(dates[look - 1], "D"), _far(scenario))


def _validated(scenario: Scenario | str | Path, protocol: Protocol | None) -> Scenario:
    if not isinstance(scenario, Scenario):
        return Scenario.load(scenario, protocol=protocol)
    if protocol is not None and protocol is not scenario.protocol_model():
        return Scenario.from_dict(scenario.to_dict(), source=scenario.id, protocol=protocol)
    return scenario


def _far(scenario: Scenario) -> np.datetime64:
    return np.datetime64(scenario.accrual.end, "D") + int(EVENT_HORIZON_YEARS * 365.25)


def primary_outcome(protocol: Protocol) -> str:
    """The replica outcome (``OS``, ``PFS`` or ``PFS2`` columns of ``truth``) of the
    protocol's primary time-to-event end point, recognised by its events."""
    design = getattr(protocol, "design", None)
    named = getattr(design, "endpoint", None)
    chosen = [e for e in protocol.endpoints if e.name == named] or \
        [e for e in protocol.endpoints if e.role == "primary" and e.kind == "time_to_event"]
    for endpoint in chosen:
        outcome = OUTCOMES.get(frozenset(endpoint.events))
        if outcome is not None:
            return outcome
    raise InputError(f"cutoff: protocol {protocol.id} has no primary time-to-event end point "
                     f"whose events a replica draws ({'; '.join(sorted(map(str, OUTCOMES.values())))})",
                     field="cutoff")


def _target_events(scenario: Scenario) -> list[int]:
    spec = scenario.cutoff
    assert isinstance(spec, EventCutoff)
    if spec.events is not None:
        return list(spec.events)
    total = spec.total_events if spec.total_events is not None \
        else design_events(scenario.protocol_model())
    return [max(1, math.ceil(rate * total - 1e-9)) for rate in spec.information or []]


def design_events(protocol: Protocol) -> int:
    """Events the protocol's design requires (group-sequential when it has several looks)."""
    from oncotrial.design import survival_sample_size
    from oncotrial.design.group_sequential import group_sequential

    inputs = protocol.design_inputs()
    looks = protocol.group_sequential_inputs()
    if looks is None:
        return int(survival_sample_size(**inputs).events)
    fixed = {k: v for k, v in inputs.items() if k not in ("alpha", "sided", "power")}
    return int(survival_sample_size(design=group_sequential(**looks), **fixed).events)


def analysis_dates(scenario: Scenario | str | Path, *, seed: int,
                   protocol: Protocol | None = None) -> list[date]:
    """Cut-off of each look of an event-driven scenario with ``seed``: the date of the N-th
    event of the primary end point (ties on a date share it). A date cut-off is its own
    single look."""
    scenario = _validated(scenario, protocol)
    seed = check_seed(seed)
    if isinstance(scenario.cutoff, date):
        return [scenario.cutoff]
    targets = _target_events(scenario)
    far = _far(scenario)
    truth = _replica(scenario, seed, far, far).truth
    outcome = primary_outcome(scenario.protocol_model())
    events = np.sort(truth.loc[truth[f"{outcome}_CNSR"] == 0, f"{outcome}_ADT"]
                     .to_numpy("datetime64[D]"))
    if targets[-1] > len(events):
        raise InputError(f"cutoff.events: {targets[-1]} {outcome} events are never reached: "
                         f"{len(events)} of {scenario.patients} patients have one within "
                         f"{EVENT_HORIZON_YEARS} years of the accrual end", field="cutoff")
    return [events[k - 1].astype(object) for k in targets]


def _replica(scenario: Scenario, seed: int, cutoff: np.datetime64,
             horizon: np.datetime64 | None) -> SimulatedTrial:
    """One replica cut at ``cutoff``; scans scheduled up to ``horizon`` (default the cut-off)."""
    protocol = scenario.protocol_model()
    rngs = dict(zip(PIECES, (np.random.default_rng(s) for s in
                             np.random.SeedSequence(seed).spawn(len(PIECES))), strict=True))
    n = scenario.patients

    # 1-2: who, when, where; randomisation
    randdt = accrual_dates(scenario, rngs["accrual"])
    base = draw_baseline(scenario, rngs["baseline"])
    strata = dict(base.strata)
    arms, sha = _randomise(protocol, seed, strata, n)
    labels = {a.code: a.label for a in protocol.arms}
    site = base.site
    seq = pd.Series(site).groupby(site).cumcount().to_numpy() + 1
    usubjid = np.array([f"{protocol.id}-{s:02d}-{q:03d}" for s, q in zip(site, seq, strict=True)],
                       dtype=object)
    cutoff_day = _days(np.full(n, cutoff), randdt).astype(float)
    dropout_day = _dropout(scenario, rngs["dropout"], n)
    lost = dropout_day < cutoff_day
    cutoff_day = np.minimum(cutoff_day, np.floor(dropout_day))  # nothing recorded after it

    # 3: disease (days)
    course = simulate_disease(scenario, arms, rngs["disease"])
    death_day = course.death * DAYS_PER_MONTH
    pd1_day = course.progression * DAYS_PER_MONTH
    pd2_day = course.second_progression * DAYS_PER_MONTH

    # 4: scans
    planned, done = _scans(scenario, protocol, arms, randdt, cutoff if horizon is None else horizon,
                           rngs["assessments"])
    scan_day, pd_index, baseline_day, missed = _perform(planned, done, randdt, pd1_day, death_day,
                                                        cutoff_day, scenario, rngs["assessments"])
    rows = np.arange(n)
    has_pd = pd_index >= 0
    pd_day = np.where(has_pd, scan_day[rows, np.maximum(pd_index, 0)], np.inf)

    # 5: adverse-event grades, treatment, adverse-event dates, later lines, tumours
    grades = draw_grades(scenario, arms, rngs["adverse_event_grades"])
    severe = cast(np.ndarray, (grades >= 3).any(axis=1))
    treatment = simulate_treatment(scenario, protocol, arms, progression_day=pd_day,
                                   death_day=death_day, cutoff_day=cutoff_day,
                                   severe=severe,
                                   surgery_relative=_surgery_relative(scenario, strata, n),
                                   rng=rngs["treatment"])
    died = np.floor(death_day) <= cutoff_day
    lost &= ~died
    death_record = np.where(died, np.floor(death_day), np.nan)
    last_cycle = treatment.last_cycle_day
    on_treatment = died & (death_record <= last_cycle + ON_TREATMENT_DAYS)
    related = np.array([scenario.adverse_events.arms[a].treatment_related_death for a in arms])
    after_pd = ~np.isnan(pd1_day) & (pd1_day < death_day)
    toxic = died & ~after_pd & on_treatment & (rngs["deaths"].random(n) < related)
    cause = np.where(after_pd, "PROGRESSIVE DISEASE", np.where(toxic, "TOXICITY", "OTHER"))
    record_end = np.minimum(np.floor(death_day), cutoff_day)
    window_end = np.minimum.reduce([pd_day, np.floor(death_day), treatment.withdrawal_day,
                                    cutoff_day])
    ae = adverse_event_records(scenario, arms, grades, treatment, window_end=window_end,
                               record_end=record_end,
                               fatal_day=np.where(toxic, death_record, np.nan),
                               rng=rngs["adverse_event_dates"])
    later = simulate_subsequent(scenario, arms, progression_day=pd_day,
                                second_progression_day=pd2_day, death_day=death_day,
                                cutoff_day=cutoff_day, rng=rngs["subsequent_therapy"])
    tumours = simulate_tumours(scenario, base, arms, course.indolence, scan_day, pd_index,
                               baseline_day, rngs["tumours"])

    # 6: domains
    ids = {"STUDYID": protocol.id}
    ex = _ex(protocol, arms, usubjid, randdt, treatment, ids)
    ds = _ds(protocol, arms, usubjid, randdt, treatment, died, death_record, cause, last_cycle,
             np.where(lost, cutoff_day, np.nan), ids)
    pr = _pr(usubjid, randdt, treatment, ids)
    lines = later.cm
    cm = pd.DataFrame({**ids, "USUBJID": usubjid[lines["patient"]], "CMTRT": lines["CMTRT"],
                       "CMCAT": "ANTICANCER THERAPY", "CMSCAT": lines["CMSCAT"],
                       "CMSTDTC": iso(_dates(randdt[lines["patient"]], lines["day"])),
                       "CMENDTC": iso(_dates(randdt[lines["patient"]], lines["end_day"]))})
    cm = _sequence(cm, "CM")
    ae_frame = pd.DataFrame({
        **ids, "USUBJID": usubjid[ae["patient"]], "AETERM": ae["AEDECOD"], "AEDECOD": ae["AEDECOD"],
        "AEBODSYS": ae["AEBODSYS"], "AETOXGR": ae["AETOXGR"].astype(np.int64), "AESER": ae["AESER"],
        "AEREL": ae["AEREL"], "AEACN": ae["AEACN"], "AESTDTC": iso(_dates(randdt[ae["patient"]], ae["day"])),
        "AEENDTC": iso(_dates(randdt[ae["patient"]], ae["end_day"]))})
    ae_frame = _sequence(ae_frame, "AE")
    tu = pd.DataFrame({**ids, "USUBJID": usubjid[tumours.tu["patient"]],
                       "TULNKID": tumours.tu["TULNKID"], "TUTESTCD": "TUMIDENT",
                       "TUORRES": tumours.tu["TUORRES"], "TULOC": tumours.tu["TULOC"],
                       "TUNODE": tumours.tu["TUNODE"],
                       "TUDTC": iso(_dates(randdt[tumours.tu["patient"]], tumours.tu["day"]))})
    tu = _sequence(tu.sort_values(["USUBJID", "TULNKID"], kind="stable", ignore_index=True), "TU")
    tr = _tr(tumours.tr, usubjid, randdt, ids)
    pd2_seen = ~np.isnan(later.second_progression_day)
    rs = pd.DataFrame({**ids, "USUBJID": usubjid[pd2_seen], "RSTESTCD": "PROG2",
                       "RSTEST": "Second Disease Progression", "RSORRES": "PD",
                       "RSDTC": iso(_dates(randdt[pd2_seen], later.second_progression_day[pd2_seen]))})
    rs = _sequence(rs, "RS")

    # last contact: latest record, or a follow-up visit within the lag before the cut-off
    lag = scenario.follow_up.last_contact_lag_months * DAYS_PER_MONTH
    visit = np.floor(cutoff_day - rngs["follow_up"].random(n) * lag)
    latest = _latest_record(n, randdt, usubjid, [ds, ex, pr, cm, ae_frame, tr, rs, tu])
    last_contact = np.where(died, death_record, np.minimum(np.maximum(visit, latest), cutoff_day))

    dm = _dm(usubjid, site, seq, arms, labels, randdt, base, strata, treatment, died,
             death_record, last_contact, ids, scenario, seed)
    truth = _truth(protocol, usubjid, arms, labels, strata, randdt, course, pd_day, died,
                   death_record, later, last_contact, scan_day, missed, tumours, treatment, cause)
    truth["DROPOUT_DT"] = _dates(randdt, np.where(lost, cutoff_day, np.nan))
    # a cut-off during accrual: patients randomised later are not in the data yet
    enrolled = set(usubjid[randdt <= cutoff])
    order = np.argsort(usubjid, kind="stable")
    frames = [_by_subject(f, enrolled) for f in (dm.iloc[order], ds, ex, pr, cm, ae_frame, tu, tr,
                                                  rs, truth.iloc[order])]
    return SimulatedTrial(scenario.id, seed, pd.Timestamp(cutoff), sha, *frames)


def _dropout(scenario: Scenario, rng: np.random.Generator, n: int) -> np.ndarray:
    """Day of loss to follow-up per patient (inf without dropout)."""
    spec = scenario.follow_up.dropout
    if spec is None:
        return np.full(n, np.inf)
    hazard = -np.log1p(-spec.rate) / (spec.months * DAYS_PER_MONTH)
    return rng.exponential(1.0 / hazard, n)


def _surgery_relative(scenario: Scenario, strata: dict[str, np.ndarray], n: int) -> np.ndarray:
    """How many times as likely surgery is for each patient (product over factors)."""
    out = np.ones(n)
    for factor, levels in scenario.treatment.surgery_relative.items():
        for level, times in levels.items():
            out[strata[factor] == level] *= times
    return out


def _by_subject(frame: pd.DataFrame, enrolled: set[str]) -> pd.DataFrame:
    kept = frame[frame["USUBJID"].isin(enrolled)]
    return kept.sort_values("USUBJID", kind="stable", ignore_index=True)


def _randomise(protocol: Protocol, seed: int, strata: dict[str, np.ndarray],
               n: int) -> tuple[np.ndarray, str]:
    """Arms by the protocol's method, and the SHA-256 of the allocation: blocks read the
    sealed allocation list for ``seed`` (the i-th patient of a stratum, in accrual order, gets
    row i of that stratum's list; the list's own SHA-256); minimisation and simple
    randomisation allocate patient by patient as the live service does (SHA-256 of the
    ``sequence,stratum,arm`` lines)."""
    factors = [f.name for f in protocol.stratification]
    label = np.array([stratum_label(factors, levels) for levels in
                      zip(*(strata[f] for f in factors), strict=True)], dtype=object) \
        if factors else np.full(n, "", dtype=object)
    if protocol.randomisation.method == "blocks":
        allocation = generate_list(protocol, seed=seed, per_stratum=n)
        rank = pd.Series(label).groupby(label).cumcount().to_numpy()
        lists = {k: g["arm"].astype(str).to_numpy() for k, g in
                 allocation.frame.groupby("stratum", observed=True, sort=False)}
        arms = np.array([lists[lab][r] for lab, r in zip(label, rank, strict=True)], dtype=object)
        return arms, allocation.sha256
    state = AllocationState.initial(protocol)
    chosen: list[str] = []
    for i in range(n):
        arm, state = allocate(state, {f: str(strata[f][i]) for f in factors}, protocol=protocol,
                              seed=seed)
        chosen.append(arm)
    text = "".join(f"{i + 1},{lab},{arm}\n" for i, (lab, arm) in enumerate(zip(label, chosen,
                                                                              strict=True)))
    return np.array(chosen, dtype=object), hashlib.sha256(text.encode()).hexdigest()


def _scans(scenario: Scenario, protocol: Protocol, arms: np.ndarray, randdt: np.ndarray,
           cutoff: np.datetime64, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scheduled scan dates up to the cut-off (``planned``), and the dates the scans were done:
    jittered, moved to the nearest weekday (so at most ``jitter_days + 1`` days off), ``NaT``
    where missed (``NaT`` pads both)."""
    n = len(arms)
    horizon = int(np.ceil((cutoff - randdt.min()).astype(np.int64) / DAYS_PER_MONTH)) + 1
    grids = {code: planned_assessments(protocol, code, randdt[arms == code], horizon)
             for code in np.unique(arms)}
    width = max(g.shape[1] for g in grids.values())
    planned = np.full((n, width), np.datetime64("NaT"), dtype="datetime64[D]")
    for code, grid in grids.items():
        planned[np.flatnonzero(arms == code), :grid.shape[1]] = grid
    j = scenario.assessments.jitter_days
    shifted = planned + rng.integers(-j, j + 1, planned.shape)
    ok = ~np.isnat(shifted)
    # to the nearest weekday: Saturday back to Friday, Sunday on to Monday
    weekday = np.busday_offset(shifted[ok], 0, roll="forward")
    saturday = (weekday - shifted[ok]).astype(np.int64) == 2
    weekday[saturday] = weekday[saturday] - 3
    shifted[ok] = weekday
    shifted[rng.random(planned.shape) < scenario.assessments.missed] = np.datetime64("NaT")
    return planned, shifted


def _perform(planned: np.ndarray, done: np.ndarray, randdt: np.ndarray, pd1_day: np.ndarray,
             death_day: np.ndarray, cutoff_day: np.ndarray, scenario: Scenario,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scans done (days, compacted left, NaN padded) up to the first showing progression,
    the index of that PD scan (-1 if none), the baseline scan day and the scheduled scans
    missed before the PFS date."""
    n = len(randdt)
    day = np.where(np.isnat(done), np.nan, (done - randdt[:, None]).astype("timedelta64[D]").astype(float))
    plan_day = np.where(np.isnat(planned), np.nan,
                        (planned - randdt[:, None]).astype("timedelta64[D]").astype(float))
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(day) & (day < death_day[:, None]) & (day <= cutoff_day[:, None])
        shows = valid & (day >= pd1_day[:, None])
    has_pd = shows.any(axis=1)
    first = np.where(has_pd, np.argmax(shows, axis=1), day.shape[1])
    keep = valid & (np.arange(day.shape[1])[None, :] <= first[:, None])
    order = np.argsort(~keep, axis=1, kind="stable")
    compact = np.where(np.take_along_axis(keep, order, axis=1),
                       np.take_along_axis(day, order, axis=1), np.nan)
    width = max(int(keep.sum(axis=1).max(initial=0)), 1)
    compact = compact[:, :width]
    pd_index = np.where(has_pd, keep.sum(axis=1) - 1, -1)
    end = np.where(has_pd, np.nanmax(np.where(keep, day, np.nan), axis=1, initial=-1.0),
                   np.minimum(death_day, cutoff_day))
    with np.errstate(invalid="ignore"):
        missed = (np.isnan(day) & ~np.isnan(plan_day) & (plan_day < end[:, None])).sum(axis=1)
    lo, hi = scenario.assessments.baseline_days
    base = randdt - rng.integers(lo, hi + 1, n)
    base = np.minimum(np.busday_offset(base, 0, roll="forward"), randdt)
    return compact, pd_index, _days(base, randdt).astype(float), missed


def _ex(protocol: Protocol, arms: np.ndarray, usubjid: np.ndarray, randdt: np.ndarray,
        treatment: TreatmentCourse, ids: dict[str, str]) -> pd.DataFrame:
    patient, cycle = np.nonzero(treatment.given)
    level = treatment.dose_level[patient, cycle]
    maintenance = cycle >= treatment.first_phase_cycles[patient]
    parts = []
    for code in np.unique(arms):
        phases = protocol.regimen(code).phases
        for is_maint, phase in enumerate(phases):
            on = (arms[patient] == code) & (maintenance == bool(is_maint))
            for order, drug in enumerate(phase.drugs):
                levels = [drug.dose]
                if drug.reductions is not None:
                    scale = 1.0 if drug.reductions.kind == "dose" else drug.dose / 100.0
                    levels += [v * scale for v in drug.reductions.levels]
                most = getattr(drug, "max_total_cycles", None)  # cycles of the whole treatment
                given = on & (cycle < most) if most is not None else on
                lvl = np.minimum(level[given], len(levels) - 1)
                parts.append(pd.DataFrame({
                    "patient": patient[given], "cycle": cycle[given], "order": order,
                    "EXTRT": drug.drug.lower(), "EXDOSE": np.array(levels)[lvl], "EXDOSU": drug.unit,
                    "EPOCH": phase.name.upper(),
                    "EXADJ": np.where(lvl > 0, "DOSE REDUCED", np.array(None))}))
    rows = pd.concat(parts, ignore_index=True).sort_values(["patient", "cycle", "order"],
                                                          kind="stable", ignore_index=True)
    p = rows["patient"].to_numpy()
    frame = pd.DataFrame({
        **ids, "USUBJID": usubjid[p], "EXTRT": rows["EXTRT"], "EXDOSE": rows["EXDOSE"],
        "EXDOSU": rows["EXDOSU"],
        "EXSTDTC": iso(_dates(randdt[p], treatment.cycle_day[p, rows["cycle"].to_numpy()])),
        "EPOCH": rows["EPOCH"], "EXADJ": rows["EXADJ"]})
    return _sequence(frame, "EX")


def _ds(protocol: Protocol, arms: np.ndarray, usubjid: np.ndarray, randdt: np.ndarray,
        treatment: TreatmentCourse, died: np.ndarray, death_record: np.ndarray,
        cause: np.ndarray, last_cycle: np.ndarray, lost_day: np.ndarray,
        ids: dict[str, str]) -> pd.DataFrame:
    n = len(usubjid)
    disp = treatment.dispositions
    p = disp["patient"].to_numpy()
    dead = np.flatnonzero(died)
    lost = np.flatnonzero(~np.isnan(lost_day))
    last_index = np.where(treatment.given.any(axis=1),
                          treatment.given.shape[1] - 1 - np.argmax(treatment.given[:, ::-1], axis=1), -1)
    during = treatment.treated & (death_record <= last_cycle + ON_TREATMENT_DAYS)
    names = [[p.name.upper() for p in protocol.regimen(a).phases] for a in arms]
    phase_epoch = np.array([phases[-1] if last >= first else phases[0] for phases, last, first
                            in zip(names, last_index, treatment.first_phase_cycles, strict=True)],
                           dtype=object)
    epoch = np.where(during, phase_epoch, "FOLLOW-UP")
    frame = pd.concat([
        pd.DataFrame({"patient": np.arange(n), "DSTERM": "RANDOMIZED", "DSDECOD": "RANDOMIZED",
                      "DSCAT": "PROTOCOL MILESTONE", "EPOCH": "SCREENING", "day": 0.0}),
        pd.DataFrame({"patient": p, "DSTERM": disp["DSDECOD"], "DSDECOD": disp["DSDECOD"],
                      "DSCAT": "DISPOSITION EVENT", "EPOCH": disp["EPOCH"], "day": disp["day"]}),
        pd.DataFrame({"patient": dead, "DSTERM": cause[dead], "DSDECOD": "DEATH",
                      "DSCAT": "DISPOSITION EVENT", "EPOCH": epoch[dead],
                      "day": death_record[dead]}),
        pd.DataFrame({"patient": lost, "DSTERM": "LOST TO FOLLOW-UP", "DSDECOD": "LOST TO FOLLOW-UP",
                      "DSCAT": "DISPOSITION EVENT", "EPOCH": "FOLLOW-UP", "day": lost_day[lost]}),
    ], ignore_index=True).sort_values(["patient", "day"], kind="stable", ignore_index=True)
    q = frame["patient"].to_numpy()
    out = pd.DataFrame({**ids, "USUBJID": usubjid[q], "DSTERM": frame["DSTERM"],
                        "DSDECOD": frame["DSDECOD"], "DSCAT": frame["DSCAT"], "EPOCH": frame["EPOCH"],
                        "DSSTDTC": iso(_dates(randdt[q], frame["day"].to_numpy()))})
    return _sequence(out, "DS")


def _pr(usubjid: np.ndarray, randdt: np.ndarray, treatment: TreatmentCourse,
        ids: dict[str, str]) -> pd.DataFrame:
    p = np.flatnonzero(~np.isnan(treatment.surgery_day))
    frame = pd.DataFrame({
        **ids, "USUBJID": usubjid[p], "PRTRT": "SURGERY OF RESIDUAL DISEASE", "PRCAT": "SURGERY",
        "PRLOC": np.where(treatment.surgery_primary[p], "PRIMARY TUMOUR", "METASTASES"),
        "PRSTDTC": iso(_dates(randdt[p], treatment.surgery_day[p]))})
    return _sequence(frame, "PR")


def _tr(rows: pd.DataFrame, usubjid: np.ndarray, randdt: np.ndarray,
        ids: dict[str, str]) -> pd.DataFrame:
    p = rows["patient"].to_numpy()
    value = rows["value"].to_numpy()
    measured = ~np.isnan(value)
    text = rows["state"].to_numpy().astype(object)
    text[measured] = np.char.mod("%.1f", value[measured]).astype(object)
    frame = pd.DataFrame({**ids, "USUBJID": usubjid[p], "TRLNKID": rows["TRLNKID"],
                          "TRTESTCD": rows["TRTESTCD"], "TRORRES": text,
                          "TRSTRESN": np.where(measured, value, np.nan),
                          "TRSTRESU": np.where(measured, "mm", np.array(None)),
                          "TRDTC": iso(_dates(randdt[p], rows["day"].to_numpy()))})
    frame = frame.sort_values(["USUBJID", "TRDTC", "TRLNKID"], kind="stable", ignore_index=True)
    return _sequence(frame, "TR")


def _latest_record(n: int, randdt: np.ndarray, usubjid: np.ndarray,
                   frames: list[pd.DataFrame]) -> np.ndarray:
    """Latest date (days from randomisation) of any record of each patient."""
    index = {s: i for i, s in enumerate(usubjid)}
    latest = np.zeros(n)
    for frame in frames:
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            dates = pd.to_datetime(frame[column]).to_numpy("datetime64[D]")
            ok = ~np.isnat(dates)
            who = frame["USUBJID"].map(index).to_numpy()[ok]
            np.maximum.at(latest, who, _days(dates[ok], randdt[who]).astype(float))
    return latest


def _dm(usubjid: np.ndarray, site: np.ndarray, seq: np.ndarray,
        arms: np.ndarray, labels: dict[str, str], randdt: np.ndarray, base: Patients,
        strata: dict[str, np.ndarray], treatment: TreatmentCourse, died: np.ndarray, death_record: np.ndarray,
        last_contact: np.ndarray, ids: dict[str, str], scenario: Scenario, seed: int) -> pd.DataFrame:
    """DM with the strata (one column per factor, named as it), the characteristics the
    scenario draws and the provenance columns ``SIMFL`` and ``SIMSEED``."""
    metastatic = base.metastatic
    flags = {f"MET{name}": np.where(base.lesions[:, i] > 0, "Y", "N")
             for i, name in enumerate(("LUNG", "LIVER", "BONE", "SKIN", "OTHER"))}
    arm_label = np.array([labels[a] for a in arms], dtype=object)
    traits: dict[str, object] = {}
    if scenario.baseline.ecog is not None:
        traits["ECOG"] = pd.Series(base.ecog).where(base.ecog >= 0).astype("Int64")
    if scenario.baseline.grade is not None:
        traits["GRADE"] = pd.Series(base.grade).where(base.grade > 0).astype("Int64")
    return pd.DataFrame({
        **ids, "USUBJID": usubjid,
        "SUBJID": [f"{s:02d}-{q:03d}" for s, q in zip(site, seq, strict=True)],
        "SITEID": [f"{s:02d}" for s in site], "ARM": arm_label, "ARMCD": arms,
        "ACTARM": np.where(treatment.treated, arm_label, "Not Treated"),
        "AGE": base.age, "AGEU": "YEARS", "SEX": np.where(base.female, "F", "M"),
        "COUNTRY": base.country,
        "RFSTDTC": iso(randdt), "RFENDTC": iso(_dates(randdt, last_contact)),
        "DTHDTC": iso(_dates(randdt, death_record)), "DTHFL": np.where(died, "Y", np.array(None)),
        **strata, **traits, **flags, "NMETS": np.where(metastatic, base.nmets, 0),
        "SIMFL": "Y", "SIMSEED": seed})


def _phase_columns(protocol: Protocol, arms: np.ndarray,
                   treatment: TreatmentCourse) -> dict[str, np.ndarray]:
    """``CYCLES_<PHASE>`` (cycles given) and ``REDUCED_<PHASE>`` (a reduced dose in the phase)
    per phase of any arm (:func:`~oncotrial.simulate.estimates.phase_label`, upper case);
    0 and False for the arms without the phase."""
    n, width = treatment.given.shape
    first = treatment.given & (np.arange(width)[None, :] < treatment.first_phase_cycles[:, None])
    masks = (first, treatment.given & ~first)  # the delivery model's first and second phase
    reduced = treatment.dose_level > 0
    cycles: dict[str, np.ndarray] = {}
    reductions: dict[str, np.ndarray] = {}
    for code in [a.code for a in protocol.arms]:
        on = arms == code
        for phase, mask in zip(protocol.regimen(code).phases, masks, strict=False):
            key = phase_label(phase.name).upper()
            cycles.setdefault(key, np.zeros(n, dtype=np.int64))[on] = mask[on].sum(axis=1)
            reductions.setdefault(key, np.zeros(n, dtype=bool))[on] = (reduced & mask)[on].any(axis=1)
    return {**{f"CYCLES_{k}": v for k, v in cycles.items()},
            **{f"REDUCED_{k}": v for k, v in reductions.items()}}


def _truth(protocol: Protocol, usubjid: np.ndarray, arms: np.ndarray, labels: dict[str, str],
           strata: dict[str, np.ndarray], randdt: np.ndarray, course: DiseaseCourse,
           pd_day: np.ndarray, died: np.ndarray, death_record: np.ndarray, later: Subsequent,
           last_contact: np.ndarray, scan_day: np.ndarray, missed: np.ndarray, tumours: Tumours,
           treatment: TreatmentCourse, cause: np.ndarray) -> pd.DataFrame:
    death = np.where(died, death_record, np.inf)
    pd2 = np.where(np.isnan(later.second_progression_day), np.inf, later.second_progression_day)
    last_scan = np.nanmax(np.where(np.isnan(scan_day), -1.0, scan_day), axis=1)
    pfs_event = np.minimum(pd_day, death)
    pfs_cnsr = np.where(np.isfinite(pfs_event), 0, np.where(last_scan > 0, 2, 1))
    pfs_adt = np.where(pfs_cnsr == 0, pfs_event, np.where(pfs_cnsr == 2, last_scan, 0.0))
    pfs2_event = np.minimum(pd2, death)
    pfs2_adt = np.where(np.isfinite(pfs2_event), pfs2_event, last_contact)
    os_adt = np.where(died, death_record, last_contact)
    reasons = {v: k for k, v in vars(Reason).items() if isinstance(v, int)}

    def month(day: np.ndarray) -> np.ndarray:  # as ADTTE's AVALM: (ADT - STARTDT + 1) / 30.4375
        return (np.asarray(day, dtype=float) + 1.0) / DAYS_PER_MONTH

    return pd.DataFrame({
        "USUBJID": usubjid, "RANDSEQ": np.arange(1, len(usubjid) + 1), "ARMCD": arms,
        "ARM": [labels[a] for a in arms], **strata, "RANDDT": randdt,
        "PFS_LATENT": course.pfs, "PROGRESSION_LATENT": course.progression,
        "PD2_LATENT": course.second_progression, "DEATH_LATENT": course.death,
        "PDDT": _dates(randdt, pd_day), "DTHDT": _dates(randdt, death),
        "PD2DT": _dates(randdt, pd2), "LSTALVDT": _dates(randdt, last_contact),
        "PFS_ADT": _dates(randdt, pfs_adt), "PFS_CNSR": pfs_cnsr, "PFS_MONTHS": month(pfs_adt),
        "OS_ADT": _dates(randdt, os_adt), "OS_CNSR": np.where(died, 0, 5), "OS_MONTHS": month(os_adt),
        "PFS2_ADT": _dates(randdt, pfs2_adt), "PFS2_CNSR": np.where(np.isfinite(pfs2_event), 0, 5),
        "PFS2_MONTHS": month(pfs2_adt), "SCANS_MISSED": missed,
        "RESPONDER": tumours.responder, "BOR": tumours.bor, "PROGRESSION_BY": tumours.progression_by,
        "TREATED": treatment.treated, **_phase_columns(protocol, arms, treatment),
        "STOP_REASON": [reasons[int(r)] for r in treatment.stop_reason],
        "SURGERY": ~np.isnan(treatment.surgery_day),
        "SECOND_LINE": later.second_line, "THIRD_LINE": later.third_line,
        "DEATH_CAUSE": np.where(died, cause, ""),
    })
