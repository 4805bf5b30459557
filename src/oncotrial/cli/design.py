"""``oncotrial design ...``: sample size, power and group-sequential designs
(:mod:`oncotrial.design`), printed as text or JSON, with an optional power curve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from oncotrial.cli._output import check_output_file, console, print_json, reports_errors
from oncotrial.core.errors import InputError

__all__ = ["GROUP_SEQUENTIAL_FIELDS", "check_group_sequential", "design_app"]

design_app = typer.Typer(no_args_is_help=True, help="Sample size, power and group-sequential designs.")

#: the figure formats of ``--plot`` (matplotlib writes them without extra packages)
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

#: the library's argument names -> the options of the group-sequential commands
GROUP_SEQUENTIAL_FIELDS = {"k": "looks", "type": "spending", "allocation_ratio": "allocation",
                           "accrual_time": "accrual", "dropout_rate": "dropout"}


def check_group_sequential(looks: int, spending: str, *, gamma: float | None,
                           futility: str | None = None) -> None:
    """Options that the design would not use are refused rather than silently ignored:
    ``--gamma`` belongs to the Hwang-Shih-DeCani spending function of a group-sequential
    design, ``--futility`` to a design with interim looks. ``--looks`` below 1 is refused
    by :func:`oncotrial.design.group_sequential`, which the commands call for any
    ``--looks`` other than 1."""
    if gamma is not None and looks == 1:
        raise InputError("--gamma: only used by a group-sequential design (--looks 2 or more) "
                         "with --spending asHSD")
    if gamma is not None and spending != "asHSD":
        raise InputError(f"--gamma: only used with --spending asHSD (Hwang-Shih-DeCani), "
                         f"got --spending {spending}")
    if futility is not None and looks == 1:
        raise InputError("--futility: futility bounds need --looks 2 or more")


def _power_grid(hazard_ratio: float) -> Any:
    """Hazard ratios from a clearly larger effect than designed up to no effect."""
    import numpy as np

    if hazard_ratio < 1:
        return np.linspace(max(0.05, hazard_ratio * 0.6), 1.0, 81)
    return np.linspace(1.0, hazard_ratio * 1.4, 81)


#: defaults of ``design survival`` when the design is given by options, not a protocol
SURVIVAL_DEFAULTS: dict[str, Any] = {"alpha": 0.05, "sided": 2, "power": 0.8, "allocation": 1.0,
                                     "not_randomised": 0.0, "dropout": 0.0, "dropout_time": 12.0,
                                     "method": "schoenfeld", "rounding": "nearest", "looks": 1,
                                     "spending": "asOF"}


@design_app.command("survival")
@reports_errors(fields=GROUP_SEQUENTIAL_FIELDS)
def design_survival(
    median_control: Annotated[float | None, typer.Option(
        "--median-control", help="Median survival in the control arm.")] = None,
    accrual: Annotated[float | None, typer.Option("--accrual", help="Accrual duration (uniform accrual).")] = None,
    follow_up: Annotated[float | None, typer.Option(
        "--follow-up", help="Minimum follow-up after the last patient.")] = None,
    median_experimental: Annotated[float | None, typer.Option(
        "--median-experimental", help="Median survival in the experimental arm.")] = None,
    hazard_ratio: Annotated[float | None, typer.Option(
        "--hazard-ratio", help="Hazard ratio experimental:control (instead of --median-experimental).")] = None,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", help="Significance level (total, two-sided when --sided 2) [default: 0.05].")] = None,
    sided: Annotated[int | None, typer.Option("--sided", help="1 or 2 [default: 2].")] = None,
    power: Annotated[float | None, typer.Option("--power", help="Target power [default: 0.8].")] = None,
    allocation: Annotated[float | None, typer.Option(
        "--allocation", help="Allocation ratio experimental:control [default: 1].")] = None,
    not_randomised: Annotated[float | None, typer.Option(
        "--not-randomised", help="Fraction of enrolled patients not randomised [default: 0].")] = None,
    dropout: Annotated[float | None, typer.Option(
        "--dropout", help="Fraction lost to follow-up by --dropout-time (exponential) [default: 0].")] = None,
    dropout_time: Annotated[float | None, typer.Option(
        "--dropout-time", help="Time at which --dropout applies [default: 12].")] = None,
    method: Annotated[str | None, typer.Option(
        "--method", help="schoenfeld, freedman or hsieh-freedman [default: schoenfeld].")] = None,
    rounding: Annotated[str | None, typer.Option(
        "--rounding", help="Integer events: nearest or up [default: nearest].")] = None,
    looks: Annotated[int | None, typer.Option(
        "--looks", help="Number of analyses (1 = fixed design) [default: 1].")] = None,
    spending: Annotated[str | None, typer.Option(
        "--spending", help="Boundary type: asOF, asP, asHSD, OF or P [default: asOF].")] = None,
    gamma: Annotated[float | None, typer.Option(
        "--gamma", help="Gamma of the Hwang-Shih-DeCani spending function (--spending asHSD).")] = None,
    protocol: Annotated[str | None, typer.Option(
        "--protocol", help="Take the whole design from this protocol's design section "
                           "(bundled name or YAML file); the design options are then refused.")] = None,
    arm: Annotated[str | None, typer.Option(
        "--arm", help="With --protocol and several experimental arms: the arm compared with control.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the design as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Write power against hazard ratio to this PNG/SVG/PDF file.")] = None,
) -> None:
    """Events and patients for a two-arm time-to-event trial (log-rank test), from options
    or from a protocol's design section (--protocol)."""
    from oncotrial.design import group_sequential, survival_sample_size

    given = {"median_control": median_control, "accrual": accrual, "follow_up": follow_up,
             "median_experimental": median_experimental, "hazard_ratio": hazard_ratio,
             "alpha": alpha, "sided": sided, "power": power, "allocation": allocation,
             "not_randomised": not_randomised, "dropout": dropout, "dropout_time": dropout_time,
             "method": method, "rounding": rounding, "looks": looks, "spending": spending,
             "gamma": gamma}
    if plot is not None:
        check_output_file(plot, "--plot", PLOT_SUFFIXES)
    if protocol is not None:
        mixed = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
        if mixed:
            raise InputError(f"{mixed[0]}: the design comes from --protocol; change it in the "
                             f"protocol's design section instead of mixing options")
        from oncotrial.cli.protocol import load_protocol
        from oncotrial.design.protocol_design import protocol_design

        proto = load_protocol(protocol)
        result = protocol_design(proto, arm)
    else:
        if arm is not None:
            raise InputError("--arm: only used with --protocol")
        missing = [f"--{k.replace('_', '-')}" for k in ("median_control", "accrual", "follow_up")
                   if given[k] is None]
        if missing:
            raise InputError(f"{missing[0]}: required (or give --protocol)")
        v: dict[str, Any] = {k: SURVIVAL_DEFAULTS[k] if x is None and k in SURVIVAL_DEFAULTS
                             else x for k, x in given.items()}
        check_group_sequential(v["looks"], v["spending"], gamma=gamma)
        common: dict[str, Any] = dict(
            median_control=median_control, median_experimental=median_experimental,
            hazard_ratio=hazard_ratio, allocation_ratio=v["allocation"], accrual_time=accrual,
            follow_up=follow_up, dropout_rate=v["dropout"], dropout_time=v["dropout_time"],
            not_randomised=v["not_randomised"], method=v["method"], rounding=v["rounding"])
        if v["looks"] != 1:
            gsd = group_sequential(v["looks"], alpha=v["alpha"], sided=v["sided"],
                                   beta=1 - v["power"], type=v["spending"], gamma=gamma)
            result = survival_sample_size(**common, design=gsd)
        else:
            result = survival_sample_size(**common, alpha=v["alpha"], sided=v["sided"],
                                          power=v["power"])
    if plot is not None:
        from oncotrial.design import survival_power
        from oncotrial.report.figures import power_curve_figure

        grid = _power_grid(result.hazard_ratio)
        curve = survival_power(events=result.events, median_control=result.median_control,
                               hazard_ratio=grid, alpha=result.alpha, sided=result.sided,
                               allocation_ratio=result.allocation_ratio, method=result.method)
        power_curve_figure(grid, curve.power, plot, design_hazard_ratio=result.hazard_ratio,
                           target_power=result.power,
                           subtitle=f"{result.events} events, {result.method.capitalize()}, "
                                    f"{'two' if result.sided == 2 else 'one'}-sided alpha "
                                    f"{result.alpha:g}")
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(str(result), markup=False, highlight=False, soft_wrap=True)
    if plot is not None and not as_json:
        console.print(f"power curve written to {plot}", highlight=False)
