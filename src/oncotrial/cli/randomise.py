"""``oncotrial randomise list|allocate|replay|assess``: the sealed permuted-block list of a
protocol, one allocation at a time against a state file, the replay that checks a state,
and the Monte-Carlo comparison of randomisation methods (:mod:`oncotrial.randomise`).

``allocate`` is the command-line counterpart of the allocation service: it reads the state
file (a new trial when it does not exist), calls the pure
:func:`oncotrial.randomise.allocate` and replaces the file atomically (a temporary file in
the same folder, then a rename), so an interrupted run leaves the previous state intact.
It is meant for one operator at a time: two concurrent runs on one state file would race.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from oncotrial.cli._output import (
    EXIT_FAILED,
    check_output_file,
    console,
    err_console,
    fail,
    print_json,
    reports_errors,
)
from oncotrial.cli.protocol import load_protocol
from oncotrial.core.errors import InputError

__all__ = ["randomise_app"]

randomise_app = typer.Typer(no_args_is_help=True,
                            help="Randomisation lists, allocation, replay and assessment.")

#: library argument names -> the options of allocate/replay
_ALLOCATION_FIELDS = {"stratum": "factor", "subject": "subject", "seed": "seed", "state": "state",
                      "per_stratum": "allocation_list", "method": "protocol"}


def _method(proto: Any) -> str:
    return str(proto.randomisation.method)


def _sample_size(proto: Any, option: str) -> int:
    """Patients randomised in the protocol's design, for a default of ``option``."""
    if getattr(proto, "design", None) is None:
        raise InputError(f"{option}: protocol {proto.id} has no design section to take the "
                         f"sample size from; give {option}")
    from oncotrial.design import group_sequential, survival_sample_size

    inputs = proto.design_inputs()
    looks = proto.group_sequential_inputs()
    if looks is not None:  # the group-sequential design carries alpha, sidedness and power
        inputs = {k: v for k, v in inputs.items() if k not in ("alpha", "sided", "power")}
        inputs["design"] = group_sequential(**looks)
    return int(survival_sample_size(**inputs).subjects)


@randomise_app.command("list")
@reports_errors
def randomise_list(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the list (keep it sealed).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    per_stratum: Annotated[int | None, typer.Option(
        "--per-stratum", help="Allocations per stratum [default: the design's sample size, so "
                              "that no stratum can run out].")] = None,
) -> None:
    """Generate the stratified permuted-block list (the protocol's block sizes) and print its SHA-256."""
    from oncotrial.randomise import generate_list

    check_output_file(out, "--out")
    proto = load_protocol(protocol)
    if _method(proto) != "blocks":
        raise InputError(f"--protocol: {proto.id} randomises by {_method(proto)}, which has no "
                         f"allocation list; allocate each patient with 'oncotrial randomise "
                         f"allocate'")
    n = per_stratum if per_stratum is not None else _sample_size(proto, "--per-stratum")
    lst = generate_list(proto, seed, n)
    lst.write_csv(out)
    console.print(f"wrote {len(lst.frame):,} allocations ({lst.algorithm_version}, seed {seed}, "
                  f"{n} per stratum) to {out}", highlight=False, markup=False)
    console.print(f"SHA-256 {lst.sha256}", highlight=False)


def _parse_factors(values: list[str]) -> dict[str, str]:
    stratum: dict[str, str] = {}
    for item in values:
        name, sep, level = item.partition("=")
        name, level = name.strip(), level.strip()
        if not sep or not name or not level:
            raise InputError(f"--factor: expected FACTOR=LEVEL, got {item!r}")
        if name in stratum:
            raise InputError(f"--factor: factor {name!r} is given twice")
        stratum[name] = level
    return stratum


def _read_state(path: Path, proto: Any, must_exist: bool) -> Any:
    from oncotrial.randomise import AllocationState

    if not path.exists():
        if must_exist:
            raise InputError(f"--state: {path} does not exist")
        return AllocationState.initial(proto)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"--state: {path} is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"--state: {path} does not hold an allocation state")
    if data.get("protocol", proto.id) != proto.id:
        raise InputError(f"--state: {path} belongs to protocol {data['protocol']!r}, not {proto.id!r}")
    return AllocationState.from_dict(data)


def _write_state(path: Path, proto: Any, state: Any) -> None:
    """Write the state to a temporary file next to ``path``, then rename it over ``path``."""
    text = json.dumps({"protocol": proto.id, **state.to_dict()}, indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _seed_and_list(proto: Any, seed: int | None, allocation_list: Path | None) -> tuple[int, int | None]:
    """The seed, and the list length per stratum when a sealed list is given."""
    if allocation_list is None:
        if seed is None:
            raise InputError("--seed: required (the seed of this trial's allocations)"
                             + (", or give --list" if _method(proto) == "blocks" else ""))
        return seed, None
    from oncotrial.randomise import read_list_csv

    if _method(proto) != "blocks":
        raise InputError(f"--list: {proto.id} randomises by {_method(proto)}, which has no "
                         f"allocation list")
    lst = read_list_csv(allocation_list, proto)
    if sorted(lst.config["block_sizes"]) != sorted(set(proto.randomisation.block_sizes)):
        raise InputError(f"--list: {allocation_list} has block sizes {lst.config['block_sizes']}, "
                         f"the protocol {list(proto.randomisation.block_sizes)}")
    if seed is not None and seed != lst.seed:
        raise InputError(f"--seed: {seed} is not the seed of the list {allocation_list}")
    return lst.seed, int(lst.config["per_stratum"])


@randomise_app.command("allocate")
@reports_errors(fields=_ALLOCATION_FIELDS)
def randomise_allocate(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    state: Annotated[Path, typer.Option("--state", help="State file (JSON); created if missing.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject identifier.")],
    factor: Annotated[list[str], typer.Option(
        "--factor", help="Stratification value FACTOR=LEVEL (repeat for each factor).")] = [],  # noqa: B006
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the trial's allocations (with --list: the list's).")] = None,
    allocation_list: Annotated[Path | None, typer.Option(
        "--list", help="Sealed list (blocks): checked, and its length is the limit per stratum.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the allocation as JSON.")] = False,
) -> None:
    """Allocate one patient (any method) and update the state file atomically."""
    from oncotrial.randomise import allocate

    check_output_file(state, "--state")
    proto = load_protocol(protocol)
    seed_value, per_stratum = _seed_and_list(proto, seed, allocation_list)
    current = _read_state(state, proto, must_exist=False)
    arm, new = allocate(current, _parse_factors(factor), protocol=proto, seed=seed_value,
                        subject=subject, per_stratum=per_stratum)
    _write_state(state, proto, new)
    _, label, _ = new.allocations[-1]
    if as_json:
        print_json({"subject": subject, "arm": arm, "allocation": new.counter, "stratum": label,
                    "method": new.method, "state": str(state)})
        return
    console.print(f"{subject}: {arm} (allocation {new.counter}, {new.method}, stratum "
                  f"{label or 'unstratified'})", highlight=False, markup=False)


@randomise_app.command("replay")
@reports_errors(fields=_ALLOCATION_FIELDS)
def randomise_replay(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    state: Annotated[Path, typer.Option("--state", help="State file written by allocate.")],
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the allocations; without it (and --list) only the bookkeeping "
                       "is checked.")] = None,
    allocation_list: Annotated[Path | None, typer.Option(
        "--list", help="Sealed list (blocks): its seed, and its length as the limit.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the replay as JSON.")] = False,
) -> None:
    """Re-run every stored allocation; exit 1 at the first that does not reproduce."""
    from oncotrial.randomise import replay_state

    proto = load_protocol(protocol)
    per_stratum = None
    if seed is not None or allocation_list is not None:
        seed, per_stratum = _seed_and_list(proto, seed, allocation_list)
    result = replay_state(_read_state(state, proto, must_exist=True), proto, seed,
                          per_stratum=per_stratum)
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title=f"{proto.id}: {result.n_allocations} allocation(s), {result.method}"
                            + ("" if result.seeded else " (no seed: bookkeeping only)"),
                      title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("#", "subject", "stratum", "arm", "replayed", "problem"):
            table.add_column(col, justify="right" if col == "#" else "left")
        for r in result.table.itertuples(index=False):
            table.add_row(str(r.allocation), r.subject or "", r.stratum, r.arm, r.replayed or "",
                          r.problem)
        console.print(table)
    if not result.ok:
        fail(f"{state}: {len(result.problems)} problem(s); first: {result.problems[0]}", EXIT_FAILED)
    if not as_json:
        console.print(f"all {result.n_allocations} allocation(s) "
                      + ("reproduced from the seed" if result.seeded else "consistent with the state"),
                      highlight=False, markup=False)


def _parse_prevalences(values: list[str]) -> dict[str, dict[str, float]]:
    """``factor=level:share,...`` items, or a YAML/JSON file ``{factor: {level: share}}``."""
    out: dict[str, dict[str, float]] = {}
    for value in values:
        path = Path(value)
        if path.suffix.lower() in (".yaml", ".yml", ".json"):
            import yaml

            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise InputError(f"--prevalence: {path} is not YAML/JSON: {exc}") from None
            if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                raise InputError(f"--prevalence: {path} must map factor -> {{level: share}}")
            for name, levels in data.items():
                out.setdefault(str(name), {}).update({str(k): v for k, v in levels.items()})
            continue
        for item in value.split(","):
            name, sep, rest = item.partition("=")
            level, colon, share = rest.rpartition(":")
            try:
                number = float(share)
            except ValueError:
                number = None
            if not sep or not colon or not name.strip() or not level.strip() or number is None:
                raise InputError(f"--prevalence: expected FACTOR=LEVEL:SHARE (e.g. ecog=0:0.6), "
                                 f"got {item!r}")
            out.setdefault(name.strip(), {})[level.strip()] = number
    return out


def _fmt(x: float) -> str:
    """A ratio-adjusted imbalance (a multiple of 1/sum(r)): an integer when it is one,
    otherwise one decimal."""
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


@randomise_app.command("assess")
@reports_errors(fields={"method": "method", "n_patients": "n", "n_sims": "sims",
                        "prevalences": "prevalence", "stratum_probabilities": "prevalence"})
def randomise_assess(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    n: Annotated[int | None, typer.Option(
        "--n", help="Patients per simulated trial [default: the design's sample size].")] = None,
    sims: Annotated[int, typer.Option("--sims", help="Number of simulated trials.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulation.")] = 2017,
    method: Annotated[list[str], typer.Option(
        "--method", help="Method spec (repeatable), e.g. blocks:2,4,6, minimisation:p=0.8, "
                         "simple [default: block sizes scaled to the ratio, minimisation, "
                         "simple].")] = [],  # noqa: B006
    prevalence: Annotated[list[str], typer.Option(
        "--prevalence", help="Level prevalences FACTOR=LEVEL:SHARE[,...] or a YAML/JSON file "
                             "{factor: {level: share}}; they replace the protocol's shares of "
                             "each factor they name [default: the protocol's stratification "
                             "prevalence, else equal shares].")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Monte-Carlo imbalance and predictability (convergence-strategy guessing) per method."""
    from rich.progress import Progress

    from oncotrial.randomise import assess, probabilities_from_prevalences

    proto = load_protocol(protocol)
    n_patients = n if n is not None else _sample_size(proto, "--n")
    probs = None
    if prevalence:
        # a factor named on the command line replaces the protocol's shares of that factor
        # only; the others keep the protocol's (not equal shares, which would silently
        # contradict the protocol)
        declared = {str(f.name): dict(f.prevalence) for f in proto.stratification if f.prevalence}
        probs = probabilities_from_prevalences(proto, {**declared, **_parse_prevalences(prevalence)})
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("simulating", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = assess(proto, tuple(method) or None, n_patients, sims, seed,
                        stratum_probabilities=probs, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    ratio = ":".join(str(a.ratio) for a in proto.arms)
    table = Table(title=f"{proto.id} ({ratio}): {sims:,} simulated trials of {n_patients} patients "
                        f"(seed {seed})", title_justify="left", box=box.SIMPLE_HEAD,
                  caption="Imbalance: range over arms of n_k - N r_k / sum(r) (|n_A - n_B| for 1:1): "
                          "mean / 95th percentile / max. Predictability: share of allocations "
                          "guessed right by a site that guesses the arm furthest below its target "
                          "share in the stratum; fixed: always guessing the largest arm; excess: "
                          "predictability - fixed (negative: guessing from the history does worse "
                          "than always guessing the largest arm).",
                  caption_justify="left")
    for col in ("method", "overall", "per stratum", "per factor level", "predictability",
                "fixed", "excess"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in result.table.itertuples(index=False):
        table.add_row(str(r.method),
                      *(f"{getattr(r, k + '_mean'):.1f} / {_fmt(getattr(r, k + '_p95'))} / "
                        f"{_fmt(getattr(r, k + '_max'))}" for k in ("overall", "stratum", "level")),
                      f"{r.predictability:.3f}", f"{r.fixed_guess:.3f}",
                      f"{r.excess_over_fixed_guess:+.3f}")
    console.print(table)
