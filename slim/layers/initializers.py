"""Initializers with TF's semantics. Each is a function ``init(shape, dtype) -> Tensor`` over a TF-layout shape.

Fan-in and fan-out are computed from the TF shape (``[kh, kw, in, out]`` for a conv kernel, ``[in, out]`` for a dense
one), which is why layers create their variables in TF layout and then permute them into PyTorch's. Random draws use
PyTorch's global generator (``torch.manual_seed``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = [
    "Initializer",
    "xavier_initializer",
    "xavier_initializer_conv2d",
    "variance_scaling_initializer",
    "truncated_normal_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
    "constant_initializer",
    "zeros_initializer",
    "ones_initializer",
]

Initializer = Callable[[Sequence[int], torch.dtype], torch.Tensor]


def _check_float(dtype: torch.dtype, what: str) -> None:
    if not dtype.is_floating_point:
        raise TypeError(f"{what} only supports floating point dtypes, got {dtype}.")


def _fans(shape: Sequence[int]) -> tuple[float, float]:
    """TF's fan computation: the last two dims are (in, out), all earlier dims are the receptive field."""
    if not shape:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _standard_truncated_normal(shape: Sequence[int], generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal values with those beyond 2 re-drawn, as TF's ``truncated_normal`` does (and much faster than
    an inverse-CDF sampler for the ~100M-value kernels of the big networks)."""
    value = torch.randn(tuple(shape), generator=generator)
    outside = value.abs() > 2.0
    while bool(outside.any()):
        value[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = value.abs() > 2.0
    return value


def truncated_normal_initializer(mean: float = 0.0, stddev: float = 1.0, seed: int | None = None) -> Initializer:
    """Normal(mean, stddev) with values beyond 2 stddev re-drawn (TF's ``truncated_normal``)."""

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        _check_float(dtype, "truncated_normal_initializer")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return (_standard_truncated_normal(shape, generator) * stddev + mean).to(dtype)

    init.__name__ = "truncated_normal_initializer"
    return init


def random_normal_initializer(mean: float = 0.0, stddev: float = 1.0, seed: int | None = None) -> Initializer:
    """Normal(mean, stddev)."""

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        _check_float(dtype, "random_normal_initializer")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return (torch.randn(tuple(shape), generator=generator) * stddev + mean).to(dtype)

    return init


def random_uniform_initializer(minval: float = 0.0, maxval: float = 1.0, seed: int | None = None) -> Initializer:
    """Uniform[minval, maxval)."""

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return (torch.rand(tuple(shape), generator=generator) * (maxval - minval) + minval).to(dtype)

    return init


def constant_initializer(value: float = 0.0) -> Initializer:
    """Every element equal to ``value``."""

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.full(tuple(shape), float(value), dtype=dtype)

    return init


def zeros_initializer() -> Initializer:
    """All zeros."""
    return constant_initializer(0.0)


def ones_initializer() -> Initializer:
    """All ones."""
    return constant_initializer(1.0)


def variance_scaling_initializer(
    factor: float = 2.0, mode: str = "FAN_IN", uniform: bool = False, seed: int | None = None, dtype=torch.float32
) -> Initializer:
    """TF-Slim's variance scaling: ``n`` = fan_in, fan_out or their mean; stddev ``sqrt(1.3 * factor / n)``.

    With ``uniform`` the values are U(-sqrt(3 factor / n), +sqrt(3 factor / n)); otherwise a normal truncated at two
    standard deviations, with the 1.3 factor that makes its variance close to ``factor / n``.
    """
    if not dtype.is_floating_point:
        raise TypeError("Cannot create initializer for non-floating point type.")
    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        _check_float(dtype, "variance_scaling_initializer")
        fan_in, fan_out = _fans(shape)
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[mode]
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        if uniform:
            limit = math.sqrt(3.0 * factor / n)
            return ((torch.rand(tuple(shape), generator=generator) * 2.0 - 1.0) * limit).to(dtype)
        stddev = math.sqrt(1.3 * factor / n)
        return (_standard_truncated_normal(shape, generator) * stddev).to(dtype)

    init.__name__ = "variance_scaling_initializer"
    return init


def xavier_initializer(uniform: bool = True, seed: int | None = None, dtype=torch.float32) -> Initializer:
    """Glorot/Xavier: variance scaling with factor 1 over the average fan (uniform by default)."""
    return variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform, seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer
