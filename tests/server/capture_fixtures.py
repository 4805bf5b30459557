"""Support of the data-capture tests (imported by name): a live trial with randomised
subjects at two sites, valid data of every form, and helpers that save them through the
services.

Dates: the capture checks refuse a date after "today" or before randomisation; the tests
set the checks' clock (``crf_forms.clock``) some weeks ahead, so that follow-up data of a
subject randomised today can be entered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from randomisation_fixtures import PASSWORD, TrialDB, build_trial
from sqlalchemy import func, select

from oncotrial.server.db.models import AuditRecord, FormRecord
from oncotrial.server.services import capture

__all__ = ["AHEAD", "CaptureWorld", "PASSWORD", "count_rows", "form_data", "make_world"]

#: how far ahead of the randomisation the checks' clock is set
AHEAD = dt.timedelta(days=120)


def form_data(form: str, start: dt.date, **override: Any) -> dict[str, Any]:
    """Valid data of ``form`` for a subject randomised on ``start`` (gastric protocols)."""
    day = (start + dt.timedelta(days=1)).isoformat()
    later = (start + dt.timedelta(days=42)).isoformat()
    data: dict[str, dict[str, Any]] = {
        "baseline": {"age": 64, "sex": "M", "performance_status": 1, "region": "asia",
                     "ecog": 1, "pd_l1_cps_class": 2, "height_cm": 170.0, "weight_kg": 70.0},
        "cycle": {"phase": "combination", "cycle": 1, "date": day, "oxaliplatin_dose": 130.0,
                  "capecitabine_dose": 1000.0},
        "tumour_assessment": {"visit": 0, "date": start.isoformat(), "lesions": [
            {"id": "T1", "role": "TARGET", "location": "LIVER", "diameter_mm": 30.0}]},
        "adverse_event": {"seq": 1, "term": "Nausea", "system_organ_class":
                          "Gastrointestinal disorders", "grade": 2, "start_date": day,
                          "serious": False},
        "surgery": {"seq": 1, "date": later, "procedure": "Gastrectomy"},
        "subsequent_therapy": {"seq": 1, "date": later, "therapy": "Paclitaxel", "line": 2},
        "second_progression": {"date": later},
        "end_of_treatment": {"phase": "combination", "date": later, "reason": "COMPLETED"},
        "follow_up": {"date": later},
        "death": {"date": later, "cause": "PROGRESSIVE DISEASE"},
        "end_of_study": {"date": later, "reason": "COMPLETED"},
    }
    return {**data[form], **override}


def count_rows(db: TrialDB) -> tuple[int, int]:
    """(form records, audit records): what a refused save must leave unchanged."""
    with db.read() as session:
        return (int(session.scalar(select(func.count()).select_from(FormRecord)) or 0),
                int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0))


@dataclasses.dataclass
class CaptureWorld:
    db: TrialDB
    subjects: dict[str, list[str]]  # site -> randomised subject codes
    start: dt.date

    def principal(self, key: str) -> Any:
        names = {"admin": "admin", "dm": "dm", "monitor": "monitor", "stat": "stat"}
        return self.db.principal(names.get(key, key))

    def inv(self, site: str) -> Any:
        return self.db.investigator(site)

    def save(self, subject: str, form: str, key: str | None = None, **override: Any) -> Any:
        site = subject.split("-")[0]
        with self.db.write() as session:
            return capture.save_form(session, self.inv(site), subject, form, key,
                                     form_data(form, self.start, **override))

    def edit(self, subject: str, form: str, key: str | None, reason: str | None,
             **override: Any) -> Any:
        site = subject.split("-")[0]
        with self.db.write() as session:
            return capture.edit_form(session, self.inv(site), subject, form, key,
                                     form_data(form, self.start, **override), reason=reason)


def make_world(url: str, monkeypatch: Any, protocol: str = "gastric_example",
               per_site: int = 2) -> CaptureWorld:
    """A live trial at ``url`` with ``per_site`` randomised subjects at S01 and S02, and the
    checks' clock :data:`AHEAD` of today."""
    from api_fixtures import factors

    from oncotrial.protocol import Protocol
    from oncotrial.server.services import crf_forms

    db = build_trial(url, protocol, n_sites=2)
    blocks = Protocol.load(protocol).randomisation.method == "blocks"
    db.go_live(per_stratum=24 if blocks else None)
    subjects: dict[str, list[str]] = {}
    for site in db.sites:
        for i in range(per_site):
            view = db.register(site, factors(i, db.protocol))
            db.randomise(view.code, site)
            subjects.setdefault(site, []).append(view.code)
    start = dt.datetime.now(dt.UTC).date()
    monkeypatch.setattr(crf_forms, "clock", lambda: start + AHEAD)
    return CaptureWorld(db, subjects, start)


# ----------------------------------------------------------------------------- the route walk

#: the capture routes a monitor may call to change something: raising a query and
#: source-data verification are the monitor's work (every other mutation is 403)
MONITOR_WRITES = (("POST", "/api/queries"), ("POST", "/api/sdv"))


def prepare_walk(world: Any, query_text: str = "walk query") -> None:
    """Records of the site-B target subject (a baseline and an adverse event) and a query
    on it, so that the walk's edits, answers and closes have something to act on; the
    checks' clock is expected :data:`AHEAD` (see :func:`walk_clock`)."""
    from oncotrial.server.services import queries

    target = world.randomised["S02"][0]
    start = dt.datetime.now(dt.UTC).date()
    inv = world.db.investigator("S02")
    with world.db.write() as session:
        capture.save_form(session, inv, target, "baseline", None, form_data("baseline", start))
        capture.save_form(session, inv, target, "adverse_event", "1",
                          form_data("adverse_event", start))
    with world.db.write() as session:
        view = queries.raise_query(session, world.db.principal("dm"), target, "adverse_event",
                                   "1", field="grade", text=query_text)
    world.walk_query_id = view.id


def walk_clock(monkeypatch: Any) -> None:
    """Set the checks' clock :data:`AHEAD` of today."""
    from oncotrial.server.services import crf_forms

    start = dt.datetime.now(dt.UTC).date()
    monkeypatch.setattr(crf_forms, "clock", lambda: start + AHEAD)


def capture_request(world: Any, method: str, path: str) -> dict[str, Any] | None:
    """The walk's request for a capture route (aimed at the site-B target subject), or
    ``None`` for another route. See :func:`prepare_walk`."""
    target = world.randomised["S02"][0]
    start = dt.datetime.now(dt.UTC).date()
    query_id = str(getattr(world, "walk_query_id", 1))
    form = "adverse_event" if "{key}" in path else "baseline"
    url = path.replace("{code}", target).replace("{form}", form).replace("{key}", "1") \
        .replace("{query_id}", query_id)
    if not (path.startswith(("/api/forms", "/api/queries", "/api/sdv", "/api/lock",
                             "/api/unlock", "/api/exports"))
            or "/forms/" in path or path.endswith(("/casebook", "/sign"))):
        return None
    body: Any = None
    params: dict[str, Any] = {}
    if method in ("POST", "PUT"):
        data = form_data(form, start, **({"seq": 1} if form == "adverse_event" else {}))
        body = {
            "/api/queries": {"subject": target, "form": "adverse_event", "key": "1",
                             "field": "grade", "text": "walk: grade in the source?"},
            "/api/queries/{query_id}/answer": {"text": "walk: answered"},
            "/api/queries/{query_id}/close": {"text": "walk: closed"},
            "/api/sdv": {"subject": target, "form": "adverse_event", "key": "1"},
            "/api/lock": {"cutoff": (start - dt.timedelta(days=1)).isoformat()},
            "/api/unlock": {"reason": "walk: unlock"},
            "/api/subjects/{code}/sign": {"password": PASSWORD,
                                          "meaning": "walk: I approve this casebook"},
        }.get(path)
        if body is None:
            body = {"data": data} if method == "POST" else {
                "data": {**data, "grade": 3} if form == "adverse_event" else data,
                "reason": "walk: corrected"}
    if path == "/api/exports/sdtm":
        params["format"] = "json"
    return {"url": url, "body": body, "headers": {}, "params": params}
