"""Data capture over HTTP: the routes are thin, the errors the app's one mapping (422 on
the field and nothing saved, 404 for another site, 409 for a locked record), the export
as a listing or a zip archive."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from api_fixtures import PASSWORD, build_world, leaks
from capture_fixtures import AHEAD, form_data, walk_clock
from sqlalchemy import func, select

from oncotrial.server.db.models import AuditRecord, FormRecord


@pytest.fixture
def world(database, monkeypatch):
    walk_clock(monkeypatch)
    w = build_world(database.url, owner_url=database.owner_url)
    yield w
    w.close()


def _counts(world):
    with world.db.read() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(t)) or 0)
                     for t in (FormRecord, AuditRecord))


def test_forms_save_edit_casebook_sign(world):
    start = dt.datetime.now(dt.UTC).date()
    ours = world.randomised["S01"][0]
    forms = world.call("inv_a", "GET", "/api/forms")
    assert forms.status_code == 200
    assert {f["name"] for f in forms.json()} >= {"baseline", "cycle", "tumour_assessment"}
    assert not leaks(forms, world.concealed_strings())
    base = f"/api/subjects/{ours}/forms"
    saved = world.call("inv_a", "POST", f"{base}/baseline",
                       body={"data": form_data("baseline", start)})
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 1 and saved.json()["key"] == ""
    visit0 = world.call("inv_a", "POST", f"{base}/tumour_assessment/0",
                        body={"data": form_data("tumour_assessment", start)})
    assert visit0.status_code == 201, visit0.text
    shrunk = form_data("tumour_assessment", start, visit=1,
                       date=(start + dt.timedelta(days=42)).isoformat(),
                       lesions=[{"id": "T1", "role": "TARGET", "location": "LIVER",
                                 "diameter_mm": 12.0}])
    visit1 = world.call("inv_a", "POST", f"{base}/tumour_assessment/1", body={"data": shrunk})
    assert visit1.status_code == 201, visit1.text
    assert visit1.json()["response"] == {"overall_response": "PR"}
    no_reason = world.call("inv_a", "PUT", f"{base}/baseline",
                           body={"data": form_data("baseline", start, weight_kg=72.0)})
    assert no_reason.status_code == 422
    edited = world.call("inv_a", "PUT", f"{base}/baseline",
                        body={"data": form_data("baseline", start, weight_kg=72.0),
                              "reason": "re-weighed"})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    signed = world.call("inv_a", "POST", f"/api/subjects/{ours}/sign",
                        body={"password": PASSWORD, "meaning": "I approve this casebook"})
    assert signed.status_code == 200, signed.text
    assert signed.json()["signatures"][0]["status"] == "valid"
    book = world.call("monitor", "GET", f"/api/subjects/{ours}/casebook")
    assert book.status_code == 200 and len(book.json()["records"]) == 3
    assert not leaks(book, world.concealed_strings())
    assert world.call("inv_b", "GET", f"/api/subjects/{ours}/casebook").status_code == 404
    assert world.call("inv_b", "POST", f"{base}/baseline",
                      body={"data": form_data("baseline", start)}).status_code == 404
    assert world.call("monitor", "POST", f"{base}/follow_up",
                      body={"data": form_data("follow_up", start)}).status_code == 403


def test_bad_input_is_422_on_the_field_and_nothing_saved(world):
    start = dt.datetime.now(dt.UTC).date()
    ours = world.randomised["S01"][0]
    before = _counts(world)
    response = world.call("inv_a", "POST", f"/api/subjects/{ours}/forms/adverse_event",
                          body={"data": form_data("adverse_event", start, grade=9,
                                                  term="")})
    assert response.status_code == 422
    detail = response.json()["detail"]
    text = " ".join(d["msg"] for d in detail)
    assert "grade: " in text and "term: " in text
    assert detail[0]["loc"][:2] == ["body", "data"]
    assert _counts(world) == before
    future = (start + AHEAD + dt.timedelta(days=1)).isoformat()
    response = world.call("inv_a", "POST", f"/api/subjects/{ours}/forms/follow_up",
                          body={"data": {"date": future}})
    assert response.status_code == 422 and _counts(world) == before
    strict = world.call("inv_a", "POST", f"/api/subjects/{ours}/forms/follow_up",
                        body={"data": {"date": start.isoformat()}, "extra": 1})
    assert strict.status_code == 422 and _counts(world) == before


def test_queries_lock_unlock_and_export(world):
    start = dt.datetime.now(dt.UTC).date()
    ours = world.randomised["S01"][0]
    base = f"/api/subjects/{ours}/forms"
    assert world.call("inv_a", "POST", f"{base}/adverse_event",
                      body={"data": form_data("adverse_event", start)}).status_code == 201
    raised = world.call("monitor", "POST", "/api/queries",
                        body={"subject": ours, "form": "adverse_event", "key": "1",
                              "field": "grade", "text": "grade in the source?"})
    assert raised.status_code == 201, raised.text
    qid = raised.json()["id"]
    assert world.call("inv_b", "POST", f"/api/queries/{qid}/answer",
                      body={"text": "x"}).status_code == 404
    assert world.call("inv_a", "POST", f"/api/queries/{qid}/answer",
                      body={"text": "grade 2"}).status_code == 200
    assert world.call("data_manager", "POST", f"/api/queries/{qid}/close",
                      body={"text": "ok"}).status_code == 200
    assert world.call("inv_a", "POST", f"/api/queries/{qid}/answer",
                      body={"text": "late"}).status_code == 409
    assert world.call("monitor", "POST", "/api/sdv",
                      body={"subject": ours, "form": "adverse_event", "key": "1"}
                      ).status_code == 200
    cutoff = (start + dt.timedelta(days=5)).isoformat()
    locked = world.call("data_manager", "POST", "/api/lock", body={"cutoff": cutoff})
    assert locked.status_code == 200, locked.text
    sha = locked.json()["export_sha256"]
    refused = world.call("inv_a", "PUT", f"{base}/adverse_event/1",
                         body={"data": form_data("adverse_event", start, grade=3),
                               "reason": "after lock"})
    assert refused.status_code == 409 and "locked" in refused.json()["detail"]
    listing = world.call("unblinded_statistician", "GET", "/api/exports/sdtm",
                         params={"cutoff": cutoff})
    assert listing.status_code == 200 and listing.json()["sha256"] == sha
    masked = world.call("monitor", "GET", "/api/exports/sdtm", params={"format": "zip"})
    assert masked.status_code == 200 and masked.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(masked.content))
    assert "dm.csv" in archive.namelist()
    content = "\n".join(archive.read(n).decode() for n in archive.namelist())
    assert not leaks(masked, world.concealed_strings()) and "ARMCD" not in content
    assert world.call("inv_a", "GET", "/api/exports/sdtm").status_code == 403
    assert world.call("data_manager", "POST", "/api/unlock",
                      body={"reason": "x"}).status_code == 403
    unlocked = world.call("admin", "POST", "/api/unlock", body={"reason": "late AE grade"})
    assert unlocked.status_code == 200 and unlocked.json()["status"] == "unlocked"
    missing = world.call("inv_a", "GET", "/api/forms/missing")
    assert missing.status_code == 200
    assert missing.json() and {m["site"] for m in missing.json()} == {"S01"}
    assert {m["status"] for m in missing.json()} <= {"due", "overdue", "missed"}
    verified = world.call("admin", "GET", "/api/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"]
