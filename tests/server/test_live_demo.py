"""A simulated replica entered through the real HTTP server (uvicorn in a subprocess):
registration, randomisation by the service's own list, every form; then the lock and the
unblinded export equal the same records exported directly with the service's
allocations, and so do the derived ADaM data."""

from __future__ import annotations

import datetime as dt

import httpx
import pandas as pd
import pytest

from oncotrial.clinical import crf, derive_all
from oncotrial.protocol import Protocol
from oncotrial.server import replica
from oncotrial.server.replica_server import FAST_HASHING, create_trial, serve
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial

PASSWORD = "Replica-Load-2026"
SUBJECTS = 8


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


@pytest.fixture(scope="module", params=["gastric_example", "lms04"])
def source(request):
    model = Scenario.load(request.param)
    trial = simulate_trial(model, seed=2)
    records, subjects = crf.sdtm_to_records(trial.domains, model.protocol_model())
    return model, trial, records, subjects


def test_replica_through_http_equals_direct_export(source, tmp_path):
    model, trial, records, subjects = source
    proto = model.protocol_model()
    sites = {f"{i:02d}": c for i, c in enumerate(model.sites.site_countries(), 1)}
    url = f"sqlite:///{tmp_path / 'live.db'}"
    code = create_trial(url, model.protocol, sites, admin="admin", password=PASSWORD)
    first = min(s.randomised_on for s in subjects.values())
    clock = dt.date.today() + (trial.cutoff.date() - first) + dt.timedelta(days=2)
    with serve(url, clock=clock, env=FAST_HASHING) as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        admin = replica.ServiceClient(http, "admin", PASSWORD)
        investigators = {site: f"inv-{site}" for site in sites}
        for site, user in investigators.items():
            admin.call("POST", "/api/users", body={"username": user, "password": PASSWORD,
                                                   "role": "investigator", "site": site})
        admin.call("POST", "/api/users", body={"username": "stat", "password": PASSWORD,
                                               "role": "unblinded_statistician"})
        admin.call("POST", "/api/go-live", body={})
        loaded = replica.load_replica(http, proto, records, subjects, investigators=investigators,
                                      statistician="stat", password=PASSWORD, limit=SUBJECTS)
        assert len(loaded.allocations) == SUBJECTS
        assert all(a.source is not None for a in loaded.allocations)
        # each subject got the course of a simulated patient of the arm the service chose
        for a in loaded.allocations:
            assert subjects[a.source].armcd == a.armcd
        cutoff = max(trial.cutoff.date() + dt.timedelta(days=a.shift_days)
                     for a in loaded.allocations)
        lock = admin.json("POST", "/api/lock", body={"cutoff": cutoff.isoformat()})
        assert lock["records"] == len(loaded.records)
        stat = replica.ServiceClient(http, "stat", PASSWORD)
        response = stat.call("GET", "/api/exports/sdtm",
                             params={"cutoff": cutoff.isoformat(), "format": "zip"})
        # the export the statistician downloads is the one whose hash the lock recorded
        assert response.headers["X-Export-SHA256"] == lock["export_sha256"]
        # a locked record cannot be entered again
        again = loaded.records[0]
        path = f"/api/subjects/{again.subject}/forms/{again.form}"
        refused = http.post(f"{path}/{again.key}" if again.key else path,
                            json={"data": dict(again.data)},
                            headers=replica.ServiceClient(
                                http, f"inv-{again.subject.split('-')[-2]}", PASSWORD).headers)
        assert refused.status_code in (409, 422)
    exported = replica.read_sdtm_zip(response.content)
    direct = crf.records_to_sdtm(list(loaded.records), proto,
                                 replica.service_subjects(proto, code, loaded.allocations, sites))
    assert set(exported) == set(direct)
    for name in direct:
        assert _csv(exported[name]) == _csv(direct[name]), name
    stamp = pd.Timestamp(cutoff)
    captured = derive_all(exported, proto, cutoff=stamp)
    expected = derive_all(direct, proto, cutoff=stamp)
    for name in ("adsl", "adtte", "adrs", "adae"):
        assert _csv(getattr(captured, name)) == _csv(getattr(expected, name)), name
    assert len(captured.adsl) == SUBJECTS


def test_arms_decide_whose_records_are_entered():
    info = {s: crf.SubjectInfo("T", "01", None, arm, None, dt.date(2020, 1, day), {"f": "a"})
            for s, arm, day in (("s1", "A", 1), ("s2", "B", 2), ("s3", "A", 3), ("s4", "B", 4))}
    # the service swapped the first two: each gets a patient of its arm, none twice
    chosen = replica.match_sources(["s1", "s2", "s3", "s4"], {"s1": "B", "s2": "A", "s3": "A",
                                                              "s4": "A"}, info)
    assert chosen == {"s1": "s2", "s2": "s1", "s3": "s3", "s4": None}


@pytest.mark.parametrize("name", ["gastric_example", "lms04"])
def test_eligible_data_meet_the_protocol_and_keep_the_factors(name):
    protocol = Protocol.load(name)
    levels = {f.name: protocol.fields[f.name].levels for f in protocol.stratification}
    for i in range(3):
        factors = {k: v[i % len(v)] for k, v in levels.items() if v}
        data = replica.eligible_data(protocol, {"age": 70 + i}, factors)
        assert protocol.check_eligibility(data).eligible, data
        assert {k: data[k] for k in factors} == factors
        assert data["age"] == 70 + i


def test_shift_moves_every_date_and_nothing_else():
    spec = crf.form_specs(Protocol.load("gastric_example"))["tumour_assessment"]
    data = {"visit": 1, "date": "2020-02-28", "lesions": [
        {"id": "T1", "role": "TARGET", "location": "LIVER", "diameter_mm": 30.0}]}
    moved = replica.shift_record(spec, data, 2)
    assert moved == {**data, "date": "2020-03-01"}
