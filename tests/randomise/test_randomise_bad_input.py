"""Refused allocations and bad arguments: the exact error class, naming the factor or field."""

from __future__ import annotations

import json

import pytest
from randomise_fixtures import protocol

from oncotrial.core.errors import AllocationError, DataError, InputError
from oncotrial.protocol import Protocol
from oncotrial.randomise import (
    AllocationState,
    allocate,
    assess,
    generate_list,
    read_list_csv,
    replay,
)

UTERINE_METASTATIC = {"origin": "uterine", "stage": "metastatic"}


def _state(method: str = "blocks"):
    p = protocol(method=method)
    return p, AllocationState.initial(p, method)


# ----------------------------------------------------------------------------- refusals

def test_a_subject_is_randomised_once():
    p, state = _state()
    arm, state = allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")
    assert state.subjects == ("S-001",)
    with pytest.raises(AllocationError, match=r"subject 'S-001' is already randomised "
                                              r"\(allocation 1 of 1 identified ones\)"):
        allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")
    _, state = allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-002")
    assert state.subjects == ("S-001", "S-002")


def test_the_randomised_subjects_survive_storage():
    p, state = _state()
    _, state = allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")
    stored = AllocationState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert stored == state
    with pytest.raises(AllocationError, match="already randomised"):
        allocate(stored, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")


def test_a_state_stored_before_subjects_were_recorded_still_loads():
    p, state = _state()
    data = state.to_dict()
    del data["subjects"]
    assert AllocationState.from_dict(data).subjects == ()


def test_an_exhausted_list_is_refused_naming_the_stratum():
    p, state = _state()
    arms = []
    for _ in range(4):
        arm, state = allocate(state, UTERINE_METASTATIC, protocol=p, seed=3, per_stratum=4)
        arms.append(arm)
    assert arms == generate_list(p, 3, 4).frame.query(
        "stratum == 'origin=uterine|stage=metastatic'")["arm"].astype(str).tolist()
    with pytest.raises(AllocationError, match=r"the allocation list of stratum "
                                              r"origin=uterine\|stage=metastatic is exhausted: "
                                              r"all 4 rows are allocated"):
        allocate(state, UTERINE_METASTATIC, protocol=p, seed=3, per_stratum=4)
    arm, _ = allocate(state, {"origin": "soft_tissue", "stage": "metastatic"}, protocol=p,
                      seed=3, per_stratum=4)
    assert arm in ("DOX", "DOXTRAB")


def test_an_ineligible_patient_is_refused_with_the_reasons():
    lms04 = Protocol.load("lms04")
    state = AllocationState.initial(lms04)
    result = lms04.check_eligibility({"age": 17})
    with pytest.raises(AllocationError, match=r"subject 'S-9' is not eligible: age: age = 17, "
                                              r"expected >= 18; .*histology: histology is missing"):
        allocate(state, UTERINE_METASTATIC, protocol=lms04, seed=1, subject="S-9",
                 eligibility=result)
    undecided = lms04.check_eligibility({})
    with pytest.raises(AllocationError, match="is cannot be determined: age: age is missing"):
        allocate(state, UTERINE_METASTATIC, protocol=lms04, seed=1, eligibility=undecided)


def test_a_refusal_leaves_the_state_as_it_was():
    p, state = _state()
    _, state = allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")
    before = state.to_dict()
    with pytest.raises(AllocationError):
        allocate(state, UTERINE_METASTATIC, protocol=p, seed=7, subject="S-001")
    assert state.to_dict() == before


# ----------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("stratum, message", [
    ({"origin": "uterine", "stage": "early"},
     r"stratum factor 'stage' has unknown level 'early'; declared levels: "
     r"\['locally_advanced', 'metastatic'\]"),
    ({"origin": "uterine"}, r"stratum is missing factor 'stage' \(declared levels: "),
    ({"origin": "uterine", "stage": None}, "stratum has no value for factor 'stage'"),
    ({"origin": "Uterine", "stage": "metastatic"}, "factor 'origin' has unknown level 'Uterine'"),
    ({**UTERINE_METASTATIC, "centre": "x"}, r"unknown factor\(s\) \['centre'\]"),
])
@pytest.mark.parametrize("method", ["blocks", "minimisation", "simple"])
def test_a_bad_stratum_names_the_factor(stratum, message, method):
    p, state = _state(method)
    with pytest.raises(InputError, match=message) as info:
        allocate(state, stratum, protocol=p, seed=1)
    assert info.value.field == "stratum"


def test_a_stratum_that_is_not_a_mapping_is_a_type_error():
    p, state = _state()
    with pytest.raises(TypeError, match="stratum: expected a mapping factor -> level, got list"):
        allocate(state, ["uterine", "metastatic"], protocol=p, seed=1)


@pytest.mark.parametrize("seed, error", [(True, InputError), (-1, InputError), (1.0, InputError),
                                         ("7", InputError)])
def test_bad_seeds_are_refused_everywhere(seed, error):
    p, state = _state()
    message = f"seed: expected a non-negative integer, got {seed!r}"
    for call in (lambda: allocate(state, UTERINE_METASTATIC, protocol=p, seed=seed),
                 lambda: replay(p, seed, [UTERINE_METASTATIC]),
                 lambda: generate_list(p, seed, 4),
                 lambda: assess(p, "simple", 4, 4, seed)):
        with pytest.raises(error, match=message) as info:
            call()
        assert info.value.field == "seed"


@pytest.mark.parametrize("kwargs, error, field, message", [
    ({"per_stratum": 0}, InputError, "per_stratum", "per_stratum: expected a positive integer"),
    ({"per_stratum": 2.5}, TypeError, None, "per_stratum: expected a positive integer"),
    ({"subject": ""}, InputError, "subject", "subject: expected a non-empty identifier"),
    ({"subject": " "}, InputError, "subject", "subject: expected a non-empty identifier"),
    ({"subject": 17}, TypeError, None, "subject: expected a string identifier, got int 17"),
    ({"method": "urn"}, InputError, "method", "method: expected one of blocks, minimisation"),
    ({"method": "simple"}, InputError, "method", "does not match the state's method 'blocks'"),
])
def test_bad_allocation_arguments_name_the_field(kwargs, error, field, message):
    p, state = _state()
    with pytest.raises(error, match=message) as info:
        allocate(state, UTERINE_METASTATIC, protocol=p, seed=1, **kwargs)
    assert getattr(info.value, "field", None) == field


def test_per_stratum_belongs_to_the_blocks_method():
    p, state = _state("simple")
    with pytest.raises(InputError, match="per_stratum: only used with method 'blocks'") as info:
        allocate(state, UTERINE_METASTATIC, protocol=p, seed=1, per_stratum=10)
    assert info.value.field == "per_stratum"


def test_a_state_of_another_protocol_is_refused():
    p, state = _state()
    other = protocol(ratios=(1, 2), block_sizes=[3])
    with pytest.raises(InputError, match="state: does not match protocol") as info:
        allocate(state, UTERINE_METASTATIC, protocol=other, seed=1)
    assert info.value.field == "state"


@pytest.mark.parametrize("probabilities, error, message", [
    (["0.25"] * 4, TypeError, "stratum_probabilities: expected numbers, got '0.25'"),
    ([True, 0, 0, 0], TypeError, "stratum_probabilities: expected numbers, got True"),
    ([0.5, 0.5, 0.5, 0.5], InputError, "sum to 1"),
])
def test_stratum_probabilities_are_not_coerced(probabilities, error, message):
    with pytest.raises(error, match=message):
        assess(protocol(), "simple", 4, 4, 1, stratum_probabilities=probabilities)


def test_an_unreadable_list_file_is_a_data_error(tmp_path):
    missing = tmp_path / "absent.csv"
    with pytest.raises(DataError, match="cannot read the allocation list") as info:
        read_list_csv(missing)
    assert info.value.dataset == str(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("# oncotrial allocation list\nstratum=Sévère\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: not UTF-8 text \(byte 38\)"):
        read_list_csv(latin)


def test_a_bad_row_names_its_data_row(tmp_path):
    p = protocol()
    path = generate_list(p, 5, 4).write_csv(tmp_path / "list.csv")
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[7] = lines[7].rsplit(",", 1)[0] + ",PLACEBO"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match="row 3 has unknown arm 'PLACEBO'") as info:
        read_list_csv(path, p)
    assert (info.value.rows, info.value.variable) == ([3], "arm")
