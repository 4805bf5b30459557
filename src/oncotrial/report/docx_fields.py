"""Word fields of the trial report: page numbers, the table of contents, numbered captions
and the document properties.

Every field is written with its cached result (the text between ``separate`` and ``end``),
so the document reads right when it is opened, printed or converted before anyone presses
F9: a caption says "Table 3" although Word has not counted the tables yet. Word and
LibreOffice recompute the fields on update; the cached values are the same numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from docx.document import Document as DocumentObject
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from oncotrial.report.html import ReportContent

__all__ = ["ReportIdentity", "add_field", "add_page_x_of_y", "add_toc", "caption", "caption_title", "identity",
           "set_properties"]

_OWN_NUMBER = re.compile(r"^(?:Table|Figure)\s+\d+[.:]\s*")
_GENERATED = re.compile(r"^(?P<tool>.+?), (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC$")


@dataclasses.dataclass(frozen=True)
class ReportIdentity:
    """What the page header and the document properties say about the report: the trial
    id, the version of the software that wrote it, when, and the data cut-off."""

    trial: str
    version: str
    generated: dt.datetime | None
    data_cutoff: str | None
    sponsor: str | None


def identity(content: ReportContent) -> ReportIdentity:
    """The :class:`ReportIdentity` of ``content``: the trial id from the "Protocol" fact
    (else the title before its colon), the version and time from ``content.generated``
    ("oncotrial 1.2, 2026-01-02 03:04 UTC"), the sponsor from the "Sponsor" fact."""
    facts = dict(content.facts)
    trial = facts.get("Protocol", "").split(",")[0].strip() or content.title.split(":")[0].strip()
    match = _GENERATED.match(content.generated)
    version = match.group("tool") if match else content.generated
    when = (dt.datetime.strptime(match.group("when"), "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
            if match else None)
    return ReportIdentity(trial=trial, version=version, generated=when, data_cutoff=content.data_cutoff,
                          sponsor=facts.get("Sponsor"))


def _field_char(run: Run, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run._r.append(char)


def add_field(paragraph: Paragraph, instruction: str, cached: str, *, size: Pt | None = None,
              bold: bool | None = None) -> None:
    """A complex field ``instruction`` (e.g. ``PAGE``, ``SEQ Table \\* ARABIC``) showing
    ``cached`` until the fields are updated."""
    runs = [paragraph.add_run() for _ in range(5)]
    _field_char(runs[0], "begin")
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    runs[1]._r.append(text)
    _field_char(runs[2], "separate")
    runs[3].text = cached
    _field_char(runs[4], "end")
    for run in runs:
        if size is not None:
            run.font.size = size
        if bold is not None:
            run.bold = bold


def add_page_x_of_y(paragraph: Paragraph, size: Pt) -> None:
    """"Page X of Y" from the PAGE and NUMPAGES fields."""
    paragraph.add_run("Page ").font.size = size
    add_field(paragraph, "PAGE", "1", size=size)
    paragraph.add_run(" of ").font.size = size
    add_field(paragraph, "NUMPAGES", "1", size=size)


def add_toc(document: DocumentObject, headings: list[str]) -> None:
    """A table of contents field (headings 1–3, entries as hyperlinks). Its cached result
    lists the report's sections without page numbers, which only an update can know; the
    result is replaced by the numbered list when fields are updated (F9 in Word)."""
    title = document.add_paragraph()  # not a heading: the contents would list themselves
    title.paragraph_format.space_before = Pt(12)
    title.paragraph_format.keep_with_next = True
    run = title.add_run("Contents")
    run.bold = True
    run.font.size = Pt(14)
    first = document.add_paragraph()
    begin = first.add_run()
    _field_char(begin, "begin")
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = ' TOC \\o "1-3" \\h \\z \\u '
    first.add_run()._r.append(instruction)
    _field_char(first.add_run(), "separate")
    paragraph = first
    for i, heading in enumerate(headings):
        if i:
            paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(heading)
    _field_char(paragraph.add_run(), "end")


def caption(document: DocumentObject, label: str, number: int, title: str) -> Paragraph:
    """A numbered caption ("Table 3. Title") in the Caption style: the label, a ``SEQ``
    field holding ``number``, the title. Word's list of tables and cross-references find it."""
    paragraph = document.add_paragraph(style="Caption")
    paragraph.add_run(f"{label} ").bold = True
    add_field(paragraph, f"SEQ {label} \\* ARABIC", str(number), bold=True)
    paragraph.add_run(". ").bold = True
    paragraph.add_run(caption_title(title))
    return paragraph


def caption_title(title: str) -> str:
    """``title`` without a number of its own ("Table 1. Characteristics …" reads
    "Characteristics …"), since the caption field numbers the tables of this document."""
    return _OWN_NUMBER.sub("", title, count=1)


def set_properties(document: DocumentObject, content: ReportContent, who: ReportIdentity) -> None:
    """Core properties from the report, none from python-docx's template (its author and
    2013 date would otherwise pass into every CSR built on the file)."""
    props = document.core_properties
    props.title = content.title
    props.subject = content.subtitle
    props.author = who.sponsor or ""
    props.last_modified_by = who.version
    props.category = "Clinical trial report"
    props.keywords = "; ".join(k for k in (who.trial, "randomised trial", "trial report",
                                           "simulated data" if content.provenance else None) if k)
    props.comments = content.provenance or ""
    props.revision = 1
    props.identifier = who.trial
    props.version = who.version
    props.language = "en-GB"
    props.content_status = "Simulated" if content.provenance else "Final"
    when = who.generated or dt.datetime.now(dt.UTC)
    props.created = when.replace(tzinfo=None)
    props.modified = when.replace(tzinfo=None)
    props.last_printed = when.replace(tzinfo=None)
