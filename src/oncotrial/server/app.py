"""The FastAPI application: routers, the request-id middleware and the one place where
errors become HTTP answers.

The mapping follows the library's error model: bad input (``InputError`` or a request
that does not validate) is a 422 whose ``detail`` names the field, a refused allocation
(``AllocationError``) a 409, a retry-able conflict (``ConcurrencyConflict``) a 409 with
``Retry-After``, a forbidden action (``PermissionDenied``) a 403 — or a 404 when the
action is about a subject the caller may not see, so that a site cannot learn which
subject codes exist at another site. Anything else is a defect: the client gets a 500
with a generic body and the request id, the traceback goes to the server log only.

``create_app`` prepares the database before it returns: an empty database is migrated to
the current schema (one at an older revision is refused: migrating is a deliberate
``oncotrial db upgrade``), and the trial's randomisation list and protocol are verified
against their recorded SHA-256, so a tampered list or protocol is reported at start; the
randomisation service verifies them again before every allocation and refuses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oncotrial import __version__
from oncotrial.errors import (
    AllocationError,
    ConcurrencyConflict,
    InputError,
    OncotrialError,
    PermissionDenied,
)
from oncotrial.server import web
from oncotrial.server.api.deps import new_request_id
from oncotrial.server.api.routes import ROUTERS
from oncotrial.server.settings import Settings

__all__ = ["RETRY_AFTER_SECONDS", "create_app", "error_response"]

log = logging.getLogger("oncotrial.server")

#: what a client waits before retrying after a ConcurrencyConflict
RETRY_AFTER_SECONDS = 1


def _loc(field: str | None) -> list[str]:
    return ["body", *field.split(".")] if field else ["body"]


def error_response(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) of an error, the one mapping of the whole service."""
    if isinstance(exc, InputError):
        issues = getattr(exc, "issues", None)
        if issues:  # a form: one entry per field
            return 422, {"detail": [{"loc": _loc(f"data.{i.field}"), "msg": f"{i.field}: {i.message}",
                                     "type": "input_error"} for i in issues]}, {}
        return 422, {"detail": [{"loc": _loc(exc.field), "msg": str(exc),
                                 "type": "input_error"}]}, {}
    if isinstance(exc, ConcurrencyConflict):
        return 409, {"detail": str(exc) or "conflict, retry"}, {
            "Retry-After": str(RETRY_AFTER_SECONDS)}
    if isinstance(exc, AllocationError):
        return 409, {"detail": str(exc)}, {}
    if isinstance(exc, PermissionDenied):
        if getattr(exc, "not_found", False):
            return 404, {"detail": "not found"}, {}
        return 403, {"detail": str(exc) or "forbidden"}, {}
    return 500, {"detail": "internal server error"}, {}


async def _oncotrial_error(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = error_response(exc)
    if status == 500:
        log.error("unexpected %s (request %s)", type(exc).__name__,
                  getattr(request.state, "request_id", "?"), exc_info=exc)
    return JSONResponse(body, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "invalid")),
               "type": str(e.get("type", "value_error"))} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                        headers=dict(exc.headers or {}))


class RequestIdMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if plain, else a new one),
    echoes it in the response, and turns an exception that escaped every handler into a
    generic 500 that carries the id but no internal text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id":
                offered = value.decode("latin-1")
        rid = new_request_id(offered)
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", ())
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.error("unexpected %s (request %s)", type(exc).__name__, rid, exc_info=exc)
            if started:
                raise
            body = json.dumps({"detail": "internal server error", "request_id": rid}).encode()
            await send_with_id({"type": "http.response.start", "status": 500,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
            await send_with_id({"type": "http.response.body", "body": body})


def _prepare_database(settings: Settings, factory: Any, trial_code: str | None) -> None:
    """Migrate an empty database; verify the trial's list and protocol against their
    SHA-256 and log a failure as critical (the service keeps answering reads and refuses
    every randomisation, with the same message)."""
    from oncotrial.server.db import upgrade
    from oncotrial.server.services import accounts, sealing

    upgrade.ensure_schema(settings.owner_url)
    with factory() as session:
        try:
            trial = accounts.find_trial(session, trial_code)
        except InputError:
            return  # no trial yet (before `oncotrial trial init`)
        try:
            sealing.verify(session, trial.id)
        except AllocationError as exc:
            log.critical("trial %s: randomisation refused: %s", trial.code, exc)


def create_app(settings: Settings | None = None,
               protocol: str | Path | None = None) -> FastAPI:
    """The service for one trial: the trial of ``protocol`` (a protocol file or bundled
    name; its ``id`` is the trial code; default ``settings.protocol``), or the only trial of
    the database."""
    import anyio.to_thread

    from oncotrial.server.db.session import make_engine, make_session_factory

    settings = settings or Settings.from_env()
    protocol = protocol if protocol is not None else settings.protocol
    trial_code = None
    if protocol is not None:
        from oncotrial.protocol import Protocol

        trial_code = Protocol.load(protocol).id
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    _prepare_database(settings, factory, trial_code)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the routes are plain functions, run in the thread pool of the event loop
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        engine.dispose()

    app = FastAPI(title="oncotrial IWRS", version=__version__, lifespan=lifespan,
                  description="Randomisation web service: sites, roles, concealed atomic "
                              "allocation, emergency unblinding, tamper-evident audit.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.trial_code = trial_code
    for router in ROUTERS:
        app.include_router(router, prefix="/api")
    # the browser pages: the same services and permissions as the API, not in its schema
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.add_exception_handler(OncotrialError, _oncotrial_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(RequestIdMiddleware)
    return app
