"""Forms missing or overdue: each randomised subject's planned cycles and tumour
assessments (:func:`oncotrial.clinical.crf.planned_visits`, from the protocol's schedule
and the subject's randomisation date) against the records saved, per site.

An investigator sees their own site's list. The plan uses the subject's arm only in an
open-label trial; in a masked one it is the schedule common to the arms, so the list says
nothing about the allocation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.clinical import crf
from oncotrial.core.results import Result
from oncotrial.protocol import Protocol
from oncotrial.server.db.models import Allocation, FormRecord, Site, Subject, Trial
from oncotrial.server.security import Principal, require
from oncotrial.server.services import crf_forms
from oncotrial.server.services.subjects import subject_row, trial_protocol

__all__ = ["MissingForm", "missing_forms", "subject_schedule"]

#: the states of a planned form that is not saved yet and should be
_MISSING = ("due", "overdue", "missed")


@dataclass(frozen=True, repr=False)
class MissingForm(Result):
    """A planned form: due on ``due`` (window ``earliest``..``latest``) and its state
    (``done``, ``planned``, ``due``, ``overdue``, ``missed``); the missing-forms list holds
    only those not saved yet that should be."""

    subject: str
    site: str
    form: str
    key: str
    due: dt.date
    earliest: dt.date
    latest: dt.date
    status: str


def missing_forms(session: Session, principal: Principal, *,
                  as_of: dt.date | None = None) -> list[MissingForm]:
    """The planned forms due, overdue or missed on ``as_of`` (default today) of the
    randomised subjects the principal may see, by subject."""
    require(principal, "form.read")
    day = as_of or crf_forms.clock()
    trial = session.get_one(Trial, principal.trial_id)
    protocol = trial_protocol(trial)
    masked = bool(protocol.randomisation.blinded)
    query = select(Subject, Site.code, Allocation).join(Site, Subject.site_id == Site.id).join(
        Allocation, Allocation.subject_id == Subject.id).where(
        Subject.trial_id == trial.id, Allocation.status == "active").order_by(Subject.code)
    if principal.role == "investigator":
        query = query.where(Subject.site_id == principal.site_id)
    out: list[MissingForm] = []
    for subject, site, allocation in session.execute(query).all():
        out.extend(v for v in _plan(session, protocol, subject, site, allocation, day, masked)
                   if v.status in _MISSING)
    return out


def _plan(session: Session, protocol: Protocol, subject: Subject, site: str,
          allocation: Allocation, day: dt.date, masked: bool) -> list[MissingForm]:
    rows = session.scalars(select(FormRecord).where(FormRecord.subject_id == subject.id))
    records = crf_forms.capture_records([(r, subject.code) for r in rows])
    plan = crf.planned_visits(protocol, allocation.allocated_at.date(), records, day,
                              arm=None if masked else allocation.arm)
    return [MissingForm(subject.code, site, v.form, v.key, v.due, v.earliest, v.latest,
                        v.status) for v in plan]


def subject_schedule(session: Session, principal: Principal, subject_code: str, *,
                     as_of: dt.date | None = None) -> list[MissingForm]:
    """Every planned cycle and tumour assessment of one subject with its state on
    ``as_of`` (default today); empty before randomisation. Another site's subject is not
    found, for an investigator."""
    require(principal, "form.read")
    subject, site = subject_row(session, principal, subject_code)
    allocation = session.scalars(select(Allocation).where(
        Allocation.subject_id == subject.id, Allocation.status == "active")).one_or_none()
    if allocation is None:
        return []
    protocol = trial_protocol(session.get_one(Trial, principal.trial_id))
    return _plan(session, protocol, subject, site.code, allocation, as_of or crf_forms.clock(),
                 bool(protocol.randomisation.blinded))
