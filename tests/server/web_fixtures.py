"""Support of the page tests (imported by name): the app with the pages mounted as the
application factory will mount them, a live trial, and a logged-in browser-like client
(cookies kept, CSRF token read from the page like a browser submits it)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from randomisation_fixtures import FAST, PASSWORD, TrialDB, build_trial, eligible

from oncotrial.server.app import create_app
from oncotrial.server.settings import Settings

__all__ = ["PASSWORD", "SEED", "Page", "WebWorld", "build_web_world", "csrf_of", "web_app"]

SEED = 3_301_944_211_853_606_117

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def web_app(settings: Settings) -> FastAPI:
    """:func:`create_app`, which mounts the pages and their static files."""
    app = create_app(settings)
    assert any(getattr(r, "name", None) == "static" for r in app.routes), "pages not mounted"
    return app


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


@dataclasses.dataclass
class Page:
    """A client with its own cookie jar: one browser."""

    client: TestClient

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kw)

    def post(self, path: str, data: dict[str, Any], *, csrf_from: str | None = None,
             csrf: str | None = None) -> httpx.Response:
        """POST a form with the CSRF token of page ``csrf_from`` (default: the same path)."""
        if csrf is None:
            csrf = csrf_of(self.get(csrf_from or path).text)
        return self.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


@dataclasses.dataclass
class WebWorld:
    db: TrialDB
    settings: Settings
    app: FastAPI
    randomised: dict[str, list[str]]
    registered: dict[str, list[str]]

    def browser(self) -> Page:
        return Page(TestClient(self.app, raise_server_exceptions=False,
                               base_url="http://testserver"))

    def login(self, username: str | None, password: str = PASSWORD) -> Page:
        page = self.browser()
        if username is not None:
            response = page.post("/login", {"username": username, "password": password})
            assert response.status_code == 303, response.text
        return page

    def close(self) -> None:
        self.db.dispose()


def build_web_world(url: str, protocol: str, *, owner_url: str | None = None,
                    live: bool = True, randomise_per_site: int = 1,
                    register_per_site: int = 1) -> WebWorld:
    """A trial at ``url`` with sites S01 and S02 (live unless ``live`` is False), a few
    subjects randomised and registered at each, and the app with the pages."""
    db = build_trial(url, protocol, n_sites=2)
    randomised: dict[str, list[str]] = {}
    registered: dict[str, list[str]] = {}
    if live:
        db.go_live(per_stratum=12 if db.protocol == "gastric" and "blinded" in protocol else None,
                   seed=SEED)
    for site in db.sites:
        for i in range(randomise_per_site if live else 0):
            view = db.register(site, factors(i))
            db.randomise(view.code, site)
            randomised.setdefault(site, []).append(view.code)
        for i in range(register_per_site):
            view = db.register(site, factors(i))
            registered.setdefault(site, []).append(view.code)
    settings = Settings(database_url=url, migration_url=owner_url, **FAST)
    return WebWorld(db, settings, web_app(settings), randomised, registered)


def factors(i: int) -> dict[str, Any]:
    return {"region": ("asia", "rest_of_world")[i % 2], "ecog": i % 2, "pd_l1_cps_class": 2}


def register_form(i: int = 0, **changes: Any) -> dict[str, str]:
    """A filled registration form (gastric protocols) of an eligible patient."""
    data = eligible("gastric", factors(i))
    text = {f"eligibility.{k}": ("yes" if v is True else "no" if v is False else str(v))
            for k, v in data.items()}
    text.update({f"eligibility.{k}": v for k, v in changes.items()})
    return text
