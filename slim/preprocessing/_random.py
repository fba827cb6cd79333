"""Scalar random draws for the preprocessing functions, all through an optional ``torch.Generator``.

Every random decision of a preprocessing function goes through these helpers, so passing one seeded generator makes
a whole pipeline deterministic, and passing none uses torch's global generator (which ``torch.utils.data`` seeds
differently in every worker process).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["uniform", "randint", "coin"]


def uniform(low: float, high: float, generator: torch.Generator | None = None) -> float:
    """A float drawn uniformly from ``[low, high)`` (a float32 draw, as TF's ``random_uniform``).

    The scaling is float32 arithmetic on numpy scalars: the same value as on 0-d torch tensors, at a fraction of
    the per-call overhead (preprocessing draws several of these per image).
    """
    u = np.float32(torch.rand((), generator=generator, dtype=torch.float32).item())
    return float(u * np.float32(high - low) + np.float32(low))


def randint(low: int, high: int, generator: torch.Generator | None = None) -> int:
    """An int drawn uniformly from ``[low, high)``; ``high`` must be greater than ``low``."""
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high}); high must be greater than low.")
    return int(torch.randint(low, high, (), generator=generator))


def coin(generator: torch.Generator | None = None) -> bool:
    """True with probability 1/2 (TF's ``random_uniform([]) < 0.5``)."""
    return torch.rand((), generator=generator).item() < 0.5
