"""The results paragraphs of the lay summary: each end point's medians and landmark rates
in words, whether a difference is beyond chance, and the comment on the outcome.

Whether a difference "is very unlikely to be due to chance" follows each end point's
analysis: its P value, one- or two-sided as the ARD's method says, against the design's
level; for the design's end point of a group-sequential design, whether the ARD says the
efficacy boundary of the look was crossed (the look's nominal level, not the overall
alpha), and the summary says that the results are those of an interim look. An end point
reported without a P value gets no such judgement, only its results and a sentence saying
that it was not tested, as planned.

Honest wording: the gap between two medians is the gap between two *middle* times, not a
gain of each person, and is never called "more months on average"; a median not reached is
said; every landmark rate of the ARD is reported, one that could not be estimated as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from oncotrial.protocol import Protocol
from oncotrial.report.lay_numbers import TracedNumbers, estimable
from oncotrial.report.lay_text import PLAIN_ENDPOINTS, PlainEndpoint

__all__ = ["comment", "endpoint_results", "sided"]


def _beyond_chance(p: Mapping[str, Any], hr: Mapping[str, Any] | None, sided: int, alpha: float,
                   design_sided: int) -> bool | None:
    """Whether the test of an end point is significant at the design's level, or None when
    a one-sided test cannot be judged (no hazard ratio to give its direction).

    The ARD's log-rank P is two-sided (a chi-square test) unless its method says
    "one-sided". ``alpha`` is the design's, one- or two-sided as ``design_sided`` says; a
    one-sided test asks whether the experimental arm is better (hazard ratio below 1), so
    its P is half the two-sided one in that direction and one minus that half against it.
    """
    one_sided_alpha = alpha if design_sided == 1 else alpha / 2
    given_one_sided = "one-sided" in str(p.get("method") or "")
    if sided == 2:
        two_sided = 2 * p["value"] if given_one_sided else p["value"]
        return bool(two_sided < 2 * one_sided_alpha)
    if given_one_sided:
        return bool(p["value"] < one_sided_alpha)
    if hr is None:
        return None
    one_sided = p["value"] / 2 if hr["value"] < 1 else 1 - p["value"] / 2
    return bool(one_sided < one_sided_alpha)


def _medians(n: TracedNumbers, plain: PlainEndpoint, endpoint: str, arms: Sequence[tuple[str, str]],
             unit: str) -> list[str]:
    """What the median of each group means, "not reached" said rather than left out, and
    the gap between two medians reached."""
    (control, a), (experimental, b) = arms
    first = n.record(table="efficacy", endpoint=endpoint, arm=control, statistic="median")
    second = n.record(table="efficacy", endpoint=endpoint, arm=experimental, statistic="median")
    if first is None or second is None:
        return []
    text = []
    for group, record in ((a, first), (b, second)):
        if not estimable(record):
            text.append(f"In group {group}, the median time was not reached: {plain.not_reached}.")
        elif record is second and estimable(first):
            text.append(f"In group {group}, this was {n.whole(record)} {unit}.")
        else:
            text.append(f"In group {group}, " + plain.median.format(t=f"{n.whole(record)} {unit}") + ".")
    if estimable(first) and estimable(second):
        gap = second["value"] - first["value"]
        if abs(gap) >= 0.5:  # at least one unit once rounded
            text.append(f"The median time was about {n.difference(first, second)} {unit} "
                        f"{'longer' if gap > 0 else 'shorter'} in group {b}. This does not mean that each person "
                        f"gained or lost that much time.")
    return text


def _rates(n: TracedNumbers, plain: PlainEndpoint, endpoint: str, arms: Sequence[tuple[str, str]],
           unit: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Every landmark rate of the end point, earliest first: a sentence and a table row
    each; a rate that could not be estimated (too few people followed that long) is said."""
    rates = n.records(table="efficacy", endpoint=endpoint, statistic="rate")
    text: list[str] = []
    rows: list[tuple[str, ...]] = []
    (control, a), (experimental, b) = arms
    for time in sorted(set(rates["time"].dropna())):
        r_a = n.record(table="efficacy", endpoint=endpoint, arm=control, statistic="rate", time=time)
        r_b = n.record(table="efficacy", endpoint=endpoint, arm=experimental, statistic="rate", time=time)
        if r_a is None or r_b is None:
            continue
        if estimable(r_a) and estimable(r_b):
            text.append(f"After {n.landmark(r_b, unit)}, {n.per_100(r_b)} of every 100 people in group {b} "
                        f"{plain.rate}. In group {a}, it was {n.per_100(r_a)} of every 100.")
        else:
            unknown = [g for g, r in ((a, r_a), (b, r_b)) if not estimable(r)]
            text.append(f"After {n.landmark(r_b, unit)}, how many people {plain.rate} is not known for group "
                        f"{' and group '.join(unknown)}: too few people were followed that long.")
        rows.append((f"{plain.row} after {n.landmark(r_b, unit)}", n.of_100(r_a) if estimable(r_a) else "not known",
                     n.of_100(r_b) if estimable(r_b) else "not known"))
    return text, rows


def _p_record(n: TracedNumbers, endpoint: str, experimental: str) -> dict[str, Any] | None:
    """The P of an end point's comparison (the log-rank or the score test), or None."""
    for statistic in ("logrank_p", "score_p"):
        record = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic=statistic)
        if record is not None:
            return record
    return None


def _verdict(n: TracedNumbers, endpoint: str, experimental: str, test: tuple[int, float, int]) -> bool | None:
    """Whether an end point's difference is beyond chance: the efficacy boundary of the look
    when the ARD has one (a group-sequential design), else the P against the design's
    level (:func:`_beyond_chance`); None when it cannot be judged."""
    crossed = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="boundary_crossed")
    if crossed is not None:
        return bool(crossed["value"] >= 0.5)
    p = _p_record(n, endpoint, experimental)
    if p is None:
        return None
    hr = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="hazard_ratio")
    return _beyond_chance(p, hr, *test)


def _interim_sentence(n: TracedNumbers, endpoint: str, experimental: str, looks: int) -> str | None:
    """That the results are those of an interim look of a group-sequential design with
    ``looks`` analyses (the ARD's ``look`` record before the last)."""
    look = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="look")
    if look is None or look["value"] >= looks:
        return None
    return (f"These results come from an early look at the data (look {n.count(look)} of "
            f"{n.protocol_count(looks, 'design.looks')}), planned before the trial began. The final results may "
            f"be different.")


def endpoint_results(n: TracedNumbers, endpoint: str, primary: bool, control: str, experimental: str,
                      groups: Mapping[str, str], unit: str, test: tuple[int, float, int], p_value: bool,
                      looks: int) -> tuple[str, list[tuple[str, ...]]]:
    """The paragraph and at-a-glance table rows of one end point (empty without its
    records). ``test``: the end point's sidedness, the design's alpha and sidedness;
    ``p_value``: whether its analysis reports a P value; ``looks``: the design's analyses."""
    plain = PLAIN_ENDPOINTS[endpoint]
    arms = [(control, groups[control]), (experimental, groups[experimental])]
    text = _medians(n, plain, endpoint, arms, unit)
    rates, rows = _rates(n, plain, endpoint, arms, unit)
    text += rates
    if not text:
        return "", rows
    interim = _interim_sentence(n, endpoint, experimental, looks)
    if not p_value:
        text.append("As planned before the trial, this difference was not tested to see if it could be due to "
                    "chance.")
    elif _p_record(n, endpoint, experimental) is not None:
        verdict = _verdict(n, endpoint, experimental, test)
        text.append("This difference is very unlikely to be due to chance." if verdict else
                    "This difference could be due to chance." if verdict is not None else
                    "Whether this difference could be due to chance cannot be said without the size of the "
                    "difference.")
    lead = "The main question was" if primary else "The trial also looked at"
    return f"{lead} {plain.question}. " + " ".join(text + ([interim] if interim else [])), rows


def sided(protocol: Protocol, name: str) -> int:
    """The sidedness of an end point's test: its protocol analysis (the design's for the
    primary end point, two-sided otherwise)."""
    return int(protocol.endpoint_analysis(name).sided or 2)

def comment(n: TracedNumbers, protocol: Protocol, control: str, experimental: str, groups: Mapping[str, str]) -> str:
    """What the primary comparison and the severe side effects mean together, without numbers."""
    primary = protocol.design.endpoint.upper()
    hr = n.find(table="efficacy", endpoint=primary, arm=experimental, statistic="hazard_ratio")
    b = groups[experimental]
    name = next((e.name for e in protocol.endpoints if e.name.upper() == primary), protocol.design.endpoint)
    if hr is None:
        return "This summary has no result for the main question of the trial."
    if not protocol.endpoint_analysis(name).p_value:
        return ("The trial reported how large the difference on its main question was, without testing it for "
                "chance, as planned.")
    verdict = _verdict(n, primary, experimental, (sided(protocol, name), protocol.design.alpha,
                                                   protocol.design.sided))
    if verdict is None:
        return "This summary has no result for the main question of the trial."
    look = n.find(table="efficacy", endpoint=primary, arm=experimental, statistic="look")
    early = look is not None and look["value"] < protocol.design.looks
    if not verdict and early:
        text = ("At this early look, the trial has not yet shown a clear difference between the groups on its "
                "main question. The trial goes on.")
    elif not verdict:
        text = "The trial did not show a clear difference between the groups on its main question."
    elif hr["value"] < 1 and primary in PLAIN_ENDPOINTS:
        text = (f"{'At this early look, people' if early else 'People'} in group {b} "
                f"{PLAIN_ENDPOINTS[primary].longer} for longer than people in group {groups[control]}.")
    elif hr["value"] < 1:
        text = f"People in group {b} did better on the main question of the trial."
    else:
        text = f"People in group {b} did worse on the main question of the trial."
    severe_a = n.find(table="adverse_events", arm=control, subgroup="grade34_any", statistic="grade34_any")
    severe_b = n.find(table="adverse_events", arm=experimental, subgroup="grade34_any", statistic="grade34_any")
    if severe_a is not None and severe_b is not None and severe_b["value"] > severe_a["value"]:
        text += " But they also had more severe side effects. Patients and doctors need to weigh both."
    return text
