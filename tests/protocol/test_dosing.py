"""Dosing: BSA closed forms, rounding, caps, reduction levels, errors."""

from __future__ import annotations

import math

import pytest
from protocol_fixtures import data, lms04  # noqa: F401 (pytest fixtures)

from oncotrial.core.errors import InputError
from oncotrial.protocol import body_surface_area
from oncotrial.protocol.dosing import round_half_up


def test_bsa_closed_forms():
    assert body_surface_area(165, 70) == pytest.approx(math.sqrt(165 * 70 / 3600))
    assert body_surface_area(165, 70) == pytest.approx(1.791182, abs=1e-6)
    assert body_surface_area(180, 80, "mosteller") == pytest.approx(2.0)
    assert body_surface_area(165, 70, "dubois") == pytest.approx(
        0.007184 * 165 ** 0.725 * 70 ** 0.425)
    assert body_surface_area(165, 70, "dubois") == pytest.approx(1.77096, abs=1e-5)


@pytest.mark.parametrize("h, w, error, message", [
    (0, 70, InputError, "height_cm: 0 cm is outside the plausible range 100 to 250 cm"),
    (165, -1, InputError, "weight_kg: -1 kg is outside the plausible range 20 to 350 kg"),
    (float("nan"), 70, InputError, "height_cm: expected a finite number, got nan"),
    (True, 70, TypeError, "height_cm: expected a number, got bool True"),
])
def test_bsa_errors(h, w, error, message):
    with pytest.raises(error, match=message):
        body_surface_area(h, w)


def test_unknown_bsa_method():
    with pytest.raises(InputError, match="bsa_method: expected one of mosteller, dubois") as exc:
        body_surface_area(165, 70, "haycock")
    assert exc.value.field == "bsa_method"


def test_round_half_up():
    assert round_half_up(134.25, 1) == 134.3
    assert round_half_up(2.675, 2) == 2.68
    assert round_half_up(1.23456, None) == 1.23456


def test_doxorubicin_arm(lms04):
    # 165 cm, 70 kg: Mosteller 1.7912 -> printed 1.79 m2; 75 * 1.79 = 134.25 -> 134.3 mg
    dox, leno = lms04.doses("DOX", "induction", height_cm=165, weight_kg=70)
    assert (dox.drug, dox.dose, dox.unit, dox.route, dox.days, dox.infusion_minutes) == (
        "doxorubicin", 134.3, "mg", "IV", (1,), (10, 15))
    assert not dox.supportive and dox.prescribed == "75 mg/m2"
    assert (leno.drug, leno.dose, leno.unit, leno.days, leno.supportive) == (
        "lenograstim", 268.5, "ug", (3, 4, 5, 6, 7, 8, 9), True)
    assert repr(dox) == ("DoseRow(doxorubicin 134.3 mg IV over 10-15 min days [1]; "
                         "75 mg/m2)")
    assert dox.to_dict()["dose"] == 134.3


def test_unrounded_and_dubois(lms04):
    [dox, _] = lms04.doses("DOX", "induction", height_cm=165, weight_kg=70,
                           bsa_decimals=None, dose_decimals=None)
    assert dox.dose == pytest.approx(75 * math.sqrt(165 * 70 / 3600))
    [dox, _] = lms04.doses("DOX", "induction", height_cm=165, weight_kg=70,
                           bsa_method="dubois")
    assert dox.dose == 132.8  # DuBois 1.7710 -> 1.77 m2 -> 132.75 -> 132.8 mg (half-up)


def test_combination_arm_and_flat_supportive_care(lms04):
    dox, trab, peg = lms04.doses("DOXTRAB", "induction", height_cm=180, weight_kg=80)
    assert (dox.dose, trab.dose, trab.infusion_minutes) == (120.0, 2.2, (180,))
    assert (peg.drug, peg.dose, peg.unit, peg.days) == ("pegfilgrastim", 6.0, "mg", (2,))
    [trab] = lms04.doses("DOXTRAB", "maintenance", height_cm=180, weight_kg=80, cycle=17)
    assert (trab.drug, trab.dose) == ("trabectedin", 2.2)


def test_bsa_cap(lms04):
    # 190 cm, 110 kg: BSA 2.40 m2, capped at 2.0
    [dox, leno] = lms04.doses("DOX", "induction", height_cm=190, weight_kg=110, bsa_cap=2.0)
    assert (dox.dose, leno.dose) == (150.0, 300.0)
    [dox, _] = lms04.doses("DOX", "induction", height_cm=150, weight_kg=50, bsa_cap=2.0)
    assert dox.dose == round_half_up(75 * round_half_up(body_surface_area(150, 50), 2), 1)


def test_dose_levels(lms04):
    dox, trab, peg = lms04.doses("DOXTRAB", "induction", height_cm=180, weight_kg=80,
                                 dose_level=-1)
    assert (dox.dose, dox.level, trab.dose, trab.level) == (90.0, -1, 1.8, -1)
    assert (peg.dose, peg.level) == (6.0, 0)
    dox, trab, _ = lms04.doses("DOXTRAB", "induction", height_cm=180, weight_kg=80,
                               dose_level={"trabectedin": -2})
    assert (dox.dose, trab.dose, trab.prescribed) == (120.0, 1.5, "0.75 mg/m2")


def test_percent_reductions_and_per_kg(data):
    from oncotrial.protocol import Protocol
    drug = data["regimens"]["DOX"]["phases"][0]["drugs"][0]
    drug.update(unit="mg/kg", dose=2, reductions={"kind": "percent", "levels": [80, 50]})
    protocol = Protocol.from_dict(data)
    [dox, _] = protocol.doses("DOX", "induction", height_cm=170, weight_kg=70, dose_level=-2)
    assert (dox.dose, dox.unit, dox.prescribed) == (70.0, "mg", "1 mg/kg")


@pytest.mark.parametrize("kwargs, field, message", [
    ({"arm": "DOXX"}, "arm", "arm: expected one of DOX, DOXTRAB, got 'DOXX'"),
    ({"phase": "maintenance"}, "phase", "phase: expected one of induction, got 'maintenance'"),
    ({"phase": "consolidation"}, "phase", "phase: expected one of induction, got 'consolidation'"),
    ({"dose_level": -3}, "dose_level", r"dose_level: -3 is not a level of doxorubicin in the "
                                       r"protocol \(permitted: 0, -1, -2\)"),
    ({"dose_level": 1}, "dose_level", "dose_level: 1 is not a level of doxorubicin"),
    ({"dose_level": {"cisplatin": -1}}, "dose_level",
     r"dose_level: names drug\(s\) \['cisplatin'\]"),
    ({"cycle": 7}, "cycle", r"cycle: expected 1 to 6 \(the cycles of DOX induction\), got 7"),
    ({"height_cm": 0}, "height_cm", "height_cm: 0 cm is outside the plausible range"),
    ({"weight_kg": -70}, "weight_kg", "weight_kg: -70 kg is outside the plausible range"),
    ({"bsa_cap": 0}, "bsa_cap", "bsa_cap: expected a positive number, got 0"),
    ({"bsa_decimals": -1}, "bsa_decimals", "bsa_decimals: expected a non-negative integer"),
    ({"dose_decimals": -1}, "dose_decimals", "dose_decimals: expected a non-negative integer"),
])
def test_dosing_errors(lms04, kwargs, field, message):
    args = {"arm": "DOX", "phase": "induction", "height_cm": 165, "weight_kg": 70} | kwargs
    arm, phase = args.pop("arm"), args.pop("phase")
    with pytest.raises(InputError, match=message) as exc:
        lms04.doses(arm, phase, **args)
    assert exc.value.field == field
