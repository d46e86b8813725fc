"""Fast scalar random draws: numpy's per-call overhead is microseconds, so draw in blocks.

>>> import numpy as np
>>> d = Draws(np.random.default_rng(3))
>>> all(9 <= d.integer(9, 17) < 17 for _ in range(5000))
True
"""

from __future__ import annotations

import numpy as np


class Draws:
    def __init__(self, rng: np.random.Generator, block: int = 2048) -> None:
        self.rng = rng
        self.block = block
        self._u: list[float] = []
        self._i = 0

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        if self._i >= len(self._u):
            self._u = self.rng.random(self.block).tolist()
            self._i = 0
        u = self._u[self._i]
        self._i += 1
        return low + (high - low) * u

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high)``."""
        return min(low + int(self.uniform() * (high - low)), high - 1)

    def seconds(self, first_hour: int, last_hour: int) -> int:
        """A second of the day between two hours."""
        return self.integer(first_hour * 3600, last_hour * 3600)
