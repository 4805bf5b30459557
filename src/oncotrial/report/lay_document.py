"""The lay summary as a document: sections of paragraphs, lists and tables, written as
Markdown or as a self-contained web page, with the source of every number it prints."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import jinja2

from oncotrial.report.lay_numbers import NumberSource
from oncotrial.report.lay_text import Readability, readability

__all__ = ["Block", "LaySummary", "Section"]


@dataclasses.dataclass(frozen=True)
class Block:
    """A paragraph (one item), a bulleted list or a table (``header`` and ``rows``)."""

    kind: Literal["paragraph", "bullets", "table"]
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclasses.dataclass(frozen=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]


@dataclasses.dataclass(frozen=True)
class LaySummary:
    """The summary: a title, a subtitle (the official title), sections and the source of
    every number printed; ``notice``, for simulated data, is its first line (Markdown) and
    the first text of the page (HTML)."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    numbers: tuple[NumberSource, ...]
    notice: str | None = None

    def body_text(self) -> str:
        """Paragraphs and list items, one per line: the text a reader reads as prose
        (headings and tables left out), scored by :meth:`reading_grade`."""
        return "\n".join(item for s in self.sections for b in s.blocks if b.kind != "table" for item in b.items)

    def reading_grade(self) -> float:
        """Flesch–Kincaid grade of :meth:`body_text`."""
        return self.readability().grade

    def readability(self) -> Readability:
        """Sentences, words and syllables of :meth:`body_text`, and the Flesch indices."""
        return readability(self.body_text())

    def to_markdown(self) -> str:
        lines = [*([f"**{self.notice}**", ""] if self.notice else []), f"# {self.title}", "", f"*{self.subtitle}*", ""]
        for section in self.sections:
            lines += [f"## {section.heading}", ""]
            for block in section.blocks:
                if block.kind == "paragraph":
                    lines += [block.items[0], ""]
                elif block.kind == "bullets":
                    lines += [f"- {item}" for item in block.items] + [""]
                else:
                    lines.append("| " + " | ".join(block.header) + " |")
                    lines.append("|" + "|".join([" --- "] + [" ---: "] * (len(block.header) - 1)) + "|")
                    lines += ["| " + " | ".join(row) + " |" for row in block.rows]
                    lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        env = jinja2.Environment(loader=jinja2.PackageLoader("oncotrial.report", "templates"),
                                 autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
        return env.get_template("lay_summary.html.j2").render(s=self)

    def write_markdown(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.to_markdown(), encoding="utf-8")
        return out

    def write_html(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.to_html(), encoding="utf-8")
        return out

