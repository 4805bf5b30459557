"""The pages over TestClient, on SQLite and PostgreSQL: login and sessions, CSRF refusal,
the registration form (field errors, eligibility reasons, nothing saved), randomising with
the password asked again, and every page and form walked with every role: the same
PERMISSIONS and site scope as the API (403 page, 404 page for another site's subject), no
arm, seed or future kit number for a blinded role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from randomisation_fixtures import BLINDED, PASSWORD
from sqlalchemy import func, select
from web_fixtures import SEED, WebWorld, build_web_world, csrf_of, register_form

from oncotrial.server.db.models import Allocation, ListSlot, Subject, UserSession
from oncotrial.server.security import PERMISSIONS
from oncotrial.server.web.pages import ROUTERS
from oncotrial.server.web.session import SESSION_COOKIE

USERS = {"admin": "admin", "investigator": "inv-S01", "investigator_b": "inv-S02",
         "data_manager": "dm", "monitor": "monitor", "unblinded_statistician": "stat"}


@pytest.fixture
def world(database) -> Iterator[WebWorld]:
    w = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    yield w
    w.close()


def _count(world: WebWorld, model) -> int:
    with world.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_login_cookie_logout_and_expired_session(world):
    page = world.browser()
    response = page.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/"
    form = page.get("/login")
    assert form.status_code == 200 and '<html lang="en">' in form.text
    bad = page.post("/login", {"username": "inv-S01", "password": "not-the-password"})
    assert bad.status_code == 403
    assert 'class="error-summary"' in bad.text and 'href="#f-password"' in bad.text
    assert 'aria-describedby="f-password-error"' in bad.text
    assert "invalid username or password" in bad.text
    ok = page.post("/login", {"username": "inv-S01", "password": PASSWORD, "next": "/audit"})
    assert ok.status_code == 303 and ok.headers["location"] == "/audit"
    cookie = ok.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    # an open redirect is not followed
    other = world.browser()
    assert other.post("/login", {"username": "inv-S01", "password": PASSWORD,
                                 "next": "//evil.example/"}).headers["location"] == "/"
    home = page.get("/")
    assert home.status_code == 200 and "inv-S01" in home.text
    assert all(code in home.text for code in world.randomised["S01"])
    assert not any(code in home.text for code in world.randomised["S02"])
    token = page.client.cookies.get(SESSION_COOKIE)
    out = page.post("/logout", {}, csrf_from="/")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    page.client.cookies.set(SESSION_COOKIE, token)  # the old cookie no longer opens a page
    again = page.get("/subjects/new")
    assert again.status_code == 303 and again.headers["location"] == "/login?next=/subjects/new"
    # an expired session is the same redirect
    fresh = world.login("inv-S01")
    with world.db.write() as session:
        for row in session.scalars(select(UserSession)):
            row.expires_at = row.created_at
    assert fresh.get("/").headers["location"] == "/login?next=/"


def test_a_post_without_the_session_csrf_token_is_refused_and_saves_nothing(world):
    page = world.login("inv-S01")
    before = _count(world, Subject)
    body = {**register_form(0), "action": "register"}
    for csrf in (None, "", "0" * 64, csrf_of(world.login("inv-S02").get("/").text)):
        data = dict(body) if csrf is None else {"csrf_token": csrf, **body}
        response = page.client.post("/subjects/new", data=data, follow_redirects=False)
        assert response.status_code == 403, csrf
        assert "Form refused" in response.text
    code = world.registered["S01"][0]
    response = page.client.post(f"/subjects/{code}/randomise", follow_redirects=False,
                                data={"password": PASSWORD, "idempotency_key": "k" * 16})
    assert response.status_code == 403
    assert _count(world, Subject) == before and _count(world, Allocation) == 2
    # the login form's own token (double submit)
    anonymous = world.browser()
    anonymous.get("/login")
    refused = anonymous.client.post("/login", data={"username": "inv-S01", "password": PASSWORD,
                                                    "csrf_token": "forged"})
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.headers.get("set-cookie", "")


def test_register_field_errors_eligibility_reasons_then_randomise(world):
    page = world.login("inv-S01")
    form = page.get("/subjects/new")
    assert form.status_code == 200
    # every input has a label, and the criteria are shown with the fields they read
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', form.text)
    hidden = set(re.findall(r'<input type="hidden"[^>]*', form.text))
    assert ids and all(f'for="{i}"' in form.text for i in ids), ids
    assert {re.search(r'name="(\w+)"', h).group(1) for h in hidden} == {
        "csrf_token", "idempotency_key"}  # nothing else travels unseen
    assert "Age &gt;= 18 years" in form.text and "Region" in form.text
    before = _count(world, Subject)

    bad = page.post("/subjects/new", {**register_form(0, age="sixty", ecog=""),
                                      "action": "register"})
    assert bad.status_code == 422
    assert 'href="#f-eligibility-age"' in bad.text and 'href="#f-eligibility-ecog"' in bad.text
    assert re.search(r'id="f-eligibility-age"[^>]*aria-describedby="[^"]*f-eligibility-age-error"'
                     r'[^>]*aria-invalid="true"', bad.text)
    assert "expected a number" in bad.text and 'value="sixty"' in bad.text
    assert _count(world, Subject) == before

    check = page.post("/subjects/new", {**register_form(0, age="16"), "action": "check"})
    assert check.status_code == 200 and "not eligible" in check.text
    assert "Age &gt;= 18 years" in check.text and "16" in check.text
    assert _count(world, Subject) == before

    ineligible = page.post("/subjects/new", {**register_form(0, age="16"), "action": "register"})
    assert ineligible.status_code == 303
    shown = page.get(ineligible.headers["location"])
    assert "Why the subject is not eligible" in shown.text and "age:" in shown.text
    assert "Randomise" not in shown.text.split("Allocation")[1].split("Registration data")[0]

    taken = page.post("/subjects/new", {**register_form(0), "subject_code": "S01-001",
                                        "action": "register"})
    assert taken.status_code == 422 and 'href="#f-subject-code"' in taken.text
    assert _count(world, Subject) == before + 1

    ok = page.post("/subjects/new", {**register_form(1), "action": "register"})
    assert ok.status_code == 303
    path = ok.headers["location"].split("?")[0]
    code = path.rsplit("/", 1)[1]
    subject = page.get(path)
    assert "Randomise " + code in subject.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', subject.text).group(1)
    wrong = page.post(path + "/randomise", {"password": "wrong-password-1", "idempotency_key": key},
                      csrf=csrf_of(subject.text))
    assert wrong.status_code == 403 and 'href="#f-password"' in wrong.text
    assert "password is not correct" in wrong.text
    assert _count(world, Allocation) == 2
    done = page.post(path + "/randomise", {"password": PASSWORD, "idempotency_key": key},
                     csrf=csrf_of(subject.text))
    assert done.status_code == 303
    outcome = page.get(done.headers["location"])
    assert "Randomisation number" in outcome.text and re.search(r"K-\d{6}", outcome.text)
    assert "CAPOXPD1" not in outcome.text and "anti-PD-1</strong>" not in outcome.text
    # the same form sent twice (same key) gives the same allocation, not a second one
    again = page.post(path + "/randomise", {"password": PASSWORD, "idempotency_key": key},
                      csrf=csrf_of(subject.text))
    assert again.status_code == 303 and _count(world, Allocation) == 3
    # a new key for the randomised subject is refused
    refused = page.post(path + "/randomise", {"password": PASSWORD, "idempotency_key": "n" * 20},
                        csrf=csrf_of(subject.text))
    assert refused.status_code == 409 and "already randomised" in refused.text


# ----------------------------------------------------------------------------- the walk

def _pages(world: WebWorld) -> list[tuple[str, str, str | None]]:
    """(path pattern, concrete path, permission the page needs; None: every role)."""
    other = world.randomised["S02"][0]
    return [("/", "/", None), ("/login", "/login", None),
            ("/subjects/new", "/subjects/new", "subject.register"),
            ("/subjects/{code}", f"/subjects/{other}", "subject.read"),
            ("/subjects/{code}/forms", f"/subjects/{other}/forms", "form.read"),
            ("/subjects/{code}/forms/{form}", f"/subjects/{other}/forms/adverse_event",
             "form.write"),
            ("/subjects/{code}/forms/{form}/saved", f"/subjects/{other}/forms/death/saved",
             "form.read"),
            ("/subjects/{code}/forms/{form}/edit", f"/subjects/{other}/forms/death/edit",
             "form.write"),
            ("/admin/users", "/admin/users", "user.manage"),
            ("/admin/sites", "/admin/sites", "site.manage"),
            ("/admin/trial", "/admin/trial", "trial.go_live"),
            ("/audit", "/audit?entity=subject&entity_id=" + other, "audit.read"),
            ("/subjects/{code}/casebook", f"/subjects/{other}/casebook", "form.read"),
            ("/subjects/{code}/unblind", f"/subjects/{other}/unblind", "unblind"),
            ("/queries", "/queries", "query.read"),
            ("/queries/{query_id}", "/queries/1", "query.read"),
            ("/lock", "/lock", "form.read"),
            ("/exports", "/exports", "export.sdtm"),
            ("/exports/sdtm.zip", "/exports/sdtm.zip", "export.sdtm"),
            ("/missing", "/missing", "form.read")]


def _posts(world: WebWorld) -> list[tuple[str, str, dict[str, str], str | None]]:
    other = world.registered["S02"][0]
    randomised = world.randomised["S02"][0]
    return [("/logout", "/logout", {}, None),
            ("/subjects/new", "/subjects/new", {**register_form(0), "action": "check"},
             "subject.register"),
            ("/subjects/{code}/randomise", f"/subjects/{other}/randomise",
             {"password": PASSWORD, "idempotency_key": "walk-key-0001"}, "randomise"),
            ("/subjects/{code}/forms/{form}", f"/subjects/{world.randomised['S02'][0]}/forms/"
             "death", {"date": "not a date"}, "form.write"),
            ("/subjects/{code}/forms/{form}/edit", f"/subjects/{world.randomised['S02'][0]}/"
             "forms/death/edit", {"date": "2026-01-01", "change_reason": "walk"}, "form.write"),
            ("/admin/users", "/admin/users", {"username": "", "role": ""}, "user.manage"),
            ("/admin/users/{username}/disable", "/admin/users/nobody/disable", {},
             "user.manage"),
            ("/admin/sites", "/admin/sites", {"code": "", "name": ""}, "site.manage"),
            ("/admin/go-live", "/admin/go-live", {}, "trial.go_live"),
            ("/subjects/{code}/sign", f"/subjects/{randomised}/sign",
             {"meaning": "", "password": PASSWORD}, "casebook.sign"),
            ("/subjects/{code}/unblind", f"/subjects/{randomised}/unblind",
             {"reason": "", "password": ""}, "unblind"),
            ("/queries", "/queries", {"subject": randomised, "form": "baseline", "key": "",
                                      "field": "age", "text": "walk"}, "query.raise"),
            ("/queries/{query_id}/answer", "/queries/1/answer", {"answer": "walk"},
             "query.answer"),
            ("/queries/{query_id}/close", "/queries/1/close", {"comment": "walk"},
             "query.close"),
            ("/subjects/{code}/forms/{form}/sdv", f"/subjects/{randomised}/forms/baseline/sdv",
             {"key": ""}, "sdv.flag"),
            ("/lock", "/lock", {"cutoff": "not a date"}, "database.lock"),
            ("/unlock", "/unlock", {"reason": ""}, "database.unlock")]


def _concealed(world: WebWorld) -> list[str]:
    with world.db.read() as session:
        future = [c for c in session.scalars(select(ListSlot.masked_code).where(
            ListSlot.allocation_id.is_(None))) if c]
    return ["CAPOXPD1", "CAPOX + anti-PD-1", str(SEED), "block_size", *future]


def test_every_page_and_form_with_every_role(world):
    covered = {(m, p) for p, _, _ in _pages(world) for m in ("GET",)} | \
              {("POST", p) for p, _, _, _ in _posts(world)} | {("POST", "/login")}
    routes = {(m, r.path) for router in ROUTERS for r in router.routes
              for m in getattr(r, "methods", ())}
    assert routes == covered, routes ^ covered
    problems: list[str] = []
    for who, username in {**USERS, "anonymous": None}.items():
        role = who.removesuffix("_b")
        page = world.login(username)
        concealed = _concealed(world)  # the kit numbers not allocated yet
        for _, path, action in _pages(world):
            response = page.get(path)
            status = response.status_code
            if username is None:
                expected = {200} if path == "/login" else {303}
            elif action is None:
                expected = {200}
            elif role not in PERMISSIONS[action]:
                expected = {403}
            elif (path.startswith("/subjects/S02") and who == "investigator") \
                    or path.endswith(("/saved", "/edit")) or path.startswith("/queries/"):
                expected = {404}  # another site's subject; a record or query never saved
            else:
                expected = {200}
            if status not in expected:
                problems.append(f"{role} GET {path}: {status}, expected {expected}")
            if role != "unblinded_statistician":
                leaked = [s for s in concealed if s in response.text]
                if leaked:
                    problems.append(f"{who} GET {path} shows {leaked}")
        for _, path, data, action in _posts(world):
            if path == "/logout":
                continue
            csrf = csrf_of(page.get("/").text) if username else "x"
            response = page.post(path, data, csrf=csrf)
            status = response.status_code
            if username is None:
                ok = status == 303 and response.headers["location"].startswith("/login")
            elif action is not None and role not in PERMISSIONS[action]:
                ok = status == 403
            elif path.endswith("/forms/death"):
                ok = status == (404 if who == "investigator" else 422)
            elif path.endswith("/forms/death/edit"):
                ok = status == 404  # no such record (nor subject, for site A)
            elif path.endswith(("/sign", "/unblind")):
                # site A: no such subject; site B: the empty meaning or reason is refused
                ok = status == (404 if who == "investigator" else 422)
            elif path.startswith("/queries/") or path.endswith("/sdv") or path == "/queries":
                ok = status == 404  # no such query; no such record
            elif path.endswith("/randomise"):
                # the site-A investigator: site B's subject does not exist; site B randomises
                ok = status == (404 if who == "investigator" else 303)
            else:
                ok = status in (200, 409, 422)
            if not ok:
                problems.append(f"{who} POST {path}: {status}")
        if username is not None:
            assert page.post("/logout", {}, csrf_from="/").status_code == 303
    assert problems == []
    assert _count(world, Allocation) == 3  # the site-B investigator's
