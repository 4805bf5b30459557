"""Warnings recorded in one process are raised again, unchanged, in another."""

from __future__ import annotations

import pickle
import warnings

from oncotrial.core.carried_warnings import raise_again, recorded


def test_recorded_warnings_survive_pickling_and_are_raised_again():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("careful with 7", RuntimeWarning, stacklevel=1)
        warnings.warn("and with 8", DeprecationWarning, stacklevel=1)
    sent = pickle.loads(pickle.dumps(recorded(caught)))
    assert [(str(m), c) for m, c, _, _ in sent] == [("careful with 7", RuntimeWarning),
                                                    ("and with 8", DeprecationWarning)]
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        raise_again(sent)
    assert [(str(w.message), w.category) for w in again] == [("careful with 7", RuntimeWarning),
                                                             ("and with 8", DeprecationWarning)]
    assert again[0].filename == __file__


def test_nothing_recorded_raises_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raise_again(recorded([]))
