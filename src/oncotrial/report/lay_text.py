"""The words of the lay summary: end points, medical words and side effects in plain
language, and the readability measures that check the text stays plain.

Two documented indices score a text: the Flesch reading ease (Flesch 1948; 60-70 is plain
English, below 50 is "fairly difficult") and the Flesch–Kincaid grade (Kincaid et al.
1975, the US school grade that can read it; 7 is a reading age of about 12), with the
average sentence length that both rest on. Sentences end at ``.``, ``!``, ``?`` or a line
break; syllables are counted by vowel groups (:func:`count_syllables`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

__all__ = ["GLOSSARY", "PLAIN_ENDPOINTS", "PLAIN_TERMS", "ROUTES", "PlainEndpoint", "Readability",
           "count_syllables", "flesch_kincaid_grade", "flesch_reading_ease", "readability"]


@dataclasses.dataclass(frozen=True)
class PlainEndpoint:
    """An end point in plain words: the question it answers, what its median means (``{t}``
    is the time), what a median not reached means, what its landmark rate counts, what
    "longer" means, the table row."""

    question: str
    median: str
    not_reached: str
    rate: str
    longer: str
    row: str


#: the end points a lay summary explains; the others are left to the full report
PLAIN_ENDPOINTS: Mapping[str, PlainEndpoint] = {
    "PFS": PlainEndpoint("how long people lived without their cancer getting worse",
                         "half of the people had their cancer grow or spread, or had died, by {t}",
                         "fewer than half of the people had their cancer grow or spread, or had died, by the "
                         "time the results were looked at",
                         "were alive and their cancer had not grown",
                         "lived without their cancer getting worse",
                         "Alive with no cancer growth"),
    "OS": PlainEndpoint("how long people lived",
                        "half of the people were still alive after {t}",
                        "more than half of the people were still alive when the results were looked at",
                        "were still alive",
                        "lived",
                        "Alive"),
}
#: medical words of a protocol title, explained when the title uses them (a protocol adds
#: its own in ``reporting.glossary``)
GLOSSARY: Mapping[str, str] = {
    "metastatic": "the cancer has spread to other parts of the body",
    "unresectable": "the cancer cannot be taken out by surgery",
    "locally advanced": "the cancer has grown into nearby parts of the body",
    "sarcoma": "a cancer that starts in muscle, fat, bone or other soft tissue",
    "first-line": "the first treatment given for the cancer",
    "maintenance": "treatment that goes on after the main treatment, to keep the cancer from growing",
}
#: side effects (MedDRA preferred terms) in plain words
PLAIN_TERMS: Mapping[str, str] = {
    "Neutrophil count decreased": "low levels of white blood cells that fight germs",
    "White blood cell decreased": "low levels of white blood cells",
    "Febrile neutropenia": "fever with low levels of white blood cells",
    "Platelet count decreased": "low levels of platelets, the cells that help blood clot",
    "Anemia": "low levels of red blood cells",
    "Alanine aminotransferase increased": "signs of liver damage in blood tests",
    "Aspartate aminotransferase increased": "signs of liver damage in blood tests",
    "Fatigue": "tiredness",
    "Nausea": "feeling sick",
    "Vomiting": "being sick",
    "Mucositis oral": "mouth sores",
    "Alopecia": "hair loss",
    "Diarrhea": "loose stools",
    "Constipation": "constipation",
    "Heart failure": "a weak heart",
    "Peripheral sensory neuropathy": "numbness or tingling in the hands or feet",
    "Palmar-plantar erythrodysesthesia syndrome": "sore, red hands and feet",
}
#: routes of the protocol's drugs, in plain words
ROUTES: Mapping[str, str] = {"IV": "into a vein", "SC": "as a shot under the skin", "PO": "by mouth",
                             "IM": "as a shot into a muscle"}


def count_syllables(word: str) -> int:
    """Syllables of an English word by vowel groups, a silent final "e" dropped (the
    heuristic of most Flesch–Kincaid implementations); a number counts as one."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1 if any(ch.isdigit() for ch in word) else 0
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]+", w)))


_WORD = re.compile(r"[A-Za-z]+(?:['’\-][A-Za-z]+)*|\d+(?:\.\d+)?")


@dataclasses.dataclass(frozen=True)
class Readability:
    """The counts of a text and the indices computed from them."""

    sentences: int
    words: int
    syllables: int

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def syllables_per_word(self) -> float:
        return self.syllables / self.words if self.words else 0.0

    @property
    def reading_ease(self) -> float:
        """Flesch reading ease: 206.835 − 1.015 × words per sentence − 84.6 × syllables per
        word; higher is easier (0 for an empty text)."""
        if not self.words:
            return 0.0
        return 206.835 - 1.015 * self.words_per_sentence - 84.6 * self.syllables_per_word

    @property
    def grade(self) -> float:
        """Flesch–Kincaid grade: 0.39 × words per sentence + 11.8 × syllables per word − 15.59."""
        if not self.words:
            return 0.0
        return 0.39 * self.words_per_sentence + 11.8 * self.syllables_per_word - 15.59


def readability(text: str) -> Readability:
    """Sentences, words and syllables of ``text`` (see the module docstring)."""
    sentences = [s for s in re.split(r"[.!?]+(?:\s+|$)|\n+", text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not sentences or not words:
        return Readability(0, 0, 0)
    return Readability(len(sentences), len(words), sum(count_syllables(w) for w in words))


def flesch_kincaid_grade(text: str) -> float:
    """Flesch–Kincaid grade level of ``text`` (:attr:`Readability.grade`)."""
    return readability(text).grade


def flesch_reading_ease(text: str) -> float:
    """Flesch reading ease of ``text`` (:attr:`Readability.reading_ease`)."""
    return readability(text).reading_ease
