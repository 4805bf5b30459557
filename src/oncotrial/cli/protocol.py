"""``oncotrial protocol show|check`` and ``oncotrial dose``: a protocol file summarised,
validated, and its regimens turned into one patient's doses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from oncotrial.cli._output import console, err_console, reports_errors
from oncotrial.core.errors import InputError

__all__ = ["dose", "load_protocol", "protocol_app"]

protocol_app = typer.Typer(no_args_is_help=True, help="Protocol files: show and check.")


#: help of every command argument or option naming a protocol
PROTOCOL_HELP = "Bundled protocol name (e.g. gastric_example) or a protocol YAML file."


def load_protocol(name_or_path: str) -> Any:
    """A bundled protocol by name or a protocol YAML file, the one loader of the commands
    that take a protocol (``oncotrial.protocol`` is imported here, by the commands that
    need it, not when the command line starts)."""
    from oncotrial.protocol import Protocol

    return Protocol.load(name_or_path)


@protocol_app.command("show")
@reports_errors
def protocol_show(
    protocol: Annotated[str, typer.Argument(help=PROTOCOL_HELP)],
) -> None:
    """Print every section of a protocol: arms, strata, randomisation, eligibility, regimens,
    assessments, end points and their analyses, design, analysis conventions, safety."""
    proto = load_protocol(protocol)
    d = proto.to_dict()

    def line(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True, markup=False)

    def table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]]) -> None:
        out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for col in columns:
            out.add_column(col)
        for row in rows:
            out.add_row(*(escape(cell) for cell in row))
        console.print(out)

    console.print(f"[bold]{escape(d['id'])}[/] ({escape(d.get('registry') or 'no registry id')}): "
                  f"{escape(d['title'])}", highlight=False)
    if d.get("note"):
        line(f"Note: {d['note']}")
    table("Arms", ("code", "label", "ratio", "role"),
          [(a.code, a.label, str(a.ratio), a.role) for a in proto.arms])
    table("Stratification", ("factor", "label", "levels"),
          [(f.name, f.label or "", ", ".join(
              f"{lv}" + (f" ({f.label_of(lv)})" if f.label_of(lv) != str(lv) else "")
              for lv in f.levels)) for f in proto.stratification])
    r = d["randomisation"]
    settings = {k: v for k, v in r.items() if k not in ("method", "system")}
    line(f"Randomisation: {r['method']}" + (f" ({r['system']})" if r.get("system") else "")
         + "".join(f"; {k}: {_plain(v)}" for k, v in settings.items()))
    table("Eligibility", ("id", "kind", "criterion"),
          [(str(rule["id"]), str(rule.get("kind", "")), str(rule["text"])) for rule in d["eligibility"]])
    rows = []
    for arm_code, regimen in proto.regimens.items():
        for spec in regimen.phases:
            for drug in [*spec.drugs, *spec.supportive_care]:
                often = f" x{drug.times_per_day}/day" if drug.times_per_day > 1 else ""
                rows.append((arm_code, spec.name, drug.drug, f"{drug.dose:g} {drug.unit}{often}",
                             drug.route, _days(drug.days),
                             f"{spec.cycle_length_days} d",
                             str(spec.max_cycles) if spec.max_cycles else "until progression"))
    table("Regimens (per cycle)", ("arm", "phase", "drug", "dose", "route", "days", "cycle",
                                   "max cycles"), rows)
    a = d["assessments"]
    table(f"Assessments ({a.get('criteria', '')}"
          + (", central review" if a.get("central_review") else "") + ")",
          ("segment", "every", "until"),
          [(seg.get("label", ""), _plain(seg.get("every")),
            _plain(seg.get("until") or seg.get("until_time") or seg.get("for") or "end of follow-up"))
           for seg in a.get("segments", [])])
    line("Stop at: " + ", ".join(a.get("stop_at", [])) + "; response rules: "
         + _plain(a.get("response", {})))
    table("End points", ("name", "role", "definition", "analysis"),
          [(e["name"], e["role"], e["definition"], _analysis_text(proto, e))
           for e in d["endpoints"]])
    line("Design: " + _plain(d["design"]))
    line("Analysis: " + _plain(d["analysis"]))
    meddra = d["adverse_events"].get("meddra_version")
    line(f"Adverse events: CTCAE v{d['adverse_events']['ctcae_version']}"
         + (f", MedDRA v{meddra}" if meddra else "") + f"; window: {d['adverse_events']['window']}")
    line(f"Safety population: {d['safety_population']['text']} "
         f"(at least {d['safety_population']['min_cycles']} cycle(s))")
    line("Plausible body measurements: " + _plain(d["dosing"]))
    reporting = {k: v for k, v in d.get("reporting", {}).items() if v}
    if reporting:
        line("Reporting: " + "; ".join(
            f"{k}: {len(v) if isinstance(v, (list, dict)) else v}"
            + (" entries" if isinstance(v, (list, dict)) else "") for k, v in reporting.items()))


def _days(days: list[int]) -> str:
    """Cycle days as runs: ``[1, 2, 3, 8]`` as ``1-3, 8``."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _plain(value: object) -> str:
    """A nested section as ``key value, key value`` text, lists as ``a/b``."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "/".join(_plain(v) for v in value)
    return str(value)


def _analysis_text(proto: Any, endpoint: dict[str, Any]) -> str:
    """How an end point is analysed, from the protocol (defaults filled in)."""
    if endpoint.get("kind") != "time_to_event":
        return endpoint.get("kind", "")
    a = proto.endpoint_analysis(endpoint["name"])
    p = f"{a.test}, {a.sided}-sided P" if a.p_value else "estimates with CI only"
    landmarks = f"; landmarks {'/'.join(f'{t:g}' for t in a.landmarks)}" if a.landmarks else ""
    return f"HR from {a.model}; {p}; {a.conf_level:.0%} CI{landmarks}"


@protocol_app.command("schema")
@reports_errors
def protocol_schema(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the reference page "
                                           "(docs/protocol-reference.md) instead of the JSON Schema.")] = False,
) -> None:
    """Print the JSON Schema of protocol files, or the reference page in Markdown."""
    import json

    if markdown:
        from oncotrial.protocol.reference import reference_markdown

        print(reference_markdown())
        return
    from oncotrial.protocol import Protocol

    print(json.dumps(Protocol.model_json_schema(by_alias=True), indent=2))


@protocol_app.command("check")
@reports_errors
def protocol_check(
    protocol: Annotated[str, typer.Argument(help=PROTOCOL_HELP)],
) -> None:
    """Validate a protocol; list every error with its field path (exit code 1 on errors)."""
    from oncotrial.protocol import ProtocolError

    try:
        proto = load_protocol(protocol)
    except ProtocolError as exc:
        for line in exc.errors:
            err_console.print(f"[red]✗[/] {escape(line)}", highlight=False, soft_wrap=True)
        err_console.print(f"{len(exc.errors)} error(s) in {escape(protocol)}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(f"{protocol}: valid ({proto.id})", highlight=False, markup=False)


def _dose_levels(values: list[str]) -> int | dict[str, int]:
    """``--dose-level -1`` (every drug) or repeated ``--dose-level DRUG=LEVEL``."""
    if not values:
        return 0
    plain = [v for v in values if "=" not in v]
    if plain and len(values) > 1:
        raise InputError("--dose-level: give one level for every drug (--dose-level -1) or "
                         "DRUG=LEVEL pairs (--dose-level capecitabine=-1), not both")
    try:
        if plain:
            return int(plain[0])
        pairs = [v.split("=", 1) for v in values]
        return {name.strip(): int(level) for name, level in pairs}
    except ValueError:
        raise InputError(f"--dose-level: expected a level (0, -1, -2...) or DRUG=LEVEL, "
                         f"got {' '.join(values)!r}") from None


@reports_errors(fields={"method": "bsa_method"})
def dose(
    protocol: Annotated[str, typer.Option("--protocol", help=PROTOCOL_HELP)],
    arm: Annotated[str, typer.Option("--arm", help="Arm code of the protocol.")],
    height_cm: Annotated[float, typer.Option("--height-cm", help="Height in cm.")],
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Weight in kg.")],
    phase: Annotated[str | None, typer.Option(
        "--phase", help="A phase of the arm (default: every phase of the arm).")] = None,
    dose_level: Annotated[list[str] | None, typer.Option(
        "--dose-level", help="0 = full dose, -1, -2 = reduction levels: one level for every drug "
                             "(--dose-level -1) or, repeated, DRUG=LEVEL (--dose-level oxaliplatin=-1).")] = None,
    bsa_cap: Annotated[float | None, typer.Option("--bsa-cap", help="Cap on body-surface area (m2).")] = None,
    bsa_method: Annotated[str, typer.Option("--bsa-method", help="mosteller or dubois.")] = "mosteller",
) -> None:
    """Each drug's dose per administration for a patient (body-surface area from height and
    weight), with tablets for oral drugs and how often it is given."""
    proto = load_protocol(protocol)
    regimen = proto.regimen(arm)
    phases = [regimen.phase(phase).name] if phase else regimen.phase_names
    levels = _dose_levels(dose_level or [])
    if isinstance(levels, dict):
        drugs = {d.drug for p in phases for d in regimen.phase(p).drugs}
        unknown = sorted(set(levels) - drugs)
        if unknown:
            raise InputError(f"--dose-level: {', '.join(unknown)} is not a drug of {arm} "
                             f"({', '.join(sorted(drugs))})")
    bsa = proto.body_surface_area(height_cm, weight_kg, method=bsa_method)
    rows = {}
    for p in phases:
        given = {d.drug for d in regimen.phase(p).drugs}
        level = ({k: v for k, v in levels.items() if k in given} if isinstance(levels, dict)
                 else levels)
        rows[p] = proto.doses(arm, p, height_cm=height_cm, weight_kg=weight_kg, dose_level=level,
                              bsa_cap=bsa_cap, bsa_method=bsa_method)
    capped = f", capped at {bsa_cap:g}" if bsa_cap is not None and bsa > bsa_cap else ""
    shown = str(levels) if isinstance(levels, int) else ", ".join(f"{k} {v}" for k, v in levels.items())
    console.print(f"Body-surface area ({bsa_method}): {bsa:.2f} m2{capped}; dose level {shown}",
                  highlight=False, markup=False)
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("phase", "drug", "dose", "prescribed", "route", "infusion"):
        table.add_column(col)
    for p, items in rows.items():
        for r in items:
            infusion = "" if not r.infusion_minutes else "–".join(f"{m:g}" for m in r.infusion_minutes) + " min"
            suffix = f" (level {r.level})" if r.level else ""
            table.add_row(p, r.drug + (" (support)" if r.supportive else ""), r.describe(),
                          r.prescribed + suffix, r.route, infusion)
    console.print(table)
