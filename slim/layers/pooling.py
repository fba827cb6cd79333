"""Pooling layers with TF padding: `max_pool2d`, `avg_pool2d`, `max_pool3d`, `avg_pool3d`, `pool`.

TF-Slim's defaults: stride 2, padding 'VALID'. With 'SAME', max pooling pads with -inf (the extra pixel at the
bottom/right) and average pooling divides each window by the number of valid, non-padded cells, as TF does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from slim.framework.arg_scope import add_arg_scope
from slim.framework.variable_scope import name_scope
from slim.layers.convolutional import from_channels_first, to_channels_first
from slim.layers.padding import normalize_padding, same_padding_amounts
from slim.layers.utils import collect_named_outputs, n_positive_integers

__all__ = ["max_pool2d", "avg_pool2d", "max_pool3d", "avg_pool3d", "pool", "pool_nd"]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _same_pads(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], rate: Sequence[int]) -> list:
    return [same_padding_amounts(size, k, s, r) for size, k, s, r in zip(x.shape[2:], kernel, stride, rate)]


def _flat(pads: list) -> list:
    flat: list = []
    for before, after in reversed(pads):  # F.pad wants the last dim first
        flat += [before, after]
    return flat


def _symmetric(pads: list, kernel: Sequence[int]) -> bool:
    return all(isinstance(b, int) and isinstance(a, int) and b == a and b <= k // 2 for (b, a), k in zip(pads, kernel))


def pool_nd(
    x: torch.Tensor,
    pooling_type: str,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: str,
    rate: Sequence[int] | None = None,
) -> torch.Tensor:
    """Channels-first max or average pooling with TF padding semantics."""
    n = x.dim() - 2
    rate = tuple(rate) if rate is not None else (1,) * n
    kernel, stride = tuple(kernel), tuple(stride)
    if pooling_type == "MAX":
        if padding == "VALID":
            return _MAX[n](x, kernel, stride, 0, rate)
        pads = _same_pads(x, kernel, stride, rate)
        if _symmetric(pads, kernel):
            return _MAX[n](x, kernel, stride, tuple(b for b, _ in pads), rate)
        return _MAX[n](F.pad(x, _flat(pads), value=float("-inf")), kernel, stride, 0, rate)
    if any(r != 1 for r in rate):
        raise ValueError(f"Average pooling with dilation rate {rate} is not supported.")
    if padding == "VALID":
        return _AVG[n](x, kernel, stride, 0)
    pads = _same_pads(x, kernel, stride, rate)
    if _symmetric(pads, kernel):
        return _AVG[n](x, kernel, stride, tuple(b for b, _ in pads), False, False)
    # Asymmetric SAME: divide window sums by the number of real cells in each window.
    flat = _flat(pads)
    sums = _AVG[n](F.pad(x, flat), kernel, stride, 0)
    ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
    counts = _AVG[n](F.pad(ones, flat), kernel, stride, 0)
    return sums / counts


def _pool_layer(
    inputs: torch.Tensor,
    pooling_type: str,
    kernel_size: Any,
    stride: Any,
    padding: str,
    data_format: str | None,
    outputs_collections: Any,
    scope: Any,
    default_scope: str,
    spatial_dims: int | None,
    rate: Any = 1,
) -> torch.Tensor:
    what = default_scope
    padding = normalize_padding(padding, what)
    alias = name_scope(scope, default_scope)
    x, moved = to_channels_first(inputs, data_format, f"{what} {alias}")
    n = x.dim() - 2
    if spatial_dims is not None and n != spatial_dims:
        raise ValueError(f"{what} {alias}: expected a rank-{spatial_dims + 2} input, got shape {tuple(inputs.shape)}.")
    outputs = pool_nd(
        x,
        pooling_type,
        n_positive_integers(n, kernel_size),
        n_positive_integers(n, stride),
        padding,
        n_positive_integers(n, rate),
    )
    return collect_named_outputs(outputs_collections, alias, from_channels_first(outputs, moved))


@add_arg_scope
def max_pool2d(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 2,
    padding: str = "VALID",
    data_format: str | None = None,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """2-D max pooling (default scope ``MaxPool2D``)."""
    return _pool_layer(
        inputs, "MAX", kernel_size, stride, padding, data_format, outputs_collections, scope, "MaxPool2D", 2
    )


@add_arg_scope
def avg_pool2d(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 2,
    padding: str = "VALID",
    data_format: str | None = None,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """2-D average pooling (default scope ``AvgPool2D``); SAME excludes padding from the divisor."""
    return _pool_layer(
        inputs, "AVG", kernel_size, stride, padding, data_format, outputs_collections, scope, "AvgPool2D", 2
    )


@add_arg_scope
def max_pool3d(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 2,
    padding: str = "VALID",
    data_format: str | None = None,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """3-D max pooling over NCDHW input (default scope ``MaxPool3D``)."""
    return _pool_layer(
        inputs, "MAX", kernel_size, stride, padding, data_format, outputs_collections, scope, "MaxPool3D", 3
    )


@add_arg_scope
def avg_pool3d(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 2,
    padding: str = "VALID",
    data_format: str | None = None,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """3-D average pooling over NCDHW input (default scope ``AvgPool3D``)."""
    return _pool_layer(
        inputs, "AVG", kernel_size, stride, padding, data_format, outputs_collections, scope, "AvgPool3D", 3
    )


@add_arg_scope
def pool(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    pooling_type: str,
    padding: str = "VALID",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
    stride: int | Sequence[int] = 1,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """N-d pooling of type 'MAX' or 'AVG' (default scope ``max_pool``/``avg_pool``), optionally dilated."""
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}.")
    return _pool_layer(
        inputs,
        pooling_type,
        kernel_size,
        stride,
        padding,
        data_format,
        outputs_collections,
        scope,
        f"{pooling_type.lower()}_pool",
        None,
        rate=dilation_rate,
    )
