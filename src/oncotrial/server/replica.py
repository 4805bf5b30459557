"""Loading a trial's captured data into a running service through its HTTP API, as the
sites would enter them: register each subject with its eligibility data and
stratification factors, randomise it, then save its forms.

The service decides every arm from its own sealed list, and randomises on the day of the
request: the records (:func:`oncotrial.clinical.crf.sdtm_to_records` of a simulated
replica, say) are therefore moved in time subject by subject, so that each subject's
history starts on the day the service randomised it (:func:`shift_record`); times from
randomisation are unchanged. The captured trial's arms are the service's, not the
records' source's: compare it with the same records exported directly with the
service's allocations (:func:`oncotrial.clinical.crf.records_to_sdtm`), never with the
source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import pandas as pd

from oncotrial.clinical import SPECS, crf
from oncotrial.core.errors import InputError, OncotrialError
from oncotrial.core.results import Result
from oncotrial.protocol import Protocol
from oncotrial.protocol.population import Rule

__all__ = ["Allocated", "LoadedReplica", "ServiceClient", "ServiceError", "eligible_data",
           "entry_order", "load_replica", "match_sources", "read_sdtm_zip", "service_subjects", "shift_record"]


class ServiceError(OncotrialError):
    """The service refused a request: the method, path, status and its answer."""


class ServiceClient:
    """One user's session with the service over HTTP (a bearer token from
    ``POST /api/auth/login``); requests share the caller's :class:`httpx.Client`."""

    def __init__(self, http: httpx.Client, username: str, password: str) -> None:
        self.http = http
        self.username = username
        self.password = password
        response = http.post("/api/auth/login", json={"username": username, "password": password})
        if response.status_code != 200:
            raise ServiceError(f"login of {username}: {response.status_code} {response.text}")
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}

    def call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> httpx.Response:
        """The answer to one request; any status but 2xx is a :class:`ServiceError`."""
        response = self.http.request(method, path, json=body, params=params,
                                     headers={**self.headers, **(headers or {})})
        if not response.is_success:
            raise ServiceError(f"{method} {path} as {self.username}: {response.status_code} "
                               f"{response.text[:2000]}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()


# ----------------------------------------------------------------------------- the data

def _satisfy(rule: Rule, protocol: Protocol, out: dict[str, Any]) -> None:
    """Set in ``out`` a value of each field ``rule`` tests that makes it hold. Every
    alternative of an ``any`` is met in turn (the last one wins a field they share), so that
    a known value put over one of them later still leaves another holding."""
    for group in (rule.all, rule.any):
        if group is not None:
            for sub in group:
                _satisfy(sub, protocol, out)
            return
    assert rule.field is not None
    spec = protocol.fields[rule.field]
    value = rule.value
    if isinstance(value, dt.date):
        step: Any = dt.timedelta(days=1)
        value = value.isoformat() if rule.op in ("==", "<=", ">=") else value
    else:
        step = 1
    if rule.op == "is_true":
        out[rule.field] = True
    elif rule.op == "is_false":
        out[rule.field] = False
    elif rule.op in ("==", "<=", ">="):
        out[rule.field] = value
    elif rule.op in ("<", ">"):
        moved = value - step if rule.op == "<" else value + step
        out[rule.field] = moved.isoformat() if isinstance(moved, dt.date) else moved
    elif rule.op == "in":
        out[rule.field] = value[0]
    elif rule.op == "!=":
        out[rule.field] = (not value if spec.type == "boolean" else
                           next((v for v in spec.levels or [] if v != value), None)
                           if spec.type == "category" else value + step)
    elif rule.op == "not_in":
        out[rule.field] = next(v for v in spec.levels or [] if v not in value)


def eligible_data(protocol: Protocol, known: Mapping[str, Any],
                  factors: Mapping[str, Any]) -> dict[str, Any]:
    """Eligibility data of a subject the records say was randomised: its stratification
    ``factors`` (registration refuses eligibility data that disagree with them), the
    protocol's fields that ``known`` holds (age...) where they keep the subject eligible,
    and for every other field a value that meets the protocol's rules. The records hold no
    screening data, and an eligible subject is what they imply."""
    data: dict[str, Any] = {}
    for criterion in protocol.eligibility:
        _satisfy(criterion, protocol, data)
    data.update({k: v for k, v in factors.items() if k in protocol.fields})
    for name, value in known.items():
        if name in protocol.fields and value is not None:
            trial = {**data, name: value}
            parsed = {k: dt.date.fromisoformat(v) if protocol.fields[k].type == "date"
                      and isinstance(v, str) else v for k, v in trial.items()}
            if protocol.check_eligibility(parsed).eligible:
                data = trial
    return data


def _shift(value: Any, days: int) -> Any:
    if isinstance(value, str):
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


def shift_record(spec: crf.FormSpec, data: Mapping[str, Any], days: int) -> dict[str, Any]:
    """The record's values with every date field (and every date of its lesions) moved by
    ``days``."""
    out = dict(data)
    for field in spec.fields:
        value = out.get(field.name)
        if value is None:
            continue
        if field.kind == "date":
            out[field.name] = _shift(value, days)
        elif field.kind == "lesions" and isinstance(value, list):
            dated = [f.name for f in field.item_fields if f.kind == "date"]
            out[field.name] = [{**item, **{n: _shift(item[n], days) for n in dated
                                           if item.get(n) is not None}} for item in value]
    return out


def entry_order(specs: Mapping[str, crf.FormSpec], records: Sequence[crf.CaptureRecord],
                ) -> list[crf.CaptureRecord]:
    """A subject's records in the order a site enters them: the baseline form, the
    baseline tumour assessment, then by date (the checks of a form read the earlier ones:
    height and weight for doses, the baseline lesions for a response)."""
    def key(record: crf.CaptureRecord) -> tuple[int, str, str]:
        if specs[record.form].date_field is None:
            return (0, "", record.key)
        if crf.record_key(specs[record.form], record.data) == "0":
            return (1, "", record.form)
        day = record.data.get(specs[record.form].date_field or "")
        return (2, str(day or ""), record.form)
    return sorted(records, key=key)


@dataclasses.dataclass(frozen=True, repr=False)
class Allocated(Result):
    """A subject as the service randomised it (the arm as the unblinded statistician sees
    it), the source subject whose records were entered for it (``None``: no source subject
    of its arm was left) and how many days those records were moved."""

    subject: str
    site: str
    armcd: str
    randomised_on: dt.date
    stratum: dict[str, str]
    source: str | None
    shift_days: int


@dataclasses.dataclass(frozen=True, repr=False)
class LoadedReplica(Result):
    """What :func:`load_replica` entered: the subjects and their allocations, the records
    saved (as sent, under the subjects' codes), the HTTP requests made and the seconds
    taken."""

    allocations: tuple[Allocated, ...]
    records: tuple[crf.CaptureRecord, ...]
    requests: int
    seconds: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([a.to_dict() for a in self.allocations])


def match_sources(registered: Sequence[str], arms: Mapping[str, str],
                  subjects: Mapping[str, crf.SubjectInfo]) -> dict[str, str | None]:
    """Which source subject's records each registered subject gets: itself if the service
    gave it the arm the source had, else the first unused source subject of that arm with
    the same factors, else of that arm in any stratum (``None`` when none is left).
    ``registered`` in randomisation order; sources in their own randomisation order."""
    pool = sorted(subjects, key=lambda s: (subjects[s].randomised_on or dt.date.max, s))
    used: set[str] = set()
    out: dict[str, str | None] = {}
    for code in registered:
        arm = arms[code]
        same = [s for s in pool if s not in used and subjects[s].armcd == arm]
        strata = [s for s in same if dict(subjects[s].factors) == dict(subjects[code].factors)]
        choice: str | None = code if code in same else next(iter(strata or same), None)
        if choice is not None:
            used.add(choice)
        out[code] = choice
    return out


def _as_entered(spec: crf.FormSpec, record: crf.CaptureRecord, code: str, days: int,
                factors: Mapping[str, Any]) -> crf.CaptureRecord:
    """A source record under the registered subject's code, its dates moved; the baseline's
    stratification fields are those registered."""
    data = shift_record(spec, record.data, days)
    if spec.date_field is None:
        names = {f.name for f in spec.fields}
        data.update({k: v for k, v in factors.items() if k in names})
    return crf.CaptureRecord(code, record.form, record.key, data)


def load_replica(http: httpx.Client, protocol: Protocol, records: Sequence[crf.CaptureRecord],
                 subjects: Mapping[str, crf.SubjectInfo], *, investigators: Mapping[str, str],
                 statistician: str, password: str, limit: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> LoadedReplica:
    """Enter a trial through the HTTP API of the live service ``http`` points at (whose
    sites are the subjects' sites; ``investigators``: site -> an investigator's username;
    every user has ``password``).

    First every subject (the first ``limit`` in randomisation order) is registered, with
    its factors and eligibility data, and randomised, at its site. Then each gets the
    records of a source subject of the arm the service gave it (:func:`match_sources`: the
    service's list, not the source's, decides the arms, and a subject's course belongs to
    its arm), moved in time so that they start on the day of its randomisation.
    ``progress(stage, done, total)`` is called after each subject."""
    start = time.perf_counter()
    specs = crf.form_specs(protocol)
    by_subject: dict[str, list[crf.CaptureRecord]] = {s: [] for s in subjects}
    for record in records:
        if record.subject not in by_subject:
            raise InputError(f"records: subject {record.subject!r} of a {record.form} record is "
                             "not among the subjects", field="subject")
        by_subject[record.subject].append(record)
    clients = {site: ServiceClient(http, user, password) for site, user in investigators.items()}
    requests = len(clients)
    order = sorted(subjects, key=lambda s: (subjects[s].randomised_on or dt.date.max, s))
    order = order[:limit] if limit is not None else order
    for done, code in enumerate(order, 1):
        info = subjects[code]
        if info.site is None or info.site not in clients or info.randomised_on is None:
            raise InputError(f"subjects: {code} needs a site with an investigator and a "
                             "randomisation date", field="subjects")
        baseline = next((r.data for r in by_subject[code] if r.form == "baseline"), {})
        body = {"subject_code": code, "site": info.site, "factors": dict(info.factors),
                "eligibility": eligible_data(protocol, baseline, info.factors)}
        registered = clients[info.site].json("POST", "/api/subjects", body=body)
        if registered["status"] != "registered":
            raise ServiceError(f"{code} was registered as {registered['status']}: "
                               f"{registered['refusal_reasons']}")
        clients[info.site].call("POST", f"/api/subjects/{code}/randomise",
                                body={"password": password},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        requests += 2
        if progress is not None:
            progress("Registering and randomising through the API", done, len(order))
    stat = ServiceClient(http, statistician, password)
    arms = {a["subject"]: a for a in stat.json("GET", "/api/allocations") if a["status"] == "active"}
    requests += 2
    sources = match_sources(order, {c: str(arms[c]["arm"]) for c in order}, subjects)
    allocated: list[Allocated] = []
    entered: list[crf.CaptureRecord] = []
    for done, code in enumerate(order, 1):
        info, source = subjects[code], sources[code]
        day = dt.datetime.fromisoformat(arms[code]["allocated_at"]).date()
        stratum = dict(arms[code]["stratum"])
        shift = 0
        if source is not None:
            origin = subjects[source].randomised_on
            assert origin is not None
            shift = (day - origin).days
            for record in entry_order(specs, by_subject[source]):
                spec = specs[record.form]
                item = _as_entered(spec, record, code, shift, info.factors)
                path = f"/api/subjects/{code}/forms/{record.form}"
                saved = clients[str(info.site)].json(
                    "POST", f"{path}/{record.key}" if record.key else path,
                    body={"data": dict(item.data)})
                if saved["key"] != record.key:
                    raise ServiceError(f"{code}: {record.form} saved under the key "
                                       f"{saved['key']!r}, not {record.key!r}")
                entered.append(item)
                requests += 1
        allocated.append(Allocated(code, str(info.site), str(arms[code]["arm"]), day, stratum,
                                   source, shift))
        if progress is not None:
            progress("Entering the forms through the API", done, len(order))
    return LoadedReplica(tuple(allocated), tuple(entered), requests, time.perf_counter() - start)


def service_subjects(protocol: Protocol, study_id: str, allocations: Sequence[Allocated],
                     countries: Mapping[str, str | None]) -> dict[str, crf.SubjectInfo]:
    """The subjects as the service knows them (its arms, randomisation dates and frozen
    strata; the site's country), to export records directly exactly as the service does."""
    labels = {a.code: a.label for a in protocol.arms}
    out: dict[str, crf.SubjectInfo] = {}
    for a in sorted(allocations, key=lambda a: a.subject):
        country = countries.get(a.site)
        out[a.subject] = crf.SubjectInfo(
            study_id=study_id, site=a.site, arm=labels.get(a.armcd, a.armcd), armcd=a.armcd,
            actarm=labels.get(a.armcd, a.armcd), randomised_on=a.randomised_on,
            factors=dict(a.stratum), extra={"COUNTRY": country} if country else {})
    return out


def read_sdtm_zip(content: bytes) -> dict[str, pd.DataFrame]:
    """The domains of an export's zip archive (``dm.csv`` -> ``DM``), the columns SDTM
    declares as text read as text: a site ``01`` stays ``01``, not the number 1."""
    out: dict[str, pd.DataFrame] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            domain = name.removesuffix(".csv").upper()
            spec = SPECS.get(domain)
            text = {c.name: str for c in spec.columns if c.kind == "text"} if spec else {}
            out[domain] = pd.read_csv(io.BytesIO(archive.read(name)), dtype=text,
                                      keep_default_na=False, na_values=[""])
    return out
