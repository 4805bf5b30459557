"""The SDTM export of the captured data: database -> :func:`oncotrial.clinical.crf.records_to_sdtm`
-> one CSV file per domain, then ``oncotrial derive`` / :func:`oncotrial.clinical.derive_all`
as for any SDTM data.

The export is deterministic (records and subjects in a fixed order, one CSV dialect), so
its SHA-256 identifies the data: the hash recorded at a database lock is that of the
export of the frozen records, and exporting them again gives the same bytes. The SHA-256
of an export covers every file's name and SHA-256 (the manifest, in name order).

Who sees arms: the export of the unblinded statistician, and every export of an open-label
trial, carries ``ARM``, ``ARMCD`` and ``ACTARM``; an export for any other role of a
blinded trial is masked: the arm columns are left out, a treatment that not every arm
receives is named ``BLINDED TREATMENT``, and no value names an arm. Every export is
audited with its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from oncotrial.clinical import crf
from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import FormRecord, Subject, Trial
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, crf_forms
from oncotrial.server.services.subjects import trial_protocol

__all__ = ["ARM_COLUMNS", "MASKED_TREATMENT", "SdtmExport", "SdtmFile", "build_export",
           "domain_files", "export_database",
           "export_sdtm", "only_trial_id",
           "parse_cutoff"]

#: the columns that name a subject's arm
ARM_COLUMNS = ("ARM", "ARMCD", "ACTARM", "ACTARMCD")
#: what a masked export calls a treatment given in some arms only
MASKED_TREATMENT = "BLINDED TREATMENT"


@dataclass(frozen=True, repr=False)
class SdtmFile(Result):
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True, repr=False)
class SdtmExport(Result):
    """An export: one CSV file per domain (``dm.csv``...), its SHA-256, whether masked."""

    cutoff: dt.date | None
    masked: bool
    sha256: str
    files: tuple[SdtmFile, ...]
    _contents: dict[str, bytes] = field(default_factory=dict)

    def content(self, name: str) -> bytes:
        """The bytes of one file (``dm.csv``)."""
        return self._contents[name]

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the files into ``out_dir`` (created if needed); return their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for f in self.files:
            path = out / f.name
            path.write_bytes(self._contents[f.name])
            paths.append(path)
        return paths

    def zip_bytes(self) -> bytes:
        """The files in one zip archive (fixed timestamps: the same export, the same bytes)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in self.files:
                info = zipfile.ZipInfo(f.name, date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, self._contents[f.name])
        return buffer.getvalue()


def only_trial_id(session: Session) -> int:
    """The id of the database's only trial (for the command line)."""
    ids = list(session.scalars(select(Trial.id).order_by(Trial.id)))
    if len(ids) != 1:
        raise InputError(f"database_url: expected one trial in the database, found {len(ids)}",
                         field="database_url")
    return ids[0]


def parse_cutoff(value: Any, field: str = "cutoff") -> dt.date:
    """A cut-off date from a date or ISO 8601 text (``2026-01-31``)."""
    if isinstance(value, dt.datetime):
        raise InputError(f"{field}: expected a date YYYY-MM-DD, got a date and time", field=field)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{field}: expected a date YYYY-MM-DD, got {value!r}", field=field)


def _csv(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def domain_files(domains: Mapping[str, pd.DataFrame]) -> dict[str, bytes]:
    """The CSV file of each domain (``dm.csv``...), as an export writes them."""
    return {f"{name.lower()}.csv": _csv(frame) for name, frame in sorted(domains.items())}


def _arm_treatments(protocol: Any) -> set[str]:
    """Treatments (drug names) that some arm does not receive: naming one reveals the arm."""
    per_arm = [crf_forms.arm_drugs(protocol, arm.code) for arm in protocol.arms]
    common = set.intersection(*per_arm) if per_arm else set()
    return set.union(*per_arm) - common if per_arm else set()


def _mask(domains: Mapping[str, pd.DataFrame], protocol: Any) -> dict[str, pd.DataFrame]:
    arm_names = {a.code for a in protocol.arms} | {a.label for a in protocol.arms}
    specific = _arm_treatments(protocol)
    masked: dict[str, pd.DataFrame] = {}
    for name, frame in domains.items():
        out = frame.drop(columns=[c for c in ARM_COLUMNS if c in frame.columns])
        for column in out.columns:
            if out[column].dtype == object:
                out[column] = out[column].map(
                    lambda v: MASKED_TREATMENT if isinstance(v, str)
                    and (v in specific or v in arm_names) else v)
        masked[name] = out
    return masked


def build_export(session: Session, trial_id: int, *, cutoff: dt.date | None,
                 masked: bool) -> SdtmExport:
    """The export of the trial's records (dated up to ``cutoff``, and the undated ones;
    every record if ``None``), masked or not; no role check (see :func:`export_sdtm`)."""
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise InputError(f"trial: no trial with id {trial_id}", field="trial")
    protocol = trial_protocol(trial)
    query = select(FormRecord, Subject.code).join(Subject, FormRecord.subject_id == Subject.id) \
        .where(FormRecord.trial_id == trial_id)
    if cutoff is not None:
        query = query.where(or_(FormRecord.record_date.is_(None), FormRecord.record_date <= cutoff))
    rows = session.execute(query.order_by(Subject.code, FormRecord.form,
                                          FormRecord.repeat_key)).all()
    subjects = crf_forms.subject_infos(session, trial, masked=masked, cutoff=cutoff)
    records = [r for r in crf_forms.capture_records([(row, code) for row, code in rows])
               if r.subject in subjects]
    domains = crf.records_to_sdtm(records, protocol, subjects)
    if masked:
        domains = _mask(domains, protocol)
    contents = domain_files(domains)
    files = tuple(SdtmFile(name, int(len(domains[name.removesuffix('.csv').upper()])),
                           hashlib.sha256(data).hexdigest())
                  for name, data in sorted(contents.items()))
    manifest = "".join(f"{f.sha256}  {f.name}\n" for f in files)
    return SdtmExport(cutoff, masked, hashlib.sha256(manifest.encode()).hexdigest(), files,
                      contents)


def export_sdtm(session: Session, principal: Principal, *, cutoff: Any = None,
                request_id: str | None = None) -> SdtmExport:
    """The export for ``principal`` (masked for a blinded role of a blinded trial), audited
    with its SHA-256 (inside a write transaction)."""
    require(principal, "export.sdtm")
    day = None if cutoff is None else parse_cutoff(cutoff)
    trial = session.get(Trial, principal.trial_id)
    assert trial is not None
    masked = bool(trial_protocol(trial).randomisation.blinded) and principal.blinded
    export = build_export(session, principal.trial_id, cutoff=day, masked=masked)
    audit.append(session, action="export.sdtm", entity="database", entity_id=None,
                 changes=[("cutoff", None, day), ("masked", None, masked),
                          ("sha256", None, export.sha256)],
                 principal=principal, request_id=request_id)
    return export


def export_database(session: Session, *, cutoff: Any = None, unblinded: bool = False,
                    actor: str = "cli") -> SdtmExport:
    """The export for the command line (whoever holds the database): masked in a blinded
    trial unless ``unblinded``; audited as done by ``actor`` (inside a write transaction)."""
    trial_id = only_trial_id(session)
    day = None if cutoff is None else parse_cutoff(cutoff)
    trial = session.get(Trial, trial_id)
    assert trial is not None
    masked = bool(trial_protocol(trial).randomisation.blinded) and not unblinded
    export = build_export(session, trial_id, cutoff=day, masked=masked)
    audit.append(session, action="export.sdtm", entity="database", entity_id=None,
                 changes=[("cutoff", None, day), ("masked", None, masked),
                          ("sha256", None, export.sha256)],
                 trial_id=trial_id, actor=actor)
    return export
