"""The pages in headless Chromium (Playwright driving Debian's chromium) over a real
Uvicorn server: an investigator logs in, registers a patient who fails eligibility with a
clear reason, fixes the data, registers and randomises with the password re-entered, then
enters a baseline tumour assessment (an error shown on its field, then saved), the baseline
form, two treatment cycles (doses pre-filled from the protocol and the body size), a
follow-up assessment that the page reports as a partial response and an adverse event (a
grade of 6 refused on its field first); a data manager raises a query on the event's grade,
the investigator answers it and the data manager closes it; the investigator signs the
casebook; the admin sees the list status and locks the database at a cut-off; axe-core
finds no serious or critical violation on any page type; the keyboard reaches the error
summary and the fields it links to; nothing overflows at tablet width. Screenshots of every
page (and of the page at a failure) are saved under the test's tmp directory.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from api_fixtures import free_port
from capture_fixtures import walk_clock
from randomisation_fixtures import BLINDED, PASSWORD
from web_fixtures import build_web_world

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(sqlite_database, monkeypatch) -> Iterator[tuple[str, object]]:
    """(base URL, world): the pages served by Uvicorn in a thread of this process; the
    checks' clock runs ahead so that the follow-up can be entered today."""
    walk_clock(monkeypatch)
    world = build_web_world(sqlite_database.url, BLINDED)
    port = free_port()
    config = uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        world.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package "
                    "(apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Checker:
    """Runs axe-core on a page and keeps the serious and critical violations, with a
    screenshot per page type."""

    def __init__(self, folder: Path) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.folder = folder
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page, name: str) -> None:
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        results = self.axe.run(page)
        for violation in results.response["violations"]:
            if violation.get("impact") in ("serious", "critical"):
                nodes = [n.get("target") for n in violation.get("nodes", [])][:3]
                self.problems.append(f"{name}: {violation['id']} ({violation['impact']}) {nodes}")
        self.checked.append(name)


def _fill_patient(page, age: str) -> None:
    page.fill("#f-eligibility-age", age)
    page.select_option("#f-eligibility-histology", "adenocarcinoma")
    page.check("#f-eligibility-her2-positive-no")
    page.select_option("#f-eligibility-region", "asia")
    page.select_option("#f-eligibility-ecog", "1")
    page.select_option("#f-eligibility-pd-l1-cps-class", "2")
    page.check("#f-eligibility-measurable-or-evaluable")  # the first option: yes
    page.check("#f-eligibility-prior-systemic-therapy-advanced-no")
    page.fill("#f-eligibility-creatinine-clearance", "80")
    page.check("#f-eligibility-autoimmune-disease-active-no")


def _log_in(page, base: str, username: str) -> None:
    """Log out whoever is logged in, then log in as ``username``."""
    if page.get_by_role("button", name="Log out").count():
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(base + "/login")
    else:
        page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")


def _save(page, url_part: str) -> None:
    page.get_by_role("button", name="Save this form").click()
    page.wait_for_url(f"**{url_part}")


def _capture_course(page, base: str, code: str, axe: Checker) -> None:
    """Baseline, two cycles, a follow-up assessment (PR) and an adverse event."""
    today = dt.datetime.now(dt.UTC).date()
    forms = f"{base}/subjects/{code}/forms"
    page.goto(forms + "/baseline")
    page.fill("#f-age", "64")
    page.select_option("#f-sex", "M")
    page.fill("#f-performance-status", "1")
    page.select_option("#f-region", "asia")
    page.select_option("#f-ecog", "1")
    page.select_option("#f-pd-l1-cps-class", "2")
    page.fill("#f-height-cm", "170")
    page.fill("#f-weight-kg", "70")
    _save(page, "/forms/baseline/saved?key=")
    for cycle, day in ((1, today), (2, today + dt.timedelta(days=21))):
        page.goto(forms + "/cycle")
        # the protocol dose, and the total from BSA (Mosteller, 170 cm, 70 kg: 1.818 m2)
        assert page.input_value("#f-oxaliplatin-dose") == "130"
        assert page.input_value("#f-oxaliplatin-total").startswith("236.3")
        if cycle == 1:
            axe.check(page, "form-cycle")
        page.fill("#f-cycle", str(cycle))
        page.fill("#f-date", day.isoformat())
        _save(page, f"/forms/cycle/saved?key=*{cycle}")
    page.goto(forms + "/tumour_assessment")
    page.fill("#f-visit", "1")
    page.fill("#f-date", (today + dt.timedelta(days=42)).isoformat())
    page.fill("#f-lesions-0-id", "T01")
    page.fill("#f-lesions-0-diameter-mm", "20")
    _save(page, "/forms/tumour_assessment/saved?key=1")
    assert "Overall response: PR" in page.locator(".outcome").inner_text()
    page.goto(forms + "/adverse_event")
    page.fill("#f-seq", "1")
    page.fill("#f-term", "Nausea")
    page.fill("#f-system-organ-class", "Gastrointestinal disorders")
    page.fill("#f-grade", "6")
    page.fill("#f-start-date", (today + dt.timedelta(days=5)).isoformat())
    page.check("#f-serious-no")
    page.get_by_role("button", name="Save this form").click()
    assert page.evaluate("document.activeElement.className") == "error-summary"
    assert "expected <= 5" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Grade").get_attribute("aria-invalid") == "true"
    assert page.input_value("#f-term") == "Nausea"  # what was entered stays
    axe.check(page, "form-adverse-event-error")
    page.fill("#f-grade", "2")
    _save(page, "/forms/adverse_event/saved?key=1")
    page.goto(forms)
    assert page.locator("main").inner_text().count("Treatment cycle\tcombination:") == 2


def _query_cycle(page, base: str, code: str, axe: Checker) -> None:
    """The data manager raises a query on the grade, the investigator answers it, the data
    manager closes it; the investigator then signs the casebook."""
    _log_in(page, base, "dm")
    page.goto(f"{base}/subjects/{code}/forms/adverse_event/saved?key=1")
    page.get_by_label("Field").select_option("grade")
    page.get_by_label("Query text").fill("Is grade 2 what the source document says?")
    page.get_by_role("button", name="Raise query").click()
    page.wait_for_url("**/queries/*")
    query = page.url.split(base)[1]
    axe.check(page, "query-open")
    page.goto(base + "/queries")
    axe.check(page, "queries")
    page.goto(base + "/missing")
    axe.check(page, "missing-forms")
    page.goto(base + "/exports")
    axe.check(page, "exports")

    _log_in(page, base, "inv-S01")
    page.goto(base + "/queries")
    page.get_by_role("link", name=f"Query {query.rsplit('/', 1)[1]}").click()
    page.get_by_label("Answer").fill("Checked against the clinic letter: grade 2.")
    page.get_by_role("button", name="Send answer").click()
    page.wait_for_url(base + query)
    assert "answered" in page.get_by_role("heading", level=1).inner_text()

    _log_in(page, base, "dm")
    page.goto(base + query)
    page.get_by_label("Closing comment").fill("Confirmed, thank you.")
    page.get_by_role("button", name="Close query").click()
    page.wait_for_url(base + query)
    history = page.locator("main").inner_text()
    assert "closed" in page.get_by_role("heading", level=1).inner_text()
    for text in ("Is grade 2", "clinic letter", "Confirmed, thank you."):
        assert text in history
    axe.check(page, "query-closed")

    _log_in(page, base, "inv-S01")
    page.goto(f"{base}/subjects/{code}/casebook")
    axe.check(page, "casebook")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url("**/casebook?signed=1")
    assert "Signed by" in page.locator("main").inner_text()
    page.goto(f"{base}/subjects/{code}/unblind")
    axe.check(page, "unblind")


def test_investigator_registers_fails_fixes_randomises_admin_sees_list(server, browser,
                                                                        tmp_path):
    base, world = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    static: list[int] = []
    page.on("response", lambda r: static.append(r.status) if "/static/" in r.url else None)
    axe = Checker(tmp_path)
    try:
        page.goto(base + "/")
        assert page.url.startswith(base + "/login")
        axe.check(page, "login")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.get_by_label("Username").fill("inv-S01")
        page.get_by_label("Password").fill("not-my-password")
        page.get_by_role("button", name="Log in").click()
        assert page.evaluate("document.activeElement.className") == "error-summary"
        axe.check(page, "login-error")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url(base + "/")
        assert page.get_by_role("heading", level=1).inner_text() == "Subjects at site S01"
        axe.check(page, "dashboard")

        page.get_by_role("link", name="Register a subject").first.click()
        page.wait_for_url(base + "/subjects/new")
        axe.check(page, "register")
        _fill_patient(page, "sixty")
        page.get_by_role("button", name="Register", exact=True).click()
        summary = page.locator(".error-summary")
        assert summary.is_visible()
        assert page.evaluate("document.activeElement.className") == "error-summary"
        axe.check(page, "register-field-error")
        summary.get_by_role("link").first.click()
        assert page.evaluate("document.activeElement.id") == "f-eligibility-age"
        assert page.get_by_label("Age (years)").get_attribute("aria-invalid") == "true"

        page.fill("#f-eligibility-age", "16")
        page.get_by_role("button", name="Check eligibility").click()
        result = page.locator("#check-result")
        assert "not eligible" in result.inner_text()
        assert "Age >= 18 years" in result.inner_text()
        axe.check(page, "register-ineligible")

        page.fill("#f-eligibility-age", "64")
        page.get_by_role("button", name="Register", exact=True).click()
        page.wait_for_url("**/subjects/S01-*")
        code = page.url.split("/subjects/")[1].split("?")[0]
        assert "eligible and can be randomised" in page.locator(".outcome").inner_text()
        axe.check(page, "subject")
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name=f"Randomise {code}").click()
        page.wait_for_url(f"**/subjects/{code}?randomised=1")
        outcome = page.locator(".outcome").inner_text()
        assert "Randomisation number" in outcome and "K-" in outcome
        axe.check(page, "subject-randomised")

        page.get_by_role("link", name=f"Case report forms of {code}").click()
        axe.check(page, "forms")
        page.get_by_role("link", name="Tumour assessment (RECIST)").click()
        page.fill("#f-visit", "0")
        page.fill("#f-date", "2099-01-01")
        page.fill("#f-lesions-0-id", "T01")
        page.select_option("#f-lesions-0-role", "TARGET")
        page.fill("#f-lesions-0-diameter-mm", "50")
        page.get_by_role("button", name="Save this form").click()
        assert page.evaluate("document.activeElement.className") == "error-summary"
        assert "in the future" in page.locator(".error-summary").inner_text()
        axe.check(page, "form-error")
        page.fill("#f-date", "2026-01-10")
        page.get_by_role("button", name="Save this form").click()
        page.wait_for_url("**/forms/tumour_assessment/saved?key=0")
        axe.check(page, "record")
        page.get_by_role("link", name="Edit this record").click()
        assert page.get_by_label("Reason for the change").is_visible()
        axe.check(page, "record-edit")
        _capture_course(page, base, code, axe)
        _query_cycle(page, base, code, axe)

        page.goto(base + "/subjects/S02-001")
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"
        axe.check(page, "not-found")
        page.set_viewport_size({"width": 768, "height": 1024})
        page.goto(base + "/subjects/new")
        assert page.evaluate("document.documentElement.scrollWidth <= "
                             "document.documentElement.clientWidth")
        axe.check(page, "register-tablet")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(base + "/login")

        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/")
        page.get_by_role("link", name="Trial and list").click()
        assert page.get_by_role("heading", name="List status", exact=True).is_visible()
        text = page.locator("main").inner_text()
        assert "3 allocations so far" in text and "CAPOXPD1" not in text
        axe.check(page, "trial")
        for name, path in (("users", "/admin/users"), ("sites", "/admin/sites"),
                           ("audit", f"/audit?entity=subject&entity_id={code}"),
                           ("dashboard-admin", "/")):
            page.goto(base + path)
            axe.check(page, name)
        page.goto(base + "/admin/users")
        page.get_by_role("button", name="Add user").click()
        assert page.evaluate("document.activeElement.className") == "error-summary"
        axe.check(page, "users-error")
        page.goto(base + "/lock")
        page.get_by_label("Data cut-off").fill(
            (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=60)).isoformat())
        page.get_by_role("button", name="Lock database").click()
        page.wait_for_url(base + "/lock?done=locked")
        assert "The database is locked." in page.locator(".outcome").inner_text()
        axe.check(page, "lock")
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        context.close()
    assert axe.problems == [], axe.problems
    # a page answered 4xx on purpose (a refused login, a form error, a 404) is logged by
    # Chromium as a failed load; anything else on the console is a defect
    assert [e for e in errors if not e.startswith("Failed to load resource: the server "
                                                  "responded with a status of 4")] == []
    assert static and set(static) <= {200, 304}
    assert all(url.startswith(base) for url in requests), requests
    assert len(axe.checked) == 30
