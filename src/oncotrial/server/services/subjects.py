"""Subjects: registration with a site-scoped identifier, eligibility data and stratification
factors, and the reads that the site scope filters.

Eligibility is decided once, at registration, by the protocol's own rules
(:meth:`oncotrial.protocol.Protocol.check_eligibility`), and stored with its reasons: a
subject who is not eligible, or whose eligibility cannot be determined, is kept with
status ``ineligible`` so that the refusal is part of the record rather than a request that
left no trace; randomisation refuses such a subject. Values are never coerced, except that
a date arrives from JSON as ISO 8601 text (``2026-01-31``) and is read as that date.

An investigator sees only the subjects of their site. A subject of another site and a
subject that does not exist raise the same :class:`SubjectNotFound` with the same message,
so that an identifier's existence does not leak across sites.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, ConcurrencyConflict, InputError, PermissionDenied
from oncotrial.core.results import Result
from oncotrial.core.specfile import load_yaml
from oncotrial.protocol import Protocol, ProtocolError
from oncotrial.randomise.strata import Design
from oncotrial.server.db.models import Site, Subject, Trial
from oncotrial.server.db.session import is_postgres
from oncotrial.server.security import Principal, in_scope, require
from oncotrial.server.services import audit

__all__ = ["SubjectNotFound", "SubjectView", "get", "list_subjects", "protocol_sha256", "register",
           "subject_row", "trial_protocol"]

#: a subject identifier: letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_PROTOCOLS: dict[str, Protocol] = {}
_PROTOCOLS_LOCK = threading.Lock()


class SubjectNotFound(PermissionDenied):
    """No such subject, or none the principal may see: the API answers 404 for both."""

    not_found = True


def protocol_sha256(text: str) -> str:
    """SHA-256 of a trial's protocol text (UTF-8), as recorded on the trial."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def trial_protocol(trial: Trial | Row[*tuple[Any, ...]]) -> Protocol:
    """The validated protocol of ``trial`` (a row, or its columns), parsed once per protocol
    text: the text is hashed on every call, so a changed text is parsed again."""
    digest = protocol_sha256(trial.protocol_yaml)
    with _PROTOCOLS_LOCK:
        cached = _PROTOCOLS.get(digest)
    if cached is not None:
        return cached
    source = f"trial {trial.code} protocol"
    data = load_yaml(trial.protocol_yaml, source=source, kind="protocol", error=ProtocolError)
    protocol = Protocol.from_dict(data if data is not None else {}, source=source)
    with _PROTOCOLS_LOCK:
        _PROTOCOLS[digest] = protocol
    return protocol


@dataclass(frozen=True, repr=False)
class SubjectView(Result):
    """A subject as the API shows it: no allocation details (see the randomisation views)."""

    code: str
    site: str
    status: str
    eligibility_status: str
    refusal_reasons: tuple[str, ...]
    eligibility: dict[str, Any]
    factors: dict[str, Any]
    created_at: datetime


def _view(subject: Subject, site_code: str) -> SubjectView:
    return SubjectView(subject.code, site_code, subject.status, subject.eligibility_status,
                       tuple(json.loads(subject.refusal_json or "[]")),
                       json.loads(subject.eligibility_json), json.loads(subject.factors_json or "{}"),
                       subject.created_at)


def _trial(session: Session, principal: Principal) -> Trial:
    trial = session.get(Trial, principal.trial_id)
    if trial is None:
        raise InputError(f"trial: no trial with id {principal.trial_id}", field="trial")
    return trial


def _eligibility_data(protocol: Protocol, eligibility: Any) -> dict[str, Any]:
    """The entered data as the rules read it: declared fields only, dates parsed."""
    if not isinstance(eligibility, Mapping):
        raise InputError(f"eligibility: expected an object of field -> value, got "
                         f"{type(eligibility).__name__}", field="eligibility")
    data: dict[str, Any] = {}
    for name, value in eligibility.items():
        spec = protocol.fields.get(str(name))
        if spec is None:
            raise InputError(f"eligibility.{name}: not a field of the protocol (declared: "
                             f"{', '.join(protocol.fields) or 'none'})", field=f"eligibility.{name}")
        if spec.type == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise InputError(f"eligibility.{name}: expected a date YYYY-MM-DD, got {value!r}",
                                 field=f"eligibility.{name}") from None
        data[str(name)] = value
    return data


def _factors(protocol: Protocol, factors: Any, eligibility: Mapping[str, Any]) -> dict[str, str]:
    """The stratification factors in canonical form; a factor left out of ``factors`` is
    taken from the eligibility field of the same name, and the two must agree."""
    if factors is None:
        factors = {}
    if not isinstance(factors, Mapping):
        raise InputError(f"factors: expected an object of factor -> level, got "
                         f"{type(factors).__name__}", field="factors")
    design = Design.from_protocol(protocol)
    try:
        given = design.canonical({**{f: eligibility.get(f) for f in design.factors}, **factors}) \
            if factors else None
        merged: dict[str, Any] = dict(factors)
        for name in design.factors:
            if eligibility.get(name) is not None:
                recorded = design.level(name, eligibility[name])
                if given is not None and name in factors and given[name] != recorded:
                    raise InputError(f"factors.{name}: {factors[name]!r} disagrees with the "
                                     f"eligibility value {eligibility[name]!r}", field=f"factors.{name}")
                merged.setdefault(name, eligibility[name])
        return design.canonical(merged)
    except InputError as exc:
        if exc.field != "stratum":
            raise
        raise InputError(str(exc).replace("stratum", "factors", 1), field="factors") from None


def _request_sha256(subject_code: str | None, site_code: str, eligibility: Any,
                    factors: Any) -> str:
    text = json.dumps({"subject_code": subject_code, "site": site_code,
                       "eligibility": eligibility, "factors": factors},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replayed(session: Session, principal: Principal, trial_id: int, key: str,
              digest: str) -> SubjectView | None:
    """The subject registered earlier with ``key``, if the request is the same; a key used
    for another registration is refused rather than answered with the wrong subject, and
    the key of another site's subject reveals nothing."""
    found = session.execute(select(Subject, Site.code).join(Site, Subject.site_id == Site.id)
                            .where(Subject.trial_id == trial_id,
                                   Subject.idempotency_key == key)).one_or_none()
    if found is None:
        return None
    if not in_scope(principal, found[0].site_id):
        raise PermissionDenied(f"Idempotency-Key {key!r} belongs to a registration at "
                               "another site; send a new key")
    if found[0].request_sha256 != digest:
        raise AllocationError(f"Idempotency-Key {key!r} was used for another registration "
                              f"({found[0].code}); send a new key for a new subject")
    return _view(found[0], found[1])


def register(session: Session, principal: Principal, *, subject_code: str | None, site_code: str,
             eligibility: Mapping[str, Any], factors: Mapping[str, Any] | None,
             idempotency_key: str | None = None, request_id: str | None = None) -> SubjectView:
    """Register a subject at ``site_code`` (inside a write transaction); the eligibility
    decision and its reasons are stored with it. ``subject_code`` ``None`` generates
    ``<SITE>-<nnn>``, the next number at the site. With ``idempotency_key``, a retry of the
    same request returns the subject registered the first time (a different request with
    the same key is a 409), so a double submit never registers a patient twice."""
    require(principal, "subject.register")
    trial = _trial(session, principal)
    digest = _request_sha256(subject_code, site_code, eligibility, factors)
    if idempotency_key is not None:
        earlier = _replayed(session, principal, trial.id, idempotency_key, digest)
        if earlier is not None:
            return earlier
    site = session.scalars(select(Site).where(Site.trial_id == trial.id,
                                              Site.code == site_code)).one_or_none()
    if site is None:
        raise InputError(f"site: no site {site_code!r} in trial {trial.code}", field="site")
    if not in_scope(principal, site.id):
        raise PermissionDenied(f"you may register subjects only at your own site, not {site_code}")
    protocol = trial_protocol(trial)
    data = _eligibility_data(protocol, eligibility)
    strata = _factors(protocol, factors, data)
    if subject_code is None:
        if is_postgres(session):  # serialise number generation per site
            session.execute(select(Site.id).where(Site.id == site.id).with_for_update())
        count = session.scalar(select(func.count()).select_from(Subject).where(Subject.site_id == site.id))
        number = int(count or 0) + 1
        subject_code = f"{site.code}-{number:03d}"
        while session.scalar(select(Subject.id).where(Subject.trial_id == trial.id,
                                                      Subject.code == subject_code)) is not None:
            number += 1
            subject_code = f"{site.code}-{number:03d}"
    elif not isinstance(subject_code, str) or not _CODE.fullmatch(subject_code):
        raise InputError(f"subject_code: expected 1-64 letters, digits, '-', '_' or '.', starting "
                         f"with a letter or digit, got {subject_code!r}", field="subject_code")
    elif session.scalar(select(Subject.id).where(Subject.trial_id == trial.id,
                                                 Subject.code == subject_code)) is not None:
        raise InputError(f"subject_code: {subject_code!r} is already registered in trial "
                         f"{trial.code}", field="subject_code")
    result = protocol.check_eligibility(data)
    reasons = [f"{o.id}: {o.reason}" for o in (*result.failed, *result.undetermined)]
    status = "registered" if result.eligible else "ineligible"
    subject = Subject(trial_id=trial.id, site_id=site.id, code=subject_code, status=status,
                      eligibility_json=json.dumps(data, default=str, sort_keys=True),
                      factors_json=json.dumps(strata, sort_keys=True),
                      eligibility_status=result.status,
                      refusal_json=json.dumps(reasons) if reasons else None,
                      created_at=datetime.now(UTC), created_by=principal.user_id,
                      idempotency_key=idempotency_key,
                      request_sha256=digest if idempotency_key is not None else None)
    session.add(subject)
    try:
        session.flush()
    except IntegrityError:  # the same key, or the same code, registered at the same moment
        raise ConcurrencyConflict(f"subject {subject_code} was being registered by another "
                                  "request; send the registration again") from None
    audit.append(session, action="subject.register", entity="subject", entity_id=subject_code,
                 changes=[("site", None, site.code), ("status", None, status),
                          ("eligibility_status", None, result.status),
                          *((("refusal", None, "; ".join(reasons)),) if reasons else ()),
                          *((f"factor.{k}", None, v) for k, v in strata.items())],
                 principal=principal, trial_id=trial.id, request_id=request_id)
    return _view(subject, site.code)


def subject_row(session: Session, principal: Principal, subject_code: str) -> tuple[Subject, Site]:
    """The subject and its site, if the principal may see it; else :class:`SubjectNotFound`."""
    found = session.execute(select(Subject, Site).join(Site, Subject.site_id == Site.id).where(
        Subject.trial_id == principal.trial_id, Subject.code == subject_code)).one_or_none()
    if found is None or not in_scope(principal, found[0].site_id):
        raise SubjectNotFound(f"no subject {subject_code!r} at your site(s)")
    return found[0], found[1]


def get(session: Session, principal: Principal, subject_code: str) -> SubjectView:
    """One subject (:class:`SubjectNotFound` if absent or out of the principal's scope)."""
    require(principal, "subject.read")
    subject, site = subject_row(session, principal, subject_code)
    return _view(subject, site.code)


def list_subjects(session: Session, principal: Principal) -> list[SubjectView]:
    """The subjects the principal may see, in registration order."""
    require(principal, "subject.read")
    query = select(Subject, Site).join(Site, Subject.site_id == Site.id).where(
        Subject.trial_id == principal.trial_id).order_by(Subject.id)
    if principal.site_id is not None and principal.role == "investigator":
        query = query.where(Subject.site_id == principal.site_id)
    return [_view(subject, site.code) for subject, site in session.execute(query).all()
            if in_scope(principal, subject.site_id)]
