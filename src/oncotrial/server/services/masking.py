"""The codes a blinded trial shows instead of arms: kit numbers or one letter per arm.

Kit numbers come from the operating system's CSPRNG, so they say nothing about the arm or
the order of allocation; arm letters come from a permutation drawn from the sealed seed, so
that the unblinded statistician can reproduce them and nobody else can.
"""

from __future__ import annotations

import secrets
import string

import numpy as np

from oncotrial.randomise.strata import Design

__all__ = ["KIT_DIGITS", "arm_letters", "new_kit", "new_kits"]

#: kit numbers: ``K-`` and six digits, the same length whatever the arm
KIT_DIGITS = 6
_ARM_LETTER_TAG = 0x4C455454  # "LETT"


def arm_letters(design: Design, seed: int) -> dict[str, str]:
    """Letter of each arm, from a permutation drawn from the sealed seed."""
    perm = np.random.default_rng(np.random.SeedSequence([_ARM_LETTER_TAG, seed])).permutation(len(design.arms))
    return {arm: string.ascii_uppercase[int(k)] for arm, k in zip(design.arms, perm, strict=True)}


def new_kit() -> str:
    """One kit number from the CSPRNG (the caller checks it is not taken)."""
    return f"K-{secrets.randbelow(10 ** KIT_DIGITS):0{KIT_DIGITS}d}"


def new_kits(count: int, taken: set[str]) -> list[str]:
    """``count`` fresh kit numbers, none in ``taken`` (which grows)."""
    out: list[str] = []
    while len(out) < count:
        code = new_kit()
        if code not in taken:
            taken.add(code)
            out.append(code)
    return out
