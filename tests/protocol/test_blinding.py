"""The protocol's blinding setting: open label by default, masked with kit or arm-letter codes."""

from __future__ import annotations

import copy

import pytest

from oncotrial.protocol import Protocol, ProtocolError

_GASTRIC = Protocol.load("gastric_example")


def _with_blinding(blinding: object) -> dict:
    data = copy.deepcopy(_GASTRIC.to_dict())
    data["randomisation"]["blinding"] = blinding
    return data


def test_open_label_by_default() -> None:
    assert _GASTRIC.randomisation.blinded is False
    assert _GASTRIC.randomisation.blinding.codes == "kit"


@pytest.mark.parametrize("codes", ["kit", "arm_letter"])
def test_masked_trial_with_codes(codes: str) -> None:
    protocol = Protocol.from_dict(_with_blinding({"masked": True, "codes": codes}))
    assert protocol.randomisation.blinded is True
    assert protocol.randomisation.blinding.codes == codes
    assert Protocol.from_dict(protocol.to_dict()) == protocol


def test_masked_defaults_to_kit_numbers() -> None:
    protocol = Protocol.from_dict(_with_blinding({"masked": True}))
    assert protocol.randomisation.blinding.codes == "kit"


@pytest.mark.parametrize(("blinding", "path", "words"), [
    ({"masked": True, "codes": "colour"}, "randomisation.blinding.codes", "kit"),
    ({"masked": "yes"}, "randomisation.blinding.masked", "boolean"),
    ({"codes": "kit"}, "randomisation.blinding.masked", "required"),
    ({"masked": True, "double": True}, "randomisation.blinding.double", "unknown key"),
])
def test_bad_blinding_names_the_path(blinding: dict, path: str, words: str) -> None:
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(_with_blinding(blinding))
    text = "\n".join(info.value.errors)
    assert path in text
    assert words.lower() in text.lower()
