"""Scalar random draws for the preprocessing functions, all through an optional ``torch.Generator``.

Every random decision of a preprocessing function goes through these helpers, so passing one seeded generator makes
a whole pipeline deterministic, and passing none uses torch's global generator (which ``torch.utils.data`` seeds
differently in every worker process).
"""

from __future__ import annotations

import torch

__all__ = ["uniform", "randint", "coin"]


def uniform(low: float, high: float, generator: torch.Generator | None = None) -> float:
    """A float drawn uniformly from ``[low, high)`` (a float32 draw, as TF's ``random_uniform``)."""
    u = torch.rand((), generator=generator, dtype=torch.float32)
    return float(u * (high - low) + low)


def randint(low: int, high: int, generator: torch.Generator | None = None) -> int:
    """An int drawn uniformly from ``[low, high)``; ``high`` must be greater than ``low``."""
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high}); high must be greater than low.")
    return int(torch.randint(low, high, (), generator=generator))


def coin(generator: torch.Generator | None = None) -> bool:
    """True with probability 1/2 (TF's ``random_uniform([]) < 0.5``)."""
    return bool(torch.rand((), generator=generator) < 0.5)
