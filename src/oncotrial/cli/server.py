"""``oncotrial serve``, ``db``, ``trial``, ``users`` and ``audit``: run and administer the
randomisation web service (:mod:`oncotrial.server`, installed with the ``server`` extra).

Every command takes ``--database-url`` (default ``$ONCOTRIAL_DATABASE_URL``, else
``sqlite:///oncotrial.db`` in the working directory); moving to PostgreSQL is that one
option (``postgresql://user:password@host/db``). ``serve`` and ``trial init`` migrate an
empty database themselves; a database at an older schema revision is migrated only by
``oncotrial db upgrade``, after a backup. On PostgreSQL the migrations run as the schema
owner (``--migration-url``, or ``db upgrade --database-url OWNER_URL --app-role APP``,
which also grants the application's role its rights: no UPDATE or DELETE on the audit
trail).

Commands run by the command line are recorded in the audit trail as done by ``cli``.
The server modules (SQLAlchemy, FastAPI) are imported inside the commands, so that
``oncotrial --version`` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from oncotrial.cli._output import (
    EXIT_FAILED,
    check_output_file,
    console,
    fail,
    iso_date,
    print_json,
    reports_errors,
)
from oncotrial.core.errors import InputError, OncotrialError

__all__ = ["OPTION_FIELDS", "DatabaseUrl", "audit_app", "database_errors", "db_app",
           "dispose_factory", "serve", "server_settings", "session_factory", "trial_app",
           "users_app"]

db_app = typer.Typer(no_args_is_help=True, help="Database schema, backup and restore.")
trial_app = typer.Typer(no_args_is_help=True, help="Set up the trial in the database.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts and roles.")
audit_app = typer.Typer(no_args_is_help=True, help="Verify and export the audit trail.")

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", help="Database URL [default: $ONCOTRIAL_DATABASE_URL or "
                           "sqlite:///oncotrial.db].", show_default=False)]
MigrationUrl = Annotated[str | None, typer.Option(
    "--migration-url", help="PostgreSQL: the schema owner's URL, for migrations [default: "
                            "$ONCOTRIAL_MIGRATION_URL or the --database-url].",
    show_default=False)]

#: the library's field names in its errors -> the options of these commands, so that a bad
#: value is reported against the option it came from (``password`` -> ``--password-stdin``)
OPTION_FIELDS = {"database_url": "database_url", "migration_url": "migration_url",
                 "site": "site", "username": "username", "role": "role",
                 "password": "password_stdin", "app_role": "app_role", "protocol": "protocol",
                 "out": "out", "from": "source", "format": "fmt"}


F = TypeVar("F", bound=Callable[..., Any])


def database_errors(command: F) -> F:
    """A database that cannot be reached or refuses a statement is a failed run reported in
    one line (SQLAlchemy's errors are not the library's own)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            if not type(exc).__module__.startswith("sqlalchemy"):
                raise
            cause = getattr(exc, "orig", None) or exc
            first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            raise OncotrialError(f"database error: {first}") from exc

    return run  # type: ignore[return-value]


def server_settings(database_url: str | None, migration_url: str | None = None) -> Any:
    """The service's settings from the environment, with the command's database URLs."""
    from oncotrial.server.settings import Settings

    return Settings.from_env(database_url=database_url, migration_url=migration_url)


def _shown(url: str) -> str:
    from oncotrial.server.db.session import normalise_url

    return normalise_url(url).render_as_string(hide_password=True)


def session_factory(settings: Any) -> Any:
    """Sessions on the database, which must exist and be at this version's schema."""
    from oncotrial.server.db.session import make_engine, make_session_factory, normalise_url
    from oncotrial.server.db.upgrade import current_revision, head_revision

    url = normalise_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).is_file():
        raise InputError(f"--database-url: no database file {url.database}; create the trial "
                         "with `oncotrial trial init` first")
    revision = current_revision(url)
    if revision is None:
        raise InputError(f"--database-url: {_shown(settings.database_url)} holds no oncotrial "
                         "schema; create the trial with `oncotrial trial init` first")
    if revision != head_revision():
        raise InputError(f"--database-url: {_shown(settings.database_url)} is at schema "
                         f"revision {revision}, this version needs {head_revision()}; back it "
                         "up, then run `oncotrial db upgrade`")
    return make_session_factory(make_engine(url))


def dispose_factory(factory: Any) -> None:
    """Close the connections of a :func:`session_factory`."""
    factory.kw["bind"].dispose()


def _password(from_stdin: bool, username: str) -> str:
    """The new user's password: one line of standard input, or typed twice at a prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: standard input is empty; expected the password "
                             "on one line")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("--password-stdin: no terminal to prompt for the password; pass it "
                         "on standard input with --password-stdin")
    return str(typer.prompt(f"password for {username}", hide_input=True,
                            confirmation_prompt=True))


# ----------------------------------------------------------------------------- serve

@reports_errors(fields=OPTION_FIELDS)
@database_errors
def serve(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file of "
                                                             "the trial this server runs.")],
    database_url: DatabaseUrl = None,
    migration_url: MigrationUrl = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help=(
        "Server processes sharing the database (allocations stay serialised by the "
        "database's locks)."))] = 1,
) -> None:
    """Run the randomisation web service (API at /api, schema at /openapi.json)."""
    from oncotrial.protocol import Protocol

    settings = server_settings(database_url, migration_url)
    Protocol.load(protocol)  # a bad protocol is a one-line error before anything starts
    try:
        import uvicorn

        from oncotrial.server.app import create_app
    except ImportError as exc:  # pragma: no cover - depends on the installation
        fail(f"the web service needs the server extra: pip install 'oncotrial[server]' "
             f"({exc.name} is missing)", EXIT_FAILED)
    shown = (f"oncotrial serving {protocol} on http://{host}:{port} (database "
             f"{_shown(settings.database_url)}{f', {workers} processes' if workers > 1 else ''})")
    if workers == 1:
        app = create_app(settings, protocol=protocol)
        console.print(shown, highlight=False, markup=False, soft_wrap=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    # each worker process builds the app from the environment
    create_app(settings, protocol=protocol)  # migrate and verify once, errors before forking
    os.environ.update({"ONCOTRIAL_DATABASE_URL": settings.database_url,
                       "ONCOTRIAL_PROTOCOL": str(protocol)})
    if settings.migration_url:
        os.environ["ONCOTRIAL_MIGRATION_URL"] = settings.migration_url
    console.print(shown, highlight=False, markup=False, soft_wrap=True)
    uvicorn.run("oncotrial.server.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


# ----------------------------------------------------------------------------- db

@db_app.command("upgrade")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def db_upgrade(
    database_url: DatabaseUrl = None,
    app_role: Annotated[str | None, typer.Option(
        "--app-role", help="PostgreSQL: grant this role the application's rights (SELECT and "
                           "INSERT only on the audit trail).")] = None,
) -> None:
    """Migrate the database to this version's schema (run it as the schema owner)."""
    from oncotrial.server.db.upgrade import upgrade

    settings = server_settings(database_url)
    revision = upgrade(settings.owner_url, app_role=app_role)
    granted = f"; rights granted to {app_role}" if app_role else ""
    console.print(f"database {_shown(settings.owner_url)} at schema revision {revision}{granted}",
                  highlight=False, markup=False, soft_wrap=True)


@db_app.command("backup")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def db_backup(
    out: Annotated[Path, typer.Option("--out", help="Backup file to write (must not exist).")],
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Back up the database while the service runs (SQLite online backup; pg_dump)."""
    from oncotrial.server.services.backup import backup

    check_output_file(out, "--out")
    if out.exists():
        raise InputError(f"--out: {out} exists; a backup never overwrites a file")
    result = backup(server_settings(database_url).database_url, out)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"wrote {result.path} ({result.bytes:,} bytes, SHA-256 {result.sha256}); "
                  f"audit trail: {result.audit_records} records, head {result.audit_head_hash}",
                  highlight=False, markup=False, soft_wrap=True)


@db_app.command("restore")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def db_restore(
    source: Annotated[Path, typer.Option("--from", help="Backup file written by db backup.")],
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replace the database by a backup (stop the service first), then verify its audit
    trail; exit status 1 if it does not verify."""
    from oncotrial.server.services.backup import restore

    settings = server_settings(database_url)
    result = restore(settings.owner_url, source)
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(f"restored {result.source} into {result.database}; audit trail: "
                      f"{result.audit.records} records", highlight=False, markup=False, soft_wrap=True)
    if not result.audit.ok:
        fail(f"the restored audit trail does not verify: {result.audit.problems[0]}",
             EXIT_FAILED)


# ----------------------------------------------------------------------------- trial

@trial_app.command("init")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def trial_init(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name or YAML file.")],
    site: Annotated[list[str], typer.Option(
        "--site", help="A site as CODE:NAME or CODE:NAME:COUNTRY (repeat for each site).")],
    admin: Annotated[str, typer.Option("--admin", help="Username of the first admin.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the admin's password from standard input.")] = False,
    database_url: DatabaseUrl = None,
    migration_url: MigrationUrl = None,
) -> None:
    """Create the trial (its protocol and SHA-256), its sites and the first admin;
    migrates an empty database first."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.db.upgrade import ensure_schema
    from oncotrial.server.services import accounts

    sites = [accounts.parse_site(text) for text in site]
    password = _password(password_stdin, admin)
    settings = server_settings(database_url, migration_url)
    ensure_schema(settings.owner_url)
    factory = session_factory(settings)
    try:
        with write_transaction(factory) as session:
            trial = accounts.init_trial(session, protocol, sites=sites, admin_username=admin,
                                        admin_password=password, settings=settings)
            code, digest = trial.code, trial.protocol_sha256
    finally:
        dispose_factory(factory)
    console.print(f"trial {code} set up with {len(sites)} site(s) and admin {admin} "
                  f"(protocol SHA-256 {digest})", highlight=False, markup=False, soft_wrap=True)


# ----------------------------------------------------------------------------- users

@users_app.command("add")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def users_add(
    username: Annotated[str, typer.Argument(metavar="USER", help="Username.")],
    role: Annotated[str, typer.Option(
        "--role", help="admin, investigator, data_manager, monitor or unblinded_statistician.")],
    site: Annotated[str | None, typer.Option(
        "--site", help="Site code (investigators only).")] = None,
    full_name: Annotated[str, typer.Option("--full-name", help="The person's name.")] = "",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
    trial: Annotated[str | None, typer.Option(
        "--trial", help="Trial code [default: the database's only trial].")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user with one role in the trial."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.services import accounts

    settings = server_settings(database_url)
    password = _password(password_stdin, username)
    factory = session_factory(settings)
    try:
        with write_transaction(factory) as session:
            view = accounts.add_user(session, None, username, password, role, site_code=site,
                                     full_name=full_name, trial_code=trial, settings=settings)
    finally:
        dispose_factory(factory)
    where = f" at site {view.site}" if view.site else ""
    console.print(f"added {view.username} as {view.role}{where}", highlight=False, markup=False, soft_wrap=True)


@users_app.command("disable")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def users_disable(
    username: Annotated[str, typer.Argument(metavar="USER", help="Username.")],
    trial: Annotated[str | None, typer.Option(
        "--trial", help="Trial code [default: the database's only trial].")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Disable an account: no more logins; its sessions and API tokens are revoked."""
    from oncotrial.server.db.session import write_transaction
    from oncotrial.server.services import accounts

    factory = session_factory(server_settings(database_url))
    try:
        with write_transaction(factory) as session:
            accounts.disable_user(session, None, username, trial_code=trial)
    finally:
        dispose_factory(factory)
    console.print(f"disabled {username}", highlight=False, markup=False, soft_wrap=True)


# ----------------------------------------------------------------------------- audit

@audit_app.command("verify")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def audit_verify(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute the audit trail's hash chain; exit status 1 when any record was edited,
    deleted, inserted or reordered (the problems are listed)."""
    from oncotrial.server.services import audit

    factory = session_factory(server_settings(database_url))
    try:
        with factory() as session:
            result = audit.verify(session)
    finally:
        dispose_factory(factory)
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        console.print(f"audit trail verified: {result.records} records, head "
                      f"{result.head_hash}", highlight=False, markup=False, soft_wrap=True)
    else:
        for problem in result.problems:
            console.print(problem, highlight=False, markup=False, soft_wrap=True)
    if not result.ok:
        fail(f"the audit trail does not verify: {len(result.problems)} problem(s), first: "
             f"{result.problems[0]}", EXIT_FAILED)


@audit_app.command("export")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .json).")],
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv or json [default: from the --out extension].")] = None,
    subject: Annotated[str | None, typer.Option(
        "--entity-id", help="Only records about this subject, user or other entity.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only records by this user.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only records from this date (YYYY-MM-DD, UTC) on.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Only records before this date (YYYY-MM-DD, UTC).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export the audit trail (all of it, or filtered) to CSV (one row per changed field)
    or JSON."""
    import datetime as dt

    from oncotrial.server.services import audit

    def moment(text: str | None, option: str) -> dt.datetime | None:
        day = iso_date(text, option)
        return None if day is None else dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    chosen = fmt if fmt is not None else out.suffix.lower().lstrip(".")
    if chosen not in ("csv", "json"):
        raise InputError(f"--format: expected csv or json, got {chosen!r}" if fmt is not None
                         else f"--out: cannot tell the format from {out.name!r}; name a .csv "
                              f"or .json file or give --format")
    check_output_file(out, "--out")
    factory = session_factory(server_settings(database_url))
    try:
        with factory() as session:
            count = audit.export(session, out, chosen, entity_id=subject, username=user,
                                 since=moment(since, "--since"), until=moment(until, "--until"))
    finally:
        dispose_factory(factory)
    console.print(f"wrote {count} audit records to {out}", highlight=False, markup=False, soft_wrap=True)


@audit_app.command("unblindings")
@reports_errors(fields=OPTION_FIELDS)
@database_errors
def audit_unblindings(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The emergency unblindings: when, who (user, role, site), which subject and why
    (from the audit trail; never the arm)."""
    from oncotrial.server.services import audit

    factory = session_factory(server_settings(database_url))
    try:
        with factory() as session:
            rows = audit.list_records(session, action="unblind")
    finally:
        dispose_factory(factory)
    report = [{"at": r["at"], "username": r["username"], "role": r["role"],
               "site_id": r["site_id"], "subject": r["entity_id"], "reason": r["reason"],
               "request_id": r["request_id"]} for r in rows]
    if as_json:
        print_json(report)
        return
    if not report:
        console.print("no emergency unblindings", highlight=False, markup=False, soft_wrap=True)
    for r in report:
        console.print(f"{r['at']}  subject {r['subject']}  by {r['username']} ({r['role']})  "
                      f"reason: {r['reason']}", highlight=False, markup=False, soft_wrap=True)
