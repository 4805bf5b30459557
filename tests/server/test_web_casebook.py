"""The data-management pages over TestClient, on SQLite and PostgreSQL: the casebook and
its signature (password again, meaning stated, voided by an edit), a query raised on a
field, answered and closed with its history, source-data verification, the database lock
and unlock, the statistician's export, the missing-forms list and emergency unblinding —
each with its bad input shown on the field and nothing saved."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from capture_fixtures import form_data, walk_clock
from randomisation_fixtures import BLINDED, PASSWORD
from sqlalchemy import func, select
from web_fixtures import WebWorld, build_web_world

from oncotrial.server.db.models import (
    AuditRecord,
    DatabaseLock,
    DataQuery,
    Signature,
    Unblinding,
)
from oncotrial.server.services import capture


@pytest.fixture
def world(database, monkeypatch) -> Iterator[WebWorld]:
    walk_clock(monkeypatch)
    w = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    start = dt.datetime.now(dt.UTC).date()
    for site in ("S01", "S02"):
        code = w.randomised[site][0]
        with w.db.write() as session:
            inv = w.db.investigator(site)
            capture.save_form(session, inv, code, "baseline", None, form_data("baseline", start))
            capture.save_form(session, inv, code, "adverse_event", "1",
                              form_data("adverse_event", start))
    yield w
    w.close()


def _count(world: WebWorld, model) -> int:
    with world.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sign_the_casebook_then_an_edit_voids_the_signature(world):
    code = world.randomised["S01"][0]
    inv = world.login("inv-S01")
    path = f"/subjects/{code}/casebook"
    page = inv.get(path)
    assert page.status_code == 200 and "Not signed yet." in page.text
    assert 'for="f-meaning"' in page.text and 'for="f-password"' in page.text
    # bad input: no password, an empty meaning, a wrong password: messages on the fields
    missing = inv.post(f"/subjects/{code}/sign", {"meaning": "I approve", "password": ""},
                       csrf_from=path)
    assert missing.status_code == 422 and 'href="#f-password"' in missing.text
    empty = inv.post(f"/subjects/{code}/sign", {"meaning": " ", "password": PASSWORD},
                     csrf_from=path)
    assert empty.status_code == 422 and 'href="#f-meaning"' in empty.text
    assert re.search(r'id="f-meaning"[^>]*aria-invalid="true"', empty.text)
    wrong = inv.post(f"/subjects/{code}/sign", {"meaning": "I approve", "password": "nope-nope-1"},
                     csrf_from=path)
    assert wrong.status_code == 403 and "password is not correct" in wrong.text
    assert _count(world, Signature) == 0
    signed = inv.post(f"/subjects/{code}/sign",
                      {"meaning": "I confirm these data", "password": PASSWORD}, csrf_from=path)
    assert signed.status_code == 303
    book = inv.get(signed.headers["location"]).text
    assert "The casebook is signed." in book and "I confirm these data" in book
    assert re.search(r"Signed by <strong>[^<]+</strong> \(inv-S01\) on", book)
    # an edit after signing voids it and the page asks for a new signature
    edit = inv.post(f"/subjects/{code}/forms/adverse_event/edit",
                    {**_ae_form(), "record_key": "1", "grade": "3",
                     "change_reason": "grade in the source is 3"},
                    csrf_from=f"/subjects/{code}/forms/adverse_event/edit?key=1")
    assert edit.status_code == 303, edit.text
    after = inv.get(path).text
    assert "The last signature is void" in after and "void" in after
    # another site's investigator and the other roles cannot sign
    assert world.login("inv-S02").get(path).status_code == 404
    assert world.login("dm").post(f"/subjects/{code}/sign", {"meaning": "x", "password": PASSWORD},
                                  csrf_from=path).status_code == 403


def _ae_form() -> dict[str, str]:
    start = dt.datetime.now(dt.UTC).date()
    data = form_data("adverse_event", start)
    return {k: ("yes" if v is True else "no" if v is False else str(v)) for k, v in data.items()}


def test_query_raised_answered_closed_with_history(world):
    code = world.randomised["S01"][0]
    record = f"/subjects/{code}/forms/adverse_event/saved?key=1"
    dm, inv = world.login("dm"), world.login("inv-S01")
    page = dm.get(record)
    assert 'for="f-field"' in page.text and "Raise query" in page.text
    assert "Raise query" not in inv.get(record).text  # investigators answer, not raise
    fields = {"subject": code, "form": "adverse_event", "key": "1"}
    bad = dm.post("/queries", {**fields, "field": "grade", "text": ""}, csrf_from=record)
    assert bad.status_code == 422 and 'href="#f-text"' in bad.text
    unknown = dm.post("/queries", {**fields, "field": "nonsense", "text": "?"}, csrf_from=record)
    assert unknown.status_code == 422 and 'href="#f-field"' in unknown.text
    assert _count(world, DataQuery) == 0
    raised = dm.post("/queries", {**fields, "field": "grade", "text": "Grade 2 in the source?"},
                     csrf_from=record)
    assert raised.status_code == 303
    qpath = raised.headers["location"]
    assert re.fullmatch(r"/queries/\d+", qpath)
    # the site-B investigator does not see it; the site-A investigator answers it
    assert world.login("inv-S02").get(qpath).status_code == 404
    assert "Grade 2 in the source?" not in world.login("inv-S02").get("/queries").text
    assert "Send answer" in inv.get(qpath).text and "Close query" not in inv.get(qpath).text
    empty = inv.post(qpath + "/answer", {"answer": " "}, csrf_from=qpath)
    assert empty.status_code == 422 and 'href="#f-answer"' in empty.text
    answered = inv.post(qpath + "/answer", {"answer": "Checked: grade 2."}, csrf_from=qpath)
    assert answered.status_code == 303
    assert dm.post(qpath + "/answer", {"answer": "x"}, csrf_from=qpath).status_code == 403
    closed = dm.post(qpath + "/close", {"comment": "Resolved."}, csrf_from=qpath)
    assert closed.status_code == 303
    history = dm.get(qpath).text
    assert "Query" in history and ": closed" in history
    for text in ("Grade 2 in the source?", "Checked: grade 2.", "Resolved."):
        assert text in history
    again = inv.post(qpath + "/answer", {"answer": "late"}, csrf_from="/queries")
    assert again.status_code == 403 or "closed" in again.text
    listing = dm.get("/queries?status=closed").text
    assert f'href="{qpath}"' in listing
    assert dm.get("/queries?status=bogus").status_code == 422


def test_monitor_marks_a_record_verified(world):
    code = world.randomised["S02"][0]
    record = f"/subjects/{code}/forms/baseline/saved?key="
    monitor = world.login("monitor")
    page = monitor.get(record)
    assert "Mark source-data verified" in page.text
    assert "Mark source-data verified" not in world.login("dm").get(record).text
    done = monitor.post(f"/subjects/{code}/forms/baseline/sdv", {"key": ""}, csrf_from=record)
    assert done.status_code == 303
    after = monitor.get(done.headers["location"]).text
    assert "yes: verified version 1" in after and "Mark source-data verified" not in after
    assert world.login("dm").post(f"/subjects/{code}/forms/baseline/sdv", {"key": ""},
                                  csrf_from=record).status_code == 403


def test_lock_refuses_edits_then_admin_unlocks_with_a_reason(world):
    code = world.randomised["S01"][0]
    admin = world.login("admin")
    page = admin.get("/lock")
    assert "The database is not locked." in page.text and 'for="f-cutoff"' in page.text
    bad = admin.post("/lock", {"cutoff": "31/12/2026"})
    assert bad.status_code == 422 and 'href="#f-cutoff"' in bad.text
    assert _count(world, DatabaseLock) == 0
    assert world.login("monitor").post("/lock", {"cutoff": "2030-01-01"},
                                       csrf_from="/").status_code == 403
    cutoff = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=200)).isoformat()
    locked = admin.post("/lock", {"cutoff": cutoff})
    assert locked.status_code == 303
    status = admin.get("/lock").text
    assert f"Locked at the data cut-off <strong>{cutoff}</strong>" in status
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', status)
    # an edit of a frozen record is refused on the page, nothing saved
    inv = world.login("inv-S01")
    edit = inv.post(f"/subjects/{code}/forms/adverse_event/edit",
                    {**_ae_form(), "record_key": "1", "grade": "3", "change_reason": "late"},
                    csrf_from=f"/subjects/{code}/forms/adverse_event/edit?key=1")
    assert edit.status_code in (409, 422) and "locked" in edit.text
    assert "<dt>Version</dt><dd>1 (" in inv.get(
        f"/subjects/{code}/forms/adverse_event/saved?key=1").text
    # the data manager locks but does not unlock; the admin needs a reason
    assert world.login("dm").post("/unlock", {"reason": "x"}, csrf_from="/").status_code == 403
    no_reason = admin.post("/unlock", {"reason": ""}, csrf_from="/lock")
    assert no_reason.status_code == 422 and 'href="#f-reason"' in no_reason.text
    unlocked = admin.post("/unlock", {"reason": "late AE grade"}, csrf_from="/lock")
    assert unlocked.status_code == 303
    assert "late AE grade" in admin.get("/lock").text


def test_export_page_and_masked_download(world):
    for username, status in (("inv-S01", 403), ("dm", 200), ("stat", 200), ("monitor", 200)):
        assert world.login(username).get("/exports").status_code == status, username
        assert world.login(username).get("/exports/sdtm.zip").status_code == status, username
    masked = world.login("dm").get("/exports/sdtm.zip")
    assert masked.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(masked.content)) as archive:
        dm = archive.read("dm.csv").decode()
    assert "ARMCD" not in dm.splitlines()[0]
    unmasked = world.login("stat").get("/exports/sdtm.zip")
    with zipfile.ZipFile(io.BytesIO(unmasked.content)) as archive:
        assert "ARMCD" in archive.read("dm.csv").decode().splitlines()[0]
    with world.db.read() as session:
        actions = list(session.scalars(select(AuditRecord.action)))
    assert actions.count("export.sdtm") >= 4


def test_missing_forms_by_site(world):
    ahead = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=150)).isoformat()
    dm = world.login("dm").get(f"/missing?as_of={ahead}")
    assert dm.status_code == 200 and "Site S01" in dm.text and "Site S02" in dm.text
    inv = world.login("inv-S01").get(f"/missing?as_of={ahead}")
    assert "Site S01" in inv.text and "Site S02" not in inv.text
    assert world.login("dm").get("/missing?as_of=soon").status_code == 422


def test_emergency_unblinding_reveals_one_subject(world):
    code = world.randomised["S01"][0]
    inv = world.login("inv-S01")
    subject = inv.get(f"/subjects/{code}").text
    assert f'href="/subjects/{code}/unblind"' in subject
    path = f"/subjects/{code}/unblind"
    bad = inv.post(path, {"reason": "", "password": ""})
    assert bad.status_code == 422 and 'href="#f-reason"' in bad.text
    assert 'href="#f-password"' in bad.text and _count(world, Unblinding) == 0
    wrong = inv.post(path, {"reason": "anaphylaxis", "password": "not-my-password"})
    assert wrong.status_code == 403 and _count(world, Unblinding) == 0
    assert world.login("inv-S02").get(path).status_code == 404
    assert world.login("dm").get(path).status_code == 403
    shown = inv.post(path, {"reason": "anaphylaxis", "password": PASSWORD})
    assert shown.status_code == 200 and "Arm: <strong>" in shown.text
    assert _count(world, Unblinding) == 1
    other = world.randomised["S02"][0]
    assert other not in shown.text


def test_cycle_form_starts_with_the_protocol_doses(world):
    code = world.randomised["S01"][0]
    page = world.login("inv-S01").get(f"/subjects/{code}/forms/cycle").text
    # the first phase and its doses, the same for every arm of the blinded trial
    assert re.search(r'id="f-oxaliplatin-dose"[^>]*value="130(\.0)?"', page), page[:3000]
    # 170 cm, 70 kg: BSA (Mosteller) 1.8181 m2 x 130 mg/m2
    assert re.search(r'id="f-oxaliplatin-total"[^>]*value="236\.3\d?"', page)


def test_subject_page_shows_the_schedule_with_overdue_visits(world, monkeypatch):
    from oncotrial.server.services import crf_forms

    code = world.randomised["S01"][0]
    page = world.login("inv-S01").get(f"/subjects/{code}").text
    assert "Planned visits of" in page
    rows = re.findall(r'<tr class="status-(\w+)">', page)
    assert "overdue" in rows or "missed" in rows  # the clock is months past randomisation
    assert "planned" in rows
    # on the day of randomisation nothing is overdue yet
    monkeypatch.setattr(crf_forms, "clock", lambda: dt.datetime.now(dt.UTC).date())
    today = re.findall(r'<tr class="status-(\w+)">', world.login("inv-S01").get(
        f"/subjects/{code}").text)
    assert today and "overdue" not in today and "missed" not in today
    # a registered subject has no schedule yet
    other = world.registered["S01"][0]
    assert "Planned visits of" not in world.login("inv-S01").get(f"/subjects/{other}").text
