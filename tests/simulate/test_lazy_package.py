"""The simulation package loads its modules on first use: the power command must not pay
for the replica simulator, and every public name still resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import oncotrial.simulate as simulate


def test_importing_the_power_engine_leaves_the_replica_simulator_unloaded():
    code = ("import sys, oncotrial.simulate.power; "
            "print(sorted(m for m in ('oncotrial.simulate.trial', 'oncotrial.simulate.calibrate') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", simulate.__all__)
def test_every_public_name_resolves_to_its_module_s_object(name):
    value = getattr(simulate, name)
    assert value.__module__.startswith("oncotrial.simulate.")
    assert name in dir(simulate)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'simulate_everything'"):
        _ = simulate.simulate_everything
