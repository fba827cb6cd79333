"""Building blocks shared by ResNet v1 and v2 (TF-Slim's ``resnet_utils``): blocks, ``conv2d_same``, atrous
``stack_blocks_dense`` and ``resnet_arg_scope``.

Activations are NCHW. ``output_stride`` makes the network atrous: once the requested stride is reached, later units
run with stride 1 and a growing dilation rate (Chen et al., DeepLab), so features keep their resolution.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

import slim


class Block(collections.namedtuple("Block", ["scope", "unit_fn", "args"])):
    """A ResNet block: ``scope`` name, ``unit_fn`` (e.g. a bottleneck) and one kwargs dict per unit."""


def subsample(inputs: torch.Tensor, factor: int, scope: str | None = None) -> torch.Tensor:
    """Keeps every ``factor``-th pixel (a 1x1 max-pool with that stride); the identity for factor 1."""
    if factor == 1:
        return inputs
    return slim.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(
    inputs: torch.Tensor, num_outputs: int, kernel_size: int, stride: int, rate: int = 1, scope: str | None = None
) -> torch.Tensor:
    """A strided conv whose output size does not depend on the input's parity: for stride > 1 the input is padded
    explicitly and symmetrically by ``k_eff - 1`` (the smaller half first), then a VALID conv follows, exactly as
    TF-Slim's ``conv2d_same``."""
    if stride == 1:
        return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate, padding="SAME", scope=scope)
    kernel_size_effective = kernel_size + (kernel_size - 1) * (rate - 1)
    pad_total = kernel_size_effective - 1
    pad_beg = pad_total // 2
    pad_end = pad_total - pad_beg
    inputs = F.pad(inputs, [pad_beg, pad_end, pad_beg, pad_end])
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride, rate=rate, padding="VALID", scope=scope)


@slim.add_arg_scope
def stack_blocks_dense(
    net: torch.Tensor,
    blocks: Sequence[Block],
    output_stride: int | float | None = None,
    store_non_strided_activations: bool = False,
    outputs_collections: Any = None,
) -> torch.Tensor:
    """Stacks ResNet blocks, switching to atrous convolution once ``output_stride`` is reached.

    Raises:
      ValueError: the target output_stride cannot be reached.
    """
    current_stride = 1
    rate = 1
    for block in blocks:
        with slim.variable_scope(block.scope, "block", [net]) as sc:
            block_stride = 1
            for i, unit in enumerate(block.args):
                if store_non_strided_activations and i == len(block.args) - 1:
                    # Move the stride from the block's last unit to the end of the block.
                    block_stride = unit.get("stride", 1)
                    unit = dict(unit, stride=1)
                with slim.variable_scope(f"unit_{i + 1}", values=[net]):
                    if output_stride is not None and current_stride == output_stride:
                        net = block.unit_fn(net, rate=rate, **dict(unit, stride=1))
                        rate *= unit.get("stride", 1)
                    else:
                        net = block.unit_fn(net, rate=1, **unit)
                        current_stride *= unit.get("stride", 1)
                        if output_stride is not None and current_stride > output_stride:
                            raise ValueError("The target output_stride cannot be reached.")
            # Collect activations at the block's end, before subsampling.
            net = slim.utils.collect_named_outputs(outputs_collections, sc.name, net)
            if output_stride is not None and current_stride == output_stride:
                rate *= block_stride
            else:
                net = subsample(net, block_stride)
                current_stride *= block_stride
                if output_stride is not None and current_stride > output_stride:
                    raise ValueError("The target output_stride cannot be reached.")
    if output_stride is not None and current_stride != output_stride:
        raise ValueError("The target output_stride cannot be reached.")
    return net


def resnet_arg_scope(
    weight_decay: float = 0.0001,
    batch_norm_decay: float = 0.997,
    batch_norm_epsilon: float = 1e-5,
    batch_norm_scale: bool = True,
    activation_fn: Callable | None = torch.relu,
    use_batch_norm: bool = True,
    batch_norm_updates_collections: Any = "update_ops",
) -> dict:
    """TF-Slim's ResNet arg scope: He-initialised, L2-regularised convs with batch norm; SAME max pooling."""
    batch_norm_params = {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "scale": batch_norm_scale,
        "updates_collections": batch_norm_updates_collections,
        "fused": None,
    }
    with slim.arg_scope(
        [slim.conv2d],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=slim.batch_norm if use_batch_norm else None,
        normalizer_params=batch_norm_params,
    ):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params):
            with slim.arg_scope([slim.max_pool2d], padding="SAME") as arg_sc:
                return arg_sc
