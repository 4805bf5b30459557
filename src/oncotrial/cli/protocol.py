"""``oncotrial protocol show|check`` and ``oncotrial dose``: a protocol file summarised,
validated, and its regimens turned into one patient's doses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from oncotrial.cli._output import console, err_console, reports_errors
from oncotrial.core.errors import InputError

__all__ = ["dose", "load_protocol", "protocol_app"]

protocol_app = typer.Typer(no_args_is_help=True, help="Protocol files: show and check.")


def load_protocol(name_or_path: str) -> Any:
    """A bundled protocol by name or a protocol YAML file (``oncotrial.protocol`` is
    imported here, by the commands that need it, not when the command line starts)."""
    from oncotrial.protocol import Protocol

    return Protocol.load(name_or_path)


@protocol_app.command("show")
@reports_errors
def protocol_show(
    protocol: Annotated[str, typer.Argument(help="Bundled protocol name (e.g. lms04) or a YAML file.")],
) -> None:
    """Summarise a protocol: arms, strata, randomisation, eligibility, regimens, schedule, design."""
    proto = load_protocol(protocol)
    d = proto.to_dict()
    console.print(f"[bold]{escape(d['id'])}[/] ({escape(d.get('registry') or 'no registry id')}): "
                  f"{escape(d['title'])}", highlight=False)
    arms = Table(title="Arms", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("code", "label", "ratio"):
        arms.add_column(col)
    for arm in proto.arms:
        arms.add_row(arm.code, arm.label, str(arm.ratio))
    console.print(arms)
    console.print("Stratification: " + "; ".join(f"{f.name} ({', '.join(f.levels)})" for f in proto.stratification),
                  highlight=False, soft_wrap=True, markup=False)
    r = d["randomisation"]
    console.print(f"Randomisation: {r['method']}"
                  + (f", block sizes {r['block_sizes']}" if r.get("block_sizes") else ""),
                  highlight=False, markup=False)
    elig = Table(title="Eligibility", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("id", "kind", "criterion"):
        elig.add_column(col)
    for rule in d["eligibility"]:
        elig.add_row(str(rule["id"]), str(rule.get("kind", "")), str(rule["text"]))
    console.print(elig)
    reg = Table(title="Regimens (per cycle)", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("arm", "phase", "drug", "dose", "route", "days", "cycle", "max cycles"):
        reg.add_column(col)
    for arm_code, phases in d["regimens"].items():
        for phase in ("induction", "maintenance"):
            spec = phases.get(phase)
            if not spec:
                continue
            for drug in [*spec["drugs"], *spec.get("supportive_care", [])]:
                reg.add_row(arm_code, phase, drug["drug"], f"{drug['dose']:g} {drug['unit']}", drug["route"],
                            ",".join(str(x) for x in drug["days"]), f"{spec['cycle_length_days']} d",
                            str(spec["max_cycles"]))
    console.print(reg)
    console.print("Design: " + ", ".join(f"{k}={v}" for k, v in proto.design_inputs().items()),
                  highlight=False, soft_wrap=True, markup=False)
    console.print(f"Analysis convention: {d['analysis'].get('convention')}", highlight=False, markup=False)


@protocol_app.command("check")
@reports_errors
def protocol_check(
    path: Annotated[Path, typer.Argument(help="Protocol YAML file.")],
) -> None:
    """Validate a protocol file; list every error with its field path (exit code 1 on errors)."""
    from oncotrial.protocol import protocol_errors

    errors = protocol_errors(path)
    if errors:
        for line in errors:
            err_console.print(f"[red]✗[/] {escape(line)}", highlight=False, soft_wrap=True)
        err_console.print(f"{len(errors)} error(s) in {escape(str(path))}", highlight=False)
        raise typer.Exit(code=1)
    console.print(f"{path}: valid", highlight=False, markup=False)


@reports_errors(fields={"method": "bsa_method"})
def dose(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    arm: Annotated[str, typer.Option("--arm", help="Arm code, e.g. DOXTRAB.")],
    height_cm: Annotated[float, typer.Option("--height-cm", help="Height in cm.")],
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Weight in kg.")],
    phase: Annotated[str | None, typer.Option(
        "--phase", help="induction or maintenance (default: every phase of the arm).")] = None,
    dose_level: Annotated[int, typer.Option("--dose-level", help="0 = full dose, -1, -2 = reduction levels.")] = 0,
    bsa_cap: Annotated[float | None, typer.Option("--bsa-cap", help="Cap on body-surface area (m2).")] = None,
    bsa_method: Annotated[str, typer.Option("--bsa-method", help="mosteller or dubois.")] = "mosteller",
) -> None:
    """Each drug's dose per cycle for a patient (body-surface area from height and weight)."""
    proto = load_protocol(protocol)
    phases = [phase] if phase else [p for p in ("induction", "maintenance")
                                    if proto.to_dict()["regimens"].get(arm, {}).get(p)]
    if not phases:
        raise InputError(f"--arm: unknown arm {arm!r}; arms are {[a.code for a in proto.arms]}")
    bsa = proto.body_surface_area(height_cm, weight_kg, method=bsa_method)
    rows = {p: proto.doses(arm, p, height_cm=height_cm, weight_kg=weight_kg, dose_level=dose_level,
                           bsa_cap=bsa_cap, bsa_method=bsa_method) for p in phases}
    capped = f", capped at {bsa_cap:g}" if bsa_cap is not None and bsa > bsa_cap else ""
    console.print(f"Body-surface area ({bsa_method}): {bsa:.2f} m2{capped}; dose level {dose_level}",
                  highlight=False, markup=False)
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("phase", "drug", "dose", "prescribed", "route", "days", "infusion"):
        table.add_column(col)
    for p, items in rows.items():
        for r in items:
            infusion = "" if not r.infusion_minutes else "–".join(f"{m:g}" for m in r.infusion_minutes) + " min"
            table.add_row(p, r.drug + (" (support)" if r.supportive else ""), f"{r.dose:g} {r.unit}",
                          r.prescribed, r.route, ",".join(str(d) for d in r.days), infusion)
    console.print(table)
