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
from oncotrial.server.db.models import Allocation, FormRecord, Site, Subject, Trial
from oncotrial.server.security import Principal, require
from oncotrial.server.services import crf_forms
from oncotrial.server.services.subjects import trial_protocol

__all__ = ["MissingForm", "missing_forms"]

#: the states of a planned form that is not saved yet and should be
_MISSING = ("due", "overdue", "missed")


@dataclass(frozen=True, repr=False)
class MissingForm(Result):
    """A planned form with no record: due on ``due`` (window ``earliest``..``latest``)."""

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
        rows = session.scalars(select(FormRecord).where(FormRecord.subject_id == subject.id))
        records = crf_forms.capture_records([(r, subject.code) for r in rows])
        plan = crf.planned_visits(protocol, allocation.allocated_at.date(), records, day,
                                  arm=None if masked else allocation.arm)
        out.extend(MissingForm(subject.code, site, v.form, v.key, v.due, v.earliest, v.latest,
                               v.status) for v in plan if v.status in _MISSING)
    return out
