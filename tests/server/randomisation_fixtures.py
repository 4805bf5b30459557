"""Support of the randomisation-service tests (imported by name; conftest.py is foundation's).

:func:`build_trial` creates a whole trial in a fresh database — sites, one investigator per
site and one user of every central role — and returns a :class:`TrialDB` handle. The
worker functions at the bottom run in separate processes (multiprocessing ``spawn``):
each opens its own engine, waits on a barrier and randomises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oncotrial.core.errors import AllocationError, ConcurrencyConflict
from oncotrial.server.db.models import User
from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
from oncotrial.server.db.upgrade import upgrade
from oncotrial.server.security import Principal
from oncotrial.server.services import accounts, randomisation, sealing, subjects
from oncotrial.server.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
BLINDED = str(DATA / "gastric_blinded.yaml")
PASSWORD = "Randomise-Me-2026"
#: argon2 at its lowest cost: the tests hash hundreds of passwords
FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}

#: eligible patients of each protocol, by stratum values
_LMS04_BASE = {"age": 60, "histology": "leiomyosarcoma", "expert_pathology_review": True,
               "unresectable": True, "prior_chemotherapy": False, "measurable_lesions": 2,
               "ecog": 1, "adequate_organ_function": True, "other_cancer_in_remission_lt_3y": False,
               "cns_metastases": False}
_GASTRIC_BASE = {"age": 64, "histology": "adenocarcinoma", "her2_positive": False,
                 "measurable_or_evaluable": True, "prior_systemic_therapy_advanced": False,
                 "creatinine_clearance": 80, "autoimmune_disease_active": False}


def eligible(protocol_name: str, factors: dict[str, Any]) -> dict[str, Any]:
    """Eligibility data of an eligible patient of ``protocol_name`` with ``factors``."""
    base = _LMS04_BASE if protocol_name == "lms04" else _GASTRIC_BASE
    return {**base, **factors}


def sqlite_url(folder: Path, name: str = "trial.db") -> str:
    return f"sqlite:///{folder / name}"


@dataclasses.dataclass
class TrialDB:
    """A trial in a database: its URL, an engine, a session factory and the users."""

    url: str
    protocol: str
    engine: Engine
    factory: sessionmaker[Session]
    sites: list[str]
    trial_id: int

    def principal(self, username: str) -> Principal:
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return accounts.principal(session, user)

    def investigator(self, site: str) -> Principal:
        return self.principal(f"inv-{site}")

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with write_transaction(self.factory) as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.factory() as session:
            yield session

    def go_live(self, *, per_stratum: int | None = None, seed: int = 20261203) -> randomisation.GoLive:
        with self.write() as session:
            return sealing.go_live(session, self.principal("admin"), per_stratum=per_stratum,
                                         seed=seed)

    def register(self, site: str, factors: dict[str, Any], code: str | None = None,
                 eligibility: dict[str, Any] | None = None) -> subjects.SubjectView:
        data = eligible(self.protocol, factors) if eligibility is None else eligibility
        with self.write() as session:
            return subjects.register(session, self.investigator(site), subject_code=code,
                                     site_code=site, eligibility=data, factors=factors)

    def randomise(self, subject: str, site: str, key: str | None = None) -> randomisation.AllocationView:
        with self.write() as session:
            return randomisation.randomise(session, self.investigator(site), subject, password=PASSWORD,
                                           idempotency_key=key or str(uuid.uuid4()))

    def dispose(self) -> None:
        self.engine.dispose()


def build_trial(url: str, protocol: str = "lms04", *, n_sites: int = 2,
                migrate: bool = False) -> TrialDB:
    """A fresh trial of ``protocol`` (bundled name or YAML path) in the migrated database
    at ``url`` (``migrate``: run the migrations first) with sites ``S01``...,
    investigators ``inv-S01``..., and ``admin``, ``stat`` (unblinded statistician),
    ``monitor``, ``dm`` (data manager); every password is :data:`PASSWORD`."""
    if migrate:
        upgrade(url)
    settings = Settings(database_url=url, **FAST)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    sites = [f"S{i:02d}" for i in range(1, n_sites + 1)]
    with write_transaction(factory) as session:
        trial = accounts.init_trial(session, protocol, sites=[(s, f"Site {s}", "FR") for s in sites],
                                    admin_username="admin", admin_password=PASSWORD, settings=settings)
        trial_id = trial.id
        for site in sites:
            accounts.add_user(session, None, f"inv-{site}", PASSWORD, "investigator", site,
                              trial_code=trial.code, settings=settings)
        for name, role in (("stat", "unblinded_statistician"), ("monitor", "monitor"),
                           ("dm", "data_manager")):
            accounts.add_user(session, None, name, PASSWORD, role, trial_code=trial.code,
                              settings=settings)
    name = "lms04" if protocol == "lms04" else "gastric"
    return TrialDB(url, name, engine, factory, sites, trial_id)


def open_trial(url: str, protocol: str) -> TrialDB:
    """A handle on an existing trial (in a worker process: its own engine)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        from oncotrial.server.db.models import Site

        sites = list(session.scalars(select(Site.code).order_by(Site.id)))
        trial_id = session.scalars(select(Site.trial_id)).first() or 1
    return TrialDB(url, protocol, engine, factory, sites, trial_id)


# ----------------------------------------------------------------------------- workers

def _attempt(db: TrialDB, subject: str, site: str, key: str) -> tuple[str, str]:
    """("ok", code-or-arm) / ("refused", message); a retry-able conflict is retried."""
    for _ in range(200):
        try:
            view = db.randomise(subject, site, key)
            return "ok", f"{view.sequence}:{view.arm or view.code}"
        except AllocationError as exc:
            return "refused", str(exc)
        except ConcurrencyConflict:
            continue
    return "conflict", "gave up after 200 retries"


def worker_randomise(url: str, protocol: str, jobs: list[tuple[str, str, str]], barrier: Any,
                     results: Any) -> None:
    """Randomise ``jobs`` (subject, site, idempotency key) after the barrier; put each
    outcome on ``results``."""
    db = open_trial(url, protocol)
    try:
        db.principal("admin")  # warm up: connect and import before the barrier
        barrier.wait(timeout=120)
        for subject, site, key in jobs:
            results.put((subject, *_attempt(db, subject, site, key)))
    finally:
        db.dispose()


def worker_loop(url: str, protocol: str, jobs: list[tuple[str, str]], done: Any) -> None:
    """Randomise ``jobs`` one after the other, reporting each committed allocation on
    ``done`` (the crash test kills this process part-way)."""
    db = open_trial(url, protocol)
    for subject, site in jobs:
        outcome = _attempt(db, subject, site, f"key-{subject}")
        done.put((subject, *outcome))
