"""The public names of oncotrial.stats are the functions and classes, never their modules."""

import importlib
import inspect

import oncotrial.stats as stats


def test_public_names_are_not_modules():
    for name in stats.__all__:
        importlib.import_module("oncotrial.stats.kaplan_meier")  # importing a submodule must not rebind
        importlib.import_module("oncotrial.stats.cox_zph")
        assert not inspect.ismodule(getattr(stats, name)), name


def test_every_result_has_dict_frame_and_repr():
    for name in stats.__all__:
        obj = getattr(stats, name)
        if inspect.isclass(obj) and issubclass(obj, stats.ChiSquareTest.__mro__[1]):
            assert hasattr(obj, "to_dict") and hasattr(obj, "to_frame"), name
