"""Which protocol a folder of ADaM data belongs to, so that data and protocol travel together.

A report is only right against the protocol of its data (arms, strata, end points, Table 1),
so none is assumed. :func:`write_protocol` saves the protocol beside the data as
``protocol.yaml``; :func:`recorded_protocol` finds it again: that file when the folder has
one, else the bundled protocol whose ``id`` is the ADSL ``STUDYID`` of every patient.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol, bundled_protocols

__all__ = ["PROTOCOL_FILE", "recorded_protocol", "write_protocol"]

#: the protocol saved in a folder of ADaM data
PROTOCOL_FILE = "protocol.yaml"


def _plain(value: Any) -> Any:
    """Lists for tuples (YAML's safe dumper writes no tuples), recursively."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def write_protocol(protocol: Protocol, folder: str | Path) -> Path:
    """Save ``protocol`` as ``folder/protocol.yaml`` (UTF-8; :meth:`Protocol.load` reads it
    back into an equal protocol) and return the path."""
    out = Path(folder) / PROTOCOL_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_plain(protocol.to_dict()), sort_keys=False, allow_unicode=True)
    out.write_text(f"# Protocol of the data in this folder (written by oncotrial)\n{text}", encoding="utf-8")
    return out


def recorded_protocol(folder: str | Path, adsl: pd.DataFrame) -> Protocol:
    """The protocol of the ADaM data in ``folder`` (module docstring); an
    :class:`~oncotrial.core.errors.InputError` for ``protocol`` when none is recorded."""
    saved = Path(folder) / PROTOCOL_FILE
    if saved.is_file():
        return Protocol.load(saved)
    values = adsl["STUDYID"].dropna().astype(str).str.strip() if "STUDYID" in adsl.columns else pd.Series([])
    studies = list(dict.fromkeys(values))
    if len({study.casefold() for study in studies}) == 1:
        for name in bundled_protocols():
            protocol = Protocol.load(name)
            if protocol.id.casefold() == studies[0].casefold():
                return protocol
    found = f"ADSL STUDYID {', '.join(map(repr, studies))}" if len(studies) else "no ADSL STUDYID"
    raise InputError(f"protocol: no {PROTOCOL_FILE} in {Path(folder)} and {found} names no bundled protocol "
                     f"({', '.join(bundled_protocols())}); give the protocol (a bundled name or a YAML file)",
                     field="protocol")
