"""Electronic data capture: saving and editing a subject's forms, and reading casebooks.

The forms are those of the trial's protocol (:func:`oncotrial.clinical.crf.form_specs`);
the service validates what a site enters with the same pure
:func:`oncotrial.clinical.crf.validate_form` that checks imported data, and stores only
clean values: when any field is wrong nothing is saved, and :class:`FormInvalid` names
every field with its message (the API answers 422 with one entry per field). An
assessment record also stores the response computed at entry
(:func:`oncotrial.clinical.crf.assessment_response`), so the site sees at once what its
measurements mean.

Every save and edit is audited field by field, old and new value, in the transaction of
the change (21 CFR 11.10(e)); an edit of saved data needs a reason. An edit after the
investigator signed the casebook voids the signature (:mod:`.signatures`), and a record
frozen by a database lock is not edited until an admin unlocks (:mod:`.locking`).

Site scope as everywhere: an investigator enters and reads their own site's subjects;
a subject of another site is a 404, like one that does not exist. The records hold no
allocation: no role learns an arm from a casebook.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oncotrial.clinical import crf
from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.core.results import Result
from oncotrial.server.db.models import DataQuery, FormRecord, SdvFlag, Site, Subject, Trial, User
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, crf_forms, locking, signatures
from oncotrial.server.services.subjects import subject_row, trial_protocol

__all__ = ["FormInvalid", "RecordNotFound", "RecordView", "edit_form", "form_specs", "get_form",
           "label", "list_records", "prefill", "record_fields", "record_row", "record_view",
           "save_form"]


class FormInvalid(InputError):
    """A form that does not validate: ``issues`` lists every field and its message; the
    error's own ``field`` is the first one's (the API reports each on its field)."""

    def __init__(self, form: str, issues: Sequence[crf.FieldIssue]) -> None:
        self.issues = tuple(issues)
        lines = "; ".join(f"{i.field}: {i.message}" for i in self.issues)
        super().__init__(f"form {form}: {lines}",
                         field=f"data.{self.issues[0].field}" if self.issues else "data")


class RecordNotFound(PermissionDenied):
    """No such record at the principal's sites: the API answers 404."""

    not_found = True


@dataclass(frozen=True, repr=False)
class RecordView(Result):
    """A saved form as the API shows it; ``verified_version`` is the version a monitor
    verified last (``None``: never), ``open_queries`` how many queries await an answer."""

    subject: str
    form: str
    key: str
    data: dict[str, Any]
    response: dict[str, Any] | None
    record_date: dt.date | None
    version: int
    status: str
    verified_version: int | None
    open_queries: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


def label(record: FormRecord) -> str:
    """``form`` or ``form[key]``: how the audit trail names a record's fields."""
    return record.form if not record.repeat_key else f"{record.form}[{record.repeat_key}]"


def _username(session: Session, user_id: int) -> str:
    return session.scalar(select(User.username).where(User.id == user_id)) or str(user_id)


def record_view(session: Session, record: FormRecord, subject_code: str) -> RecordView:
    """The view of one record (with its verification and open queries)."""
    verified = session.scalar(select(func.max(SdvFlag.version)).where(
        SdvFlag.record_id == record.id))
    open_queries = session.scalar(select(func.count()).select_from(DataQuery).where(
        DataQuery.record_id == record.id, DataQuery.status != "closed"))
    return RecordView(subject_code, record.form, record.repeat_key, json.loads(record.data_json),
                      json.loads(record.response_json) if record.response_json else None,
                      record.record_date, record.version, record.status,
                      None if verified is None else int(verified), int(open_queries or 0),
                      record.created_at, _username(session, record.created_by),
                      record.updated_at, _username(session, record.updated_by))


def form_specs(session: Session, principal: Principal) -> dict[str, dict[str, Any]]:
    """The forms of the trial's protocol (name -> spec as plain data)."""
    require(principal, "form.read")
    return crf_forms.spec_dicts(trial_protocol(_trial(session, principal)))


def _trial(session: Session, principal: Principal) -> Trial:
    trial = session.get(Trial, principal.trial_id)
    if trial is None:
        raise InputError(f"trial: no trial with id {principal.trial_id}", field="trial")
    return trial


def record_row(session: Session, principal: Principal, subject_code: str, form: str,
               key: str | None) -> tuple[FormRecord, Subject, Site]:
    """A saved record of a subject the principal may see; else :class:`RecordNotFound`
    (or the subject's own 404)."""
    subject, site = subject_row(session, principal, subject_code)
    record = session.scalars(select(FormRecord).where(
        FormRecord.subject_id == subject.id, FormRecord.form == form,
        FormRecord.repeat_key == (key or ""))).one_or_none()
    if record is None:
        shown = form if not key else f"{form}[{key}]"
        raise RecordNotFound(f"no {shown} record of subject {subject_code}")
    return record, subject, site


def record_fields(session: Session, record: FormRecord) -> set[str]:
    """The fields a query may be about: those of the record's form."""
    protocol = trial_protocol(session.get_one(Trial, record.trial_id))
    return {f.name for f in crf_forms.spec(protocol, record.form).fields}


@dataclass(frozen=True)
class _Clean:
    key: str
    values: dict[str, Any]
    day: dt.date | None
    assessment: bool


def _clean(session: Session, principal: Principal, subject: Subject, form: str,
           key: str | None, data: Any) -> _Clean:
    """The validated values of ``data`` for ``form`` of ``subject``, the record's key and
    date; :class:`FormInvalid` naming every bad field (nothing is written before)."""
    trial = _trial(session, principal)
    protocol = trial_protocol(trial)
    spec = crf_forms.spec(protocol, form)
    if not isinstance(data, Mapping):
        raise InputError(f"data: expected an object of field -> value, got "
                         f"{type(data).__name__}", field="data")
    masked = bool(protocol.randomisation.blinded)
    context = crf_forms.context(session, trial, subject, masked=masked,
                                replacing=(form, key or ""), data=data)
    checked = crf.validate_form(spec, dict(data), context)
    if checked.issues:
        raise FormInvalid(form, checked.issues)
    values = dict(checked.values)
    derived = crf.record_key(spec, values)
    if key is not None and key != derived:
        raise InputError(f"key: the data give the key {derived!r} ({', '.join(spec.key_fields)}), "
                         f"not {key!r}", field="key")
    # an undated form (baseline) is about the subject as randomised
    day_text = values.get(spec.date_field) if spec.date_field else None
    day = dt.date.fromisoformat(day_text) if isinstance(day_text, str) else context.randomised_on
    return _Clean(derived, values, day, crf_forms.assessment_form(spec))


def prefill(session: Session, principal: Principal, subject_code: str, form: str,
            phase: str | None = None) -> dict[str, Any]:
    """What the entry form of ``form`` starts with for the subject: for a form with doses
    (a cycle), its phase (``phase``, or the first the form offers) and each drug's protocol
    dose and computed total (:func:`oncotrial.clinical.crf.protocol_doses`); nothing for
    another form."""
    require(principal, "form.write")
    subject, _ = subject_row(session, principal, subject_code)
    trial = _trial(session, principal)
    protocol = trial_protocol(trial)
    spec = crf_forms.spec(protocol, form)
    if not spec.doses:
        return {}
    phases = list(dict.fromkeys(rule.phase for rule in spec.doses))
    chosen = phase if phase in phases else phases[0]
    context = crf_forms.context(session, trial, subject,
                                masked=bool(protocol.randomisation.blinded))
    return {"phase": chosen, **crf.protocol_doses(spec, chosen, context)}


def _refresh_responses(session: Session, subject: Subject, form: str) -> None:
    """Recompute the response of every assessment of the subject (an earlier one, or the
    baseline, changes what the later ones mean)."""
    rows = list(session.scalars(select(FormRecord).where(
        FormRecord.subject_id == subject.id, FormRecord.form == form)))
    computed = crf_forms.responses([(r.repeat_key, json.loads(r.data_json)) for r in rows])
    for row in rows:
        value = computed.get(row.repeat_key)
        text = None if value is None else _dumps({"overall_response": value})
        if row.response_json != text:
            row.response_json = text
    session.flush()


def _dumps(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def save_form(session: Session, principal: Principal, subject_code: str, form: str,
              key: str | None, data: Any, *, request_id: str | None = None) -> RecordView:
    """Save a new record (investigator of the subject's site; inside a write transaction).
    The key of a repeating form comes from its data (``key``, if given, must agree)."""
    require(principal, "form.write")
    subject, _ = subject_row(session, principal, subject_code)
    clean = _clean(session, principal, subject, form, key, data)
    shown = form if not clean.key else f"{form}[{clean.key}]"
    if session.scalar(select(FormRecord.id).where(
            FormRecord.subject_id == subject.id, FormRecord.form == form,
            FormRecord.repeat_key == clean.key)) is not None:
        raise InputError(f"key: {shown} of subject {subject_code} is already saved; edit it "
                         "(PUT, with a reason)", field="key")
    locking.check_writable(session, principal.trial_id, None, clean.day, shown)
    now = dt.datetime.now(dt.UTC)
    record = FormRecord(trial_id=principal.trial_id, subject_id=subject.id, form=form,
                        repeat_key=clean.key, data_json=_dumps(clean.values),
                        response_json=None, record_date=clean.day, version=1, status="saved",
                        lock_id=None, created_at=now, created_by=principal.user_id,
                        updated_at=now, updated_by=principal.user_id)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:  # the same record saved at the same time by another request
        raise InputError(f"key: {shown} of subject {subject_code} is already saved; edit it "
                         "(PUT, with a reason)", field="key") from None
    if clean.assessment:
        _refresh_responses(session, subject, form)
    audit.append(session, action="form.save", entity="subject", entity_id=subject.code,
                 changes=[(f"{shown}.{name}", None, value)
                          for name, value in sorted(clean.values.items())],
                 principal=principal, request_id=request_id)
    signatures.void(session, principal, subject, f"{shown} saved", request_id=request_id)
    return record_view(session, record, subject.code)


def edit_form(session: Session, principal: Principal, subject_code: str, form: str,
              key: str | None, data: Any, *, reason: Any,
              request_id: str | None = None) -> RecordView:
    """Replace a saved record's data (investigator of the subject's site, with a reason);
    the audit record holds every changed field's old and new value. Data equal to the
    saved ones change nothing."""
    require(principal, "form.write")
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("reason: a change of saved data needs a reason", field="reason")
    record, subject, _ = record_row(session, principal, subject_code, form, key)
    shown = label(record)
    clean = _clean(session, principal, subject, form, record.repeat_key, data)
    locking.check_writable(session, principal.trial_id, record, clean.day, shown)
    old = json.loads(record.data_json)
    new = json.loads(_dumps(clean.values))
    changes = [(f"{shown}.{name}", old.get(name), new.get(name))
               for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    if not changes:
        return record_view(session, record, subject.code)
    record.data_json = _dumps(clean.values)
    record.record_date = clean.day
    record.version += 1
    record.updated_at = dt.datetime.now(dt.UTC)
    record.updated_by = principal.user_id
    session.flush()
    if clean.assessment:
        _refresh_responses(session, subject, form)
    audit.append(session, action="form.edit", entity="subject", entity_id=subject.code,
                 changes=[*changes, (f"{shown}.version", record.version - 1, record.version)],
                 principal=principal, reason=reason.strip(), request_id=request_id)
    signatures.void(session, principal, subject, f"{shown} edited", request_id=request_id)
    return record_view(session, record, subject.code)


def get_form(session: Session, principal: Principal, subject_code: str, form: str,
             key: str | None) -> RecordView:
    """One saved record."""
    require(principal, "form.read")
    record, subject, _ = record_row(session, principal, subject_code, form, key)
    return record_view(session, record, subject.code)


def list_records(session: Session, principal: Principal, subject_code: str) -> tuple[Subject, Site, list[RecordView]]:
    """A subject's records in the order they were saved."""
    require(principal, "form.read")
    subject, site = subject_row(session, principal, subject_code)
    rows = session.scalars(select(FormRecord).where(FormRecord.subject_id == subject.id)
                           .order_by(FormRecord.id))
    return subject, site, [record_view(session, r, subject.code) for r in rows]
