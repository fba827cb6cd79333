"""Blocks of the MobileNet v2/v3 family: ``expanded_conv`` (inverted residual), ``squeeze_excite``, channel rounding.

``expanded_conv`` records its intermediate tensors (``expansion_output``, ``depthwise_output``, ``output``) in the
``LAYER_OUTPUTS`` collection; the builder turns them into TF-Slim's ``layer_<i>/<name>`` end points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

import slim

LAYER_OUTPUTS = "_mobilenet_layer_outputs"


def _fixed_padding(inputs: torch.Tensor, kernel_size: Sequence[int], rate: int = 1) -> torch.Tensor:
    """Symmetric explicit padding (smaller half first) for a VALID conv of ``kernel_size`` and ``rate``."""
    effective = [k + (k - 1) * (rate - 1) for k in kernel_size[:2]]
    pad_total = [e - 1 for e in effective]
    pad_beg = [p // 2 for p in pad_total]
    pad_end = [p - b for p, b in zip(pad_total, pad_beg)]
    return F.pad(inputs, [pad_beg[1], pad_end[1], pad_beg[0], pad_end[0]])


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``v`` rounded to a multiple of ``divisor`` (at least ``min_value``), never more than 10% below ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return int(new_v)


def expand_input_by_factor(n: float, divisible_by: int = 8) -> Callable[..., int]:
    """An expansion size of ``n`` times the input depth, rounded to ``divisible_by``."""
    return lambda num_inputs, **_: _make_divisible(num_inputs * n, divisible_by)


def split_conv(
    input_tensor: torch.Tensor, num_outputs: int, num_ways: int, scope: str, divisible_by: int = 8, **kwargs: Any
) -> torch.Tensor:
    """A 1x1 conv, optionally split into ``num_ways`` convs over channel groups (``split_expansion``)."""
    channels = int(input_tensor.shape[1])
    if num_ways == 1 or min(channels // num_ways, num_outputs // num_ways) < divisible_by:
        return slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope, **kwargs)
    outputs = []
    input_splits = _split_divisible(channels, num_ways, divisible_by)
    output_splits = _split_divisible(num_outputs, num_ways, divisible_by)
    inputs = torch.split(input_tensor, input_splits, dim=1)
    base = scope
    for i, (x, out_size) in enumerate(zip(inputs, output_splits)):
        outputs.append(slim.conv2d(x, out_size, [1, 1], scope=f"{base}_part_{i}", **kwargs))
    return torch.cat(outputs, dim=1)


def _split_divisible(num: int, num_ways: int, divisible_by: int = 8) -> list[int]:
    assert num % divisible_by == 0
    assert num / num_ways >= divisible_by
    base = num // num_ways // divisible_by * divisible_by
    result = []
    accumulated = 0
    for i in range(num_ways):
        r = base
        while accumulated + r < num * (i + 1) / num_ways:
            r += divisible_by
        result.append(r)
        accumulated += r
    assert accumulated == num
    return result


@slim.add_arg_scope
def squeeze_excite(
    input_tensor: torch.Tensor,
    divisible_by: int = 8,
    squeeze_factor: float = 3,
    inner_activation_fn: Callable | None = torch.relu,
    gating_fn: Callable = torch.sigmoid,
    squeeze_input_tensor: torch.Tensor | None = None,
    pool: int | None = None,
) -> torch.Tensor:
    """Squeeze-and-excitation: global pool -> 1x1 conv (squeeze) -> 1x1 conv (excite, gating) -> channel scaling."""
    with slim.variable_scope("squeeze_excite"):
        if squeeze_input_tensor is None:
            squeeze_input_tensor = input_tensor
        input_size = list(input_tensor.shape[2:4])
        pool_height, pool_width = int(squeeze_input_tensor.shape[2]), int(squeeze_input_tensor.shape[3])
        stride = 1
        if pool is not None and pool_height >= pool:
            pool_height, pool_width, stride = pool, pool, pool
        input_channels = int(squeeze_input_tensor.shape[1])
        output_channels = int(input_tensor.shape[1])
        squeeze_channels = _make_divisible(input_channels / squeeze_factor, divisor=divisible_by)
        if pool is None:  # the global average, as a mean (exports with dynamic height and width)
            pooled = torch.mean(squeeze_input_tensor, dim=[2, 3], keepdim=True)
        else:
            pooled = F.avg_pool2d(squeeze_input_tensor, (pool_height, pool_width), stride)
        squeeze = slim.conv2d(pooled, squeeze_channels, [1, 1], normalizer_fn=None, activation_fn=inner_activation_fn)
        excite = slim.conv2d(squeeze, output_channels, [1, 1], normalizer_fn=None, activation_fn=gating_fn)
        if pool is not None:
            excite = F.interpolate(excite, size=input_size, mode="bilinear", align_corners=True)
        return input_tensor * excite


@slim.add_arg_scope
def expanded_conv(
    input_tensor: torch.Tensor,
    num_outputs: int,
    expansion_size: Any = expand_input_by_factor(6),
    stride: int = 1,
    rate: int = 1,
    kernel_size: Sequence[int] = (3, 3),
    residual: Any = True,
    normalizer_fn: Callable | None = None,
    split_projection: int = 1,
    split_expansion: int = 1,
    split_divisible_by: int = 8,
    expansion_transform: Callable | None = None,
    depthwise_location: str | None = "expansion",
    depthwise_channel_multiplier: int = 1,
    endpoints: dict | None = None,
    use_explicit_padding: bool = False,
    padding: str = "SAME",
    inner_activation_fn: Callable | None = None,
    depthwise_activation_fn: Callable | None = None,
    project_activation_fn: Callable | None = None,
    depthwise_fn: Callable = slim.separable_conv2d,
    expansion_fn: Callable = split_conv,
    projection_fn: Callable = split_conv,
    scope: str | None = None,
) -> torch.Tensor:
    """The inverted-residual block: 1x1 expansion -> depthwise conv -> 1x1 linear projection (+ input).

    Raises:
      TypeError: an unknown ``depthwise_location``, or explicit padding with padding other than SAME.
    """
    conv_defaults = {}
    if normalizer_fn:
        conv_defaults["normalizer_fn"] = normalizer_fn
    if inner_activation_fn:
        conv_defaults["activation_fn"] = inner_activation_fn
    with (
        slim.variable_scope(scope, default_name="expanded_conv"),
        slim.arg_scope((slim.conv2d,), **conv_defaults),
        slim.arg_scope((slim.separable_conv2d,), **conv_defaults),
    ):
        prev_depth = int(input_tensor.shape[1])
        if depthwise_location not in [None, "input", "output", "expansion"]:
            raise TypeError(f"{depthwise_location!r} is unknown value for depthwise_location")
        if use_explicit_padding:
            if padding != "SAME":
                raise TypeError('`use_explicit_padding` should only be used with "SAME" padding.')
            padding = "VALID"
        depthwise_func = functools.partial(
            depthwise_fn,
            num_outputs=None,
            kernel_size=kernel_size,
            depth_multiplier=depthwise_channel_multiplier,
            stride=stride,
            rate=rate,
            normalizer_fn=normalizer_fn,
            padding=padding,
            scope="depthwise",
        )

        def record(name: str, tensor: torch.Tensor) -> torch.Tensor:
            slim.utils.collect_named_outputs(LAYER_OUTPUTS, name, tensor)
            if endpoints is not None:
                endpoints[name] = tensor
            return tensor

        net = input_tensor
        if depthwise_location == "input":
            if use_explicit_padding:
                net = _fixed_padding(net, kernel_size, rate)
            net = record("depthwise_output", depthwise_func(net, activation_fn=None))
        inner_size = expansion_size(num_inputs=prev_depth) if callable(expansion_size) else expansion_size
        if inner_size > int(net.shape[1]):
            if expansion_fn is split_conv:
                expansion_fn = functools.partial(
                    expansion_fn, num_ways=split_expansion, divisible_by=split_divisible_by, stride=1
                )
            net = expansion_fn(net, inner_size, scope="expand", normalizer_fn=normalizer_fn)
            net = record("expansion_output", net)
        if depthwise_location == "expansion":
            if use_explicit_padding:
                net = _fixed_padding(net, kernel_size, rate)
            net = record("depthwise_output", depthwise_func(net, activation_fn=depthwise_activation_fn))
        if expansion_transform:
            net = expansion_transform(expansion_tensor=net, input_tensor=input_tensor)
        if projection_fn is split_conv:
            projection_fn = functools.partial(
                projection_fn, num_ways=split_projection, divisible_by=split_divisible_by, stride=1
            )
        net = projection_fn(
            net, num_outputs, scope="project", normalizer_fn=normalizer_fn, activation_fn=project_activation_fn
        )
        if endpoints is not None:
            endpoints["projection_output"] = net
        if depthwise_location == "output":
            if use_explicit_padding:
                net = _fixed_padding(net, kernel_size, rate)
            net = record("depthwise_output", depthwise_func(net, activation_fn=None))
        if callable(residual):
            net = residual(input_tensor=input_tensor, output_tensor=net)
        elif residual and stride == 1 and int(net.shape[1]) == int(input_tensor.shape[1]):
            net = net + input_tensor
        return record("output", net)
