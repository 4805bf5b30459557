"""Templates, the page context, and the one place where errors become pages.

:class:`PageRoute` is the route class of every page: a missing or expired session becomes a
redirect to the login form, a refused CSRF token or a forbidden action a 403 page, a
subject the caller may not see a 404 page (the answer for a code that does not exist, as
in the API), and a refused randomisation or bad input that a page did not handle itself a
409 or 422 page. Anything else is a defect and reaches the application's handler (a
generic 500 with the request id).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import AllocationError, ConcurrencyConflict, InputError, PermissionDenied
from oncotrial.server.security import PERMISSIONS, Principal
from oncotrial.server.web.forms import field_id
from oncotrial.server.web.session import CsrfRefused, LoginRequired, clear_session

__all__ = ["STATIC_DIR", "PageRoute", "may", "render", "templates"]

_HERE = Path(__file__).resolve().parent
STATIC_DIR = _HERE / "static"
templates = Jinja2Templates(directory=str(_HERE / "templates"))


def may(principal: Principal | None, action: str) -> bool:
    """Whether the role may perform ``action`` (:data:`PERMISSIONS`): used only to decide
    what a page offers; the services enforce the same table on every call."""
    return principal is not None and principal.role in PERMISSIONS[action]


templates.env.globals["may"] = may
templates.env.globals["field_id"] = field_id
templates.env.globals["pairs"] = lambda choices: [(str(c["value"]), c["label"]) for c in choices or ()]


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           principal: Principal | None = None, status_code: int = 200) -> Response:
    """Render template ``name`` with the caller, the CSRF token and ``context``."""
    values = {"principal": principal or getattr(request.state, "principal", None),
              "csrf": getattr(request.state, "csrf", ""), "errors": {}, **(context or {})}
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"status": status, "title": title, "message": message},
                  status_code=status)


class PageRoute(APIRoute):
    """An HTML page: errors raised by its dependencies or its service calls become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                response = RedirectResponse(exc.next_path, status_code=303)
                clear_session(response, request)
                return response
            except CsrfRefused:
                return error_page(request, 403, "Form refused",
                                  "The form was not sent by this site's page or your session "
                                  "changed. Open the page again and resubmit.")
            except PermissionDenied as exc:
                if getattr(exc, "not_found", False):
                    return error_page(request, 404, "Not found",
                                      "There is no such record at your site(s).")
                return error_page(request, 403, "Not allowed", str(exc) or "forbidden")
            except ConcurrencyConflict:
                return error_page(request, 409, "Busy",
                                  "The service was busy with another request. Go back and "
                                  "submit again: nothing was saved twice.")
            except AllocationError as exc:
                return error_page(request, 409, "Refused", str(exc))
            except InputError as exc:
                return error_page(request, 422, "Not accepted", str(exc))

        return page
