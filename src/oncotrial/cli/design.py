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


@design_app.command("survival")
@reports_errors(fields=GROUP_SEQUENTIAL_FIELDS)
def design_survival(
    median_control: Annotated[float, typer.Option("--median-control", help="Median survival in the control arm.")],
    accrual: Annotated[float, typer.Option("--accrual", help="Accrual duration (uniform accrual).")],
    follow_up: Annotated[float, typer.Option("--follow-up", help="Minimum follow-up after the last patient.")],
    median_experimental: Annotated[float | None, typer.Option(
        "--median-experimental", help="Median survival in the experimental arm.")] = None,
    hazard_ratio: Annotated[float | None, typer.Option(
        "--hazard-ratio", help="Hazard ratio experimental:control (instead of --median-experimental).")] = None,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Significance level (total, two-sided when --sided 2).")] = 0.05,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 2,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    allocation: Annotated[float, typer.Option("--allocation", help="Allocation ratio experimental:control.")] = 1.0,
    not_randomised: Annotated[float, typer.Option(
        "--not-randomised", help="Fraction of enrolled patients not randomised.")] = 0.0,
    dropout: Annotated[float, typer.Option(
        "--dropout", help="Fraction lost to follow-up by --dropout-time (exponential).")] = 0.0,
    dropout_time: Annotated[float, typer.Option("--dropout-time", help="Time at which --dropout applies.")] = 12.0,
    method: Annotated[str, typer.Option("--method", help="schoenfeld, freedman or hsieh-freedman.")] = "schoenfeld",
    rounding: Annotated[str, typer.Option("--rounding", help="Integer events: nearest or up.")] = "nearest",
    looks: Annotated[int, typer.Option("--looks", help="Number of analyses (1 = fixed design).")] = 1,
    spending: Annotated[str, typer.Option("--spending", help="Boundary type: asOF, asP, asHSD, OF or P.")] = "asOF",
    gamma: Annotated[float | None, typer.Option(
        "--gamma", help="Gamma of the Hwang-Shih-DeCani spending function (--spending asHSD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the design as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Write power against hazard ratio to this PNG/SVG/PDF file.")] = None,
) -> None:
    """Events and patients for a two-arm time-to-event trial (log-rank test)."""
    from oncotrial.design import group_sequential, survival_sample_size

    if plot is not None:
        check_output_file(plot, "--plot", PLOT_SUFFIXES)
    check_group_sequential(looks, spending, gamma=gamma)
    common: dict[str, Any] = dict(median_control=median_control, median_experimental=median_experimental,
                  hazard_ratio=hazard_ratio, allocation_ratio=allocation, accrual_time=accrual,
                  follow_up=follow_up, dropout_rate=dropout, dropout_time=dropout_time,
                  not_randomised=not_randomised, method=method, rounding=rounding)
    if looks != 1:
        gsd = group_sequential(looks, alpha=alpha, sided=sided, beta=1 - power, type=spending, gamma=gamma)
        result = survival_sample_size(**common, design=gsd)
    else:
        result = survival_sample_size(**common, alpha=alpha, sided=sided, power=power)
    if plot is not None:
        from oncotrial.design import survival_power
        from oncotrial.report.figures import power_curve_figure

        grid = _power_grid(result.hazard_ratio)
        curve = survival_power(events=result.events, median_control=median_control, hazard_ratio=grid,
                               alpha=alpha, sided=sided, allocation_ratio=allocation, method=method)
        power_curve_figure(grid, curve.power, plot, design_hazard_ratio=result.hazard_ratio,
                           target_power=power,
                           subtitle=f"{result.events} events, {method.capitalize()}, "
                                    f"{'two' if sided == 2 else 'one'}-sided alpha {alpha:g}")
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(str(result), markup=False, highlight=False, soft_wrap=True)
    if plot is not None and not as_json:
        console.print(f"power curve written to {plot}", highlight=False)
