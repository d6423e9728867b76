"""Integer mixing shared by text fingerprints and the near-duplicate index."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_U64 = np.uint64


def mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser: spreads its input over all 64 bits (wrapping multiplication)."""
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))
