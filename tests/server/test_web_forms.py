"""The case report form pages over TestClient, on SQLite and PostgreSQL: a form generated
from its spec (every input labelled), the capture service's issues shown on their fields
with nothing saved, the RECIST response shown once an assessment is saved, and an edit
that needs a reason."""

from __future__ import annotations

import datetime as dt
import re

from randomisation_fixtures import BLINDED
from sqlalchemy import func, select
from web_fixtures import build_web_world

from oncotrial.server.db.models import FormRecord

BASELINE = {"visit": "0", "date": "2026-01-10", "lesions.0.id": "T01",
            "lesions.0.role": "TARGET", "lesions.0.location": "liver",
            "lesions.0.diameter_mm": "50"}


def _records(world) -> int:
    with world.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(FormRecord)) or 0)


def test_assessment_form_errors_then_recist_response(database):
    world = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    try:
        code = world.randomised["S01"][0]
        inv = world.login("inv-S01")
        listing = inv.get(f"/subjects/{code}/forms")
        assert listing.status_code == 200 and "Tumour assessment (RECIST)" in listing.text
        entry = inv.get(f"/subjects/{code}/forms/tumour_assessment")
        assert entry.status_code == 200
        ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', entry.text)
        assert len(ids) > 30 and all(f'for="{i}"' in entry.text for i in ids)

        path = f"/subjects/{code}/forms/tumour_assessment"
        bad = inv.post(path, {**BASELINE, "date": "2099-01-01", "lesions.0.diameter_mm": "x"})
        assert bad.status_code == 422
        assert 'href="#f-date"' in bad.text and "in the future" in bad.text
        assert 'href="#f-lesions-0-diameter-mm"' in bad.text and "Lesions 1: Diameter" in bad.text
        assert re.search(r'id="f-lesions-0-diameter-mm"[^>]*aria-invalid="true"', bad.text)
        assert 'value="x"' in bad.text and _records(world) == 0

        saved = inv.post(path, BASELINE)
        assert saved.status_code == 303 and saved.headers["location"].endswith("saved?key=0")
        follow = inv.post(path, {**BASELINE, "visit": "1", "date": dt.date.today().isoformat(),
                                 "lesions.0.role": "", "lesions.0.diameter_mm": "20"})
        assert follow.status_code == 303
        record = inv.get(follow.headers["location"])
        assert "Overall response: <strong>PR</strong>" in record.text
        assert _records(world) == 2
        assert "PR" in inv.get(f"/subjects/{code}/forms").text

        # an edit needs a reason; the response follows the corrected measurement
        edit = inv.get(f"{path}/edit?key=1")
        assert edit.status_code == 200 and 'value="20"' in edit.text
        assert 'name="record_key" value="1"' in edit.text
        changed = {**BASELINE, "visit": "1", "date": dt.date.today().isoformat(),
                   "lesions.0.role": "", "lesions.0.diameter_mm": "45", "record_key": "1"}
        no_reason = inv.post(f"{path}/edit", changed, csrf_from=f"{path}/edit?key=1")
        assert no_reason.status_code == 422 and 'href="#f-change-reason"' in no_reason.text
        assert "PR" in inv.get(f"{path}/saved?key=1").text
        edited = inv.post(f"{path}/edit", {**changed, "change_reason": "transcription error"},
                          csrf_from=f"{path}/edit?key=1")
        assert edited.status_code == 303
        assert "Overall response: <strong>SD</strong>" in inv.get(edited.headers["location"]).text
        history = world.login("monitor").get(f"/audit?entity=subject&entity_id={code}")
        assert "transcription error" in history.text and "form.edit" in history.text

        monitor = world.login("monitor")
        assert monitor.get(f"/subjects/{code}/forms").status_code == 200
        assert monitor.get(path).status_code == 403
        assert monitor.post(path, BASELINE, csrf_from="/").status_code == 403
        other = world.login("inv-S02")
        assert other.get(f"/subjects/{code}/forms").status_code == 404
        assert other.get(path).status_code == 404
        assert other.get(f"{path}/saved?key=0").status_code == 404
        assert inv.get(f"/subjects/{code}/forms/no_such_form").status_code == 404
        assert _records(world) == 2
    finally:
        world.close()
