"""Pieces the Inception networks share: the arg scope, the reduced pooling kernel for small inputs, and helpers
that build a multi-branch "Mixed" block from a table of layers while keeping TF-Slim's scope names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

import slim


def inception_arg_scope(
    weight_decay: float = 0.00004,
    use_batch_norm: bool = True,
    batch_norm_decay: float = 0.9997,
    batch_norm_epsilon: float = 0.001,
    activation_fn: Callable | None = torch.relu,
    batch_norm_updates_collections: Any = "update_ops",
    batch_norm_scale: bool = False,
) -> dict:
    """TF-Slim's Inception arg scope: He-initialised ReLU convs with batch norm (no gamma by default), L2 decay."""
    batch_norm_params = {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "updates_collections": batch_norm_updates_collections,
        "fused": None,
        "scale": batch_norm_scale,
    }
    normalizer_fn = slim.batch_norm if use_batch_norm else None
    normalizer_params = batch_norm_params if use_batch_norm else {}
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(weight_decay)):
        with slim.arg_scope(
            [slim.conv2d],
            weights_initializer=slim.variance_scaling_initializer(),
            activation_fn=activation_fn,
            normalizer_fn=normalizer_fn,
            normalizer_params=normalizer_params,
        ) as sc:
            return sc


def reduced_kernel_size_for_small_input(inputs: torch.Tensor, kernel_size: Sequence[int]) -> list[int]:
    """The pooling kernel, shrunk to the feature map when the input is smaller than the net was designed for."""
    height, width = int(inputs.shape[2]), int(inputs.shape[3])
    return [min(height, kernel_size[0]), min(width, kernel_size[1])]


# A branch is a list of layers; a layer is ("conv", depth, kernel, scope, extra kwargs),
# ("max"/"avg", kernel, scope, extra kwargs), or ("split", [layer, layer, ...]): the layers applied side by side to
# the same input and concatenated (Inception v3's 1x3 / 3x1 pairs).
Layer = tuple


def run_branch(net: torch.Tensor, layers: Sequence[Layer]) -> torch.Tensor:
    """Applies one branch's layers in order."""
    for layer in layers:
        kind = layer[0]
        if kind == "split":
            net = torch.cat([run_branch(net, [part]) for part in layer[1]], dim=1)
        elif kind == "conv":
            _, depth, kernel, scope, *extra = layer
            net = slim.conv2d(net, depth, kernel, scope=scope, **(extra[0] if extra else {}))
        elif kind in ("max", "avg"):
            _, kernel, scope, *extra = layer
            pool = slim.max_pool2d if kind == "max" else slim.avg_pool2d
            net = pool(net, kernel, scope=scope, **(extra[0] if extra else {}))
        else:
            raise ValueError(f"Unknown layer kind {kind!r}.")
    return net


def mixed_block(net: torch.Tensor, scope: str, branches: Sequence[Sequence[Layer]]) -> torch.Tensor:
    """``Branch_0 .. Branch_n`` under ``scope``, concatenated along the channels."""
    with slim.variable_scope(scope):
        outputs = []
        for i, layers in enumerate(branches):
            with slim.variable_scope(f"Branch_{i}"):
                outputs.append(run_branch(net, layers))
        return torch.cat(outputs, dim=1)
