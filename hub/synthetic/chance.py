"""The seeded random generator of the synthetic department, with fast draws for the hot paths.

``random.Random``'s ``randint``, ``randrange``, ``choice`` and ``choices`` check their arguments and
draw exact integers bit by bit; that is most of the time spent generating a million rows. These
overrides draw from one ``random()`` float instead (53 bits: the bias is far below anything a
synthetic department could show). They stay deterministic: the same seed gives the same stream.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

T = TypeVar("T")


class Chance(random.Random):
    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        if step == 1:
            return start + int(self.random() * (stop - start))
        return start + step * int(self.random() * ((stop - start + step - 1) // step))

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def choices(  # type: ignore[override]
        self,
        population: Sequence[T],
        weights: Sequence[float] | None = None,
        *,
        cum_weights: Sequence[float] | None = None,
        k: int = 1,
    ) -> list[T]:
        if k != 1:
            return super().choices(population, weights, cum_weights=cum_weights, k=k)
        if cum_weights is None:
            if weights is None:
                return [population[int(self.random() * len(population))]]
            total = 0.0
            cumulative: list[float] = []
            for w in weights:
                total += w
                cumulative.append(total)
            cum_weights = cumulative
        return [population[bisect(cum_weights, self.random() * cum_weights[-1], 0, len(population) - 1)]]


def seeded(*parts: Any) -> Chance:
    """A generator for one part of one run, e.g. ``seeded(seed, "people", 3)``.

    String seeds are hashed with SHA-512 by ``random``, so the stream does not depend on
    ``PYTHONHASHSEED`` or the platform.
    """
    return Chance(":".join(str(p) for p in parts))
