"""The key test of data capture: a simulated replica entered through the services, locked
at its cut-off, exported and derived gives the same ADaM as the pure path.

Each replica's subjects are registered and randomised through the service, which draws
their arms from its own sealed randomisation, so the comparison is like with like: the
ADaM derived from the locked database's export must equal the ADaM derived from
:func:`oncotrial.clinical.crf.records_to_sdtm` of the same records with the same
allocations. The allocations' dates are set to the replica's randomisation dates (the
replica happened in the past; the service stamps the present), and the checks' clock to
the cut-off, the day the data are complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from pathlib import Path

import pandas as pd
import pytest
from randomisation_fixtures import eligible
from sqlalchemy import select, update

from oncotrial.clinical import SPECS, crf, derive_all
from oncotrial.io import read_folder
from oncotrial.protocol import Protocol
from oncotrial.server.db.models import Allocation, AuditRecord, Subject
from oncotrial.server.services import (
    capture,
    crf_forms,
    exports,
    locking,
    randomisation,
    sealing,
    subjects,
)
from oncotrial.simulate.trial import simulate_trial

SEED = 11


@functools.cache
def _replica(name: str) -> tuple[Protocol, list[crf.CaptureRecord],
                                  dict[str, crf.SubjectInfo], dt.date]:
    sim = simulate_trial(name, seed=SEED)
    protocol = Protocol.load(name)
    records, infos = crf.sdtm_to_records(sim.domains, protocol)
    return protocol, records, infos, pd.Timestamp(sim.cutoff).date()


def _donor(infos: dict[str, crf.SubjectInfo], used: set[str], arm: str,
           factors: dict[str, object]) -> str:
    """The next replica subject not used yet of ``arm`` with the same factors."""
    for code, info in infos.items():
        if code not in used and info.armcd == arm and dict(info.factors) == factors:
            used.add(code)
            return code
    raise AssertionError(f"no replica subject left of arm {arm} with factors {factors}")


def _order(record: crf.CaptureRecord, spec: crf.FormSpec) -> tuple[int, str, str]:
    """Baseline first, then the baseline assessment, then everything by date."""
    if record.form == crf_forms.BASELINE_FORM:
        return (0, "", "")
    if record.form == "tumour_assessment" and record.key == crf_forms.BASELINE_VISIT:
        return (1, "", "")
    return (2, str(record.data.get(spec.date_field or "", "")), record.form)


def _enter(trial, name: str, protocol: Protocol, records: list[crf.CaptureRecord],
           infos: dict[str, crf.SubjectInfo], n: int
           ) -> tuple[list[crf.CaptureRecord], dict[str, crf.SubjectInfo], dict[str, str]]:
    """Register and randomise the replica's first ``n`` subjects; enter for each the data of
    a replica subject of the arm the service allocated and the same factors (the service
    draws its own arms), its allocation dated as that subject's randomisation. Returns the
    records entered, the subjects as the replica knows them, and the arms allocated."""
    factory = trial.factory()
    password = {c.username: c.password for c in trial.users.values()}
    by_subject: dict[str, list[crf.CaptureRecord]] = {}
    for record in records:
        by_subject.setdefault(record.subject, []).append(record)
    arms: dict[str, str] = {}
    entered: list[crf.CaptureRecord] = []
    chosen: dict[str, crf.SubjectInfo] = {}
    applicants = list(infos)[:n]
    used = set(applicants)
    try:
        with factory.begin() as session:
            sealing.go_live(session, trial.principal("admin", factory), seed=SEED)
        for code in applicants:
            info = infos[code]
            inv = trial.principal(f"investigator_{info.site}", factory)
            with factory.begin() as session:
                subjects.register(session, inv, subject_code=code, site_code=info.site,
                                  eligibility=eligible("lms04" if name == "lms04" else name,
                                                       dict(info.factors)),
                                  factors=dict(info.factors))
            with factory.begin() as session:
                arms[code] = randomisation.randomise(
                    session, inv, code, password=password[inv.username],
                    idempotency_key=f"key-{code}").arm or ""
            donor = code if infos[code].armcd == arms[code] else _donor(
                infos, used, arms[code], dict(info.factors))
            chosen[code] = dataclasses.replace(infos[donor], site=info.site)
            entered += [dataclasses.replace(r, subject=code) for r in by_subject.get(donor, [])]
            with factory.begin() as session:
                when = dt.datetime.combine(chosen[code].randomised_on, dt.time(12),
                                           tzinfo=dt.UTC)
                session.execute(update(Allocation).where(Allocation.subject_id == session.scalar(
                    select(Subject.id).where(Subject.code == code))).values(allocated_at=when))
        specs = crf.form_specs(protocol)
        for record in sorted(entered, key=lambda r: (r.subject, *_order(r, specs[r.form]))):
            inv = trial.principal(f"investigator_{chosen[record.subject].site}", factory)
            with factory.begin() as session:
                capture.save_form(session, inv, record.subject, record.form, record.key or None,
                                  dict(record.data))
    finally:
        factory.kw["bind"].dispose()
    return entered, chosen, arms


def _frames(export: exports.SdtmExport, folder: Path) -> dict[str, pd.DataFrame]:
    """The export written and read back as `oncotrial derive --sdtm DIR` reads it."""
    export.write(folder)
    return read_folder(folder, SPECS, required=("DM",))


def _same_adam(got, want) -> None:
    for name in ("adsl", "adtte", "adrs", "adae"):
        pd.testing.assert_frame_equal(getattr(got, name).reset_index(drop=True),
                                      getattr(want, name).reset_index(drop=True),
                                      check_dtype=False, obj=name)


def _check(trial, monkeypatch, name: str, n: int, folder: Path) -> None:
    protocol, all_records, all_infos, cutoff = _replica(name)
    monkeypatch.setattr(crf_forms, "clock", lambda: cutoff)
    records, infos, arms = _enter(trial, name, protocol, all_records, all_infos, n)
    factory = trial.factory()
    try:
        with factory.begin() as session:
            lock = locking.lock(session, trial.principal("data_manager", factory), cutoff)
        with factory.begin() as session:
            export = exports.export_sdtm(session, trial.principal("statistician", factory),
                                         cutoff=cutoff)
        with factory() as session:
            sealed = session.scalars(select(AuditRecord).where(
                AuditRecord.action == "database.lock")).one()
    finally:
        factory.kw["bind"].dispose()
    assert lock.records == len(records) and lock.export_sha256 == export.sha256
    assert {"field": "export_sha256", "old": None, "new": export.sha256} in json.loads(
        sealed.changes_json)
    labels = {a.code: a.label for a in protocol.arms}
    same = {code: dataclasses.replace(info, arm=labels[arms[code]], armcd=arms[code],
                                      actarm=labels[arms[code]], extra={"COUNTRY": "FR"})
            for code, info in infos.items()}
    pure = exports.domain_files(crf.records_to_sdtm(records, protocol, same))
    # the database gives back exactly the files of the pure path
    assert {f.name: export.content(f.name) for f in export.files} == pure
    got = derive_all(_frames(export, folder / "db"), protocol, cutoff=cutoff)
    (folder / "pure").mkdir(parents=True)
    for file_name, content in pure.items():
        (folder / "pure" / file_name).write_bytes(content)
    want = derive_all(read_folder(folder / "pure", SPECS, required=("DM",)), protocol,
                      cutoff=cutoff)
    assert len(got.adsl) == n
    assert set(got.adsl["ARMCD"]) <= set(labels)
    _same_adam(got, want)


@pytest.mark.parametrize("name", ["gastric_example", "lms04"])
def test_replica_locked_exported_and_derived_equals_the_pure_path(make_sqlite_trial,
                                                                 monkeypatch, tmp_path, name):
    sites = _sites(name, 16)
    trial = make_sqlite_trial(name, sites=sites)
    _check(trial, monkeypatch, name, 16, tmp_path / "sdtm")


@pytest.mark.postgres
def test_replica_on_postgresql(make_postgres_trial, monkeypatch, tmp_path):
    trial = make_postgres_trial("gastric_example", sites=_sites("gastric_example", 6))
    _check(trial, monkeypatch, "gastric_example", 6, tmp_path / "sdtm")


def _sites(name: str, n: int) -> tuple[str, ...]:
    _, _, infos, _ = _replica(name)
    found = sorted({i.site for i in list(infos.values())[:n] if i.site is not None})
    return tuple(found) if len(found) >= 2 else (*found, "ZZ")
