"""The HTML report and lay summary rendered in headless Chromium (Playwright driving Debian's
chromium): no console or page error, every image decoded, no request leaving the file, and
a screenshot of each page.

Chromium is required, not optional: CI installs Debian's ``chromium`` package, and this test
fails (never skips) with the command to run when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.writer import build_report
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, Path]:
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    # the primary end point only: the CONSORT diagram and three figures keep the test fast (the HTML test
    # covers all)
    adam = AdamData(derived.adsl, derived.adtte[derived.adtte["PARAMCD"] == "PFS"], derived.adrs, derived.adae)
    return build_report(adam, LMS04, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _render(browser, path: Path, screenshot: Path) -> tuple[object, list[str], list[str]]:
    """Open ``path``, wait for it to load, screenshot it; return the page, the console and
    page errors, and every URL requested."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    page.screenshot(path=str(screenshot), full_page=True)
    return page, errors, requests


def test_report_renders_in_chromium(browser, report, tmp_path):
    screenshot = tmp_path / "report.png"
    page, errors, requests = _render(browser, report["report.html"], screenshot)
    assert errors == []
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
    widths = page.evaluate("Array.from(document.images, image => image.complete ? image.naturalWidth : 0)")
    assert len(widths) == 4 and all(w > 0 for w in widths), widths
    assert page.locator("h2").first.inner_text() == "Patient flow"
    assert page.locator("table#efficacy-pfs").is_visible()
    assert screenshot.stat().st_size > 10_000 and screenshot.read_bytes()[:4] == b"\x89PNG"
    page.close()


def test_lay_summary_renders_in_chromium(browser, report, tmp_path):
    screenshot = tmp_path / "lay_summary.png"
    page, errors, requests = _render(browser, report["lay_summary.html"], screenshot)
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests
    markdown = report["lay_summary.md"].read_text(encoding="utf-8").splitlines()
    headings = [line[3:] for line in markdown if line.startswith("## ")]
    assert len(headings) >= 10 and "What are the limits of this trial?" in headings
    assert page.locator("h2").all_inner_texts() == headings
    assert screenshot.stat().st_size > 10_000
    page.close()
