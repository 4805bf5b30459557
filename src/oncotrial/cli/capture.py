"""``oncotrial db lock``, ``db unlock`` and ``export sdtm``: the database lock at a data
cut-off and the SDTM export of the captured data, for whoever holds the database
(:mod:`oncotrial.server.services.locking`, :mod:`~oncotrial.server.services.exports`).

The commands act as ``cli`` in the audit trail, as the other database commands do. The
export of a blinded trial is masked (no arm columns, no arm-specific treatment names)
unless ``--unblinded`` is given, for the unblinded statistician's own copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncotrial.cli._output import check_output_dir, console, iso_date, print_json, reports_errors
from oncotrial.cli.server import (
    OPTION_FIELDS,
    DatabaseUrl,
    database_errors,
    dispose_factory,
    server_settings,
    session_factory,
)
from oncotrial.core.errors import InputError

__all__ = ["db_lock", "db_unlock", "export_app", "export_sdtm"]

export_app = typer.Typer(no_args_is_help=True, help="Export the captured data.")

_OPTIONS = {**OPTION_FIELDS, "cutoff": "cutoff", "reason": "reason"}


@reports_errors(fields=_OPTIONS)
@database_errors
def db_lock(
    cutoff: Annotated[str, typer.Option("--cutoff", help="Data cut-off date (YYYY-MM-DD).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the SDTM export made at the lock into this directory "
                      "(unmasked).")] = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the lock as JSON.")] = False,
) -> None:
    """Lock the database at a data cut-off: records dated up to it are frozen, and the
    SHA-256 of their SDTM export is recorded in the audit trail."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.services import exports, locking

    day = iso_date(cutoff, "--cutoff")
    if out is not None:
        check_output_dir(out, "--out")
    factory = session_factory(server_settings(database_url))
    try:
        with write_transaction(factory) as session:
            view = locking.lock(session, None, day)
        if out is not None:
            with factory() as session:
                export = exports.build_export(session, exports.only_trial_id(session),
                                              cutoff=day, masked=False)
            export.write(out)
    finally:
        dispose_factory(factory)
    if as_json:
        print_json(view.to_dict())
        return
    console.print(f"database locked at the cut-off {view.cutoff}: {view.records} records "
                  f"frozen, export SHA-256 {view.export_sha256}", highlight=False, markup=False,
                  soft_wrap=True)


@reports_errors(fields=_OPTIONS)
@database_errors
def db_unlock(
    reason: Annotated[str, typer.Option("--reason", help="Why the database is unlocked.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Lift the database lock (the reason is recorded in the audit trail)."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.services import locking

    factory = session_factory(server_settings(database_url))
    try:
        with write_transaction(factory) as session:
            view = locking.unlock(session, None, reason=reason)
    finally:
        dispose_factory(factory)
    console.print(f"database unlocked (lock at the cut-off {view.cutoff}): {view.unlock_reason}",
                  highlight=False, markup=False, soft_wrap=True)


@export_app.command("sdtm")
@reports_errors(fields=_OPTIONS)
@database_errors
def export_sdtm(
    out: Annotated[Path, typer.Option("--out", help="Directory for the CSV files (dm.csv...).")],
    cutoff: Annotated[str | None, typer.Option(
        "--cutoff", help="Only data dated up to this date (YYYY-MM-DD).")] = None,
    unblinded: Annotated[bool, typer.Option(
        "--unblinded", help="Blinded trial: keep the arm columns (the unblinded "
                            "statistician's copy).")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Export the captured data as SDTM CSV files (one per domain) and print the export's
    SHA-256; `oncotrial derive --sdtm DIR` reads them."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.services import exports

    day = iso_date(cutoff, "--cutoff")
    check_output_dir(out, "--out")
    factory = session_factory(server_settings(database_url))
    try:
        with write_transaction(factory) as session:
            export = exports.export_database(session, cutoff=day, unblinded=unblinded)
    finally:
        dispose_factory(factory)
    if not export.files:
        raise InputError("--database-url: the database holds no captured data to export")
    export.write(out)
    masked = " (masked)" if export.masked else ""
    console.print(f"wrote {len(export.files)} SDTM files{masked} to {out}; SHA-256 "
                  f"{export.sha256}", highlight=False, markup=False, soft_wrap=True)
