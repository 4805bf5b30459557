"""The ``oncotrial`` command line.

Thin by design: it reads files, calls the library and renders the result; every number
comes from the library. One module per command group (:mod:`~oncotrial.cli.survival`,
:mod:`~oncotrial.cli.design`, :mod:`~oncotrial.cli.protocol`,
:mod:`~oncotrial.cli.randomise`, :mod:`~oncotrial.cli.clinical`,
:mod:`~oncotrial.cli.report`, :mod:`~oncotrial.cli.simulate`, :mod:`~oncotrial.cli.server`,
:mod:`~oncotrial.cli.capture`);
this module only assembles them into :data:`app`. Errors print as one line on stderr and exit with status 2
for bad input, 1 for a run that failed (:mod:`~oncotrial.cli._output`).

Importing the command line imports no statistics, plotting or simulation code: each
command imports what it needs when it runs, so ``oncotrial --version`` and the small
commands start fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from oncotrial import __version__
from oncotrial.cli._output import console
from oncotrial.cli.capture import db_lock, db_unlock, export_app
from oncotrial.cli.clinical import derive
from oncotrial.cli.design import design_app
from oncotrial.cli.protocol import dose, protocol_app
from oncotrial.cli.randomise import randomise_app
from oncotrial.cli.report import analyze, demo
from oncotrial.cli.server import audit_app, db_app, serve, trial_app, users_app
from oncotrial.cli.simulate import simulate_app
from oncotrial.cli.survival import datasets_app, survival

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Design, randomise, run and analyse randomised oncology trials.")
app.command()(survival)
app.add_typer(datasets_app, name="datasets")
app.add_typer(design_app, name="design")
app.add_typer(protocol_app, name="protocol")
app.add_typer(randomise_app, name="randomise")
app.command()(dose)
app.command()(derive)
app.add_typer(simulate_app, name="simulate")
app.command()(analyze)
app.command()(demo)
app.command()(serve)
app.add_typer(db_app, name="db")
app.add_typer(trial_app, name="trial")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")
db_app.command("lock")(db_lock)
db_app.command("unlock")(db_unlock)


def _version(value: bool) -> None:
    if value:
        console.print(f"oncotrial {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """oncotrial: design, randomise, run and analyse randomised oncology trials."""
