"""The one number formatter: the rounding rule of each convention, and :func:`formatting`
making a protocol's convention the one every module function uses within a block."""

from __future__ import annotations

import threading

import pytest

from oncotrial.report.format import (
    MINUS,
    current_format,
    format_estimate,
    format_number,
    format_p,
    formatting,
    n_percent,
    number_format,
)


def test_sas_rounds_half_up_and_r_half_to_even():
    assert number_format("sas").number(0.125, 2) == "0.13" and number_format("r").number(0.125, 2) == "0.12"
    assert number_format("sas").number(2.675, 2) == "2.68" and number_format("r").number(2.675, 2) == "2.68"
    assert number_format("r").number(-0.004, 2) == "0.00" and number_format("sas").number(-1.5, 0) == f"{MINUS}2"


def test_formatting_sets_the_convention_of_the_module_functions_and_restores_it():
    assert format_number(0.125, 2) == "0.13"  # outside any block: SAS
    with formatting("r") as chosen:
        assert chosen is current_format() and chosen.rounding == "half_even"
        assert format_number(0.125, 2) == "0.12"
        assert format_estimate(0.125, 0.625, 1.125, 2) == "0.12 (0.62\u20131.12)"
        assert n_percent(1, 8, digits=1) == "1 (12.5)" and format_p(0.0005) == "<0.001"
        with formatting("sas"):
            assert format_number(0.125, 2) == "0.13"
        assert format_number(0.125, 2) == "0.12"
    assert format_number(0.125, 2) == "0.13"


def test_formatting_is_per_thread_and_survives_an_error():
    seen: list[str] = []
    with formatting("r"):
        worker = threading.Thread(target=lambda: seen.append(format_number(0.125, 2)))
        worker.start()
        worker.join()
    assert seen == ["0.13"]  # a new thread starts with the default, not the caller's block
    with pytest.raises(RuntimeError), formatting("r"):
        raise RuntimeError("boom")
    assert format_number(0.125, 2) == "0.13"


def test_an_unknown_convention_is_refused_by_name():
    with pytest.raises(ValueError, match="convention must be one of"), formatting("stata"):
        pass
