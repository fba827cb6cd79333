"""What the Inception networks share: the arg scope, the depth and kernel-size rules, and the "Mixed" block builder.

An Inception block runs several branches side by side on the same input and concatenates their outputs along the
channels. A block is written as a table, one list of layers per branch, with the small constructors below::

    mixed_block(net, "Mixed_3b", [
        [conv(64, [1, 1], "Conv2d_0a_1x1")],                                          # Branch_0
        [conv(96, [1, 1], "Conv2d_0a_1x1"), conv(128, [3, 3], "Conv2d_0b_3x3")],      # Branch_1
        [max_pool([3, 3], "MaxPool_0a_3x3"), conv(32, [1, 1], "Conv2d_0b_1x1")],      # Branch_2
    ])

which creates TF-Slim's scopes ``Mixed_3b/Branch_0/Conv2d_0a_1x1``, ... exactly, so checkpoints map by name. A layer
is a plain tuple (``("conv", depth, kernel, scope, kwargs)``, ``("max" | "avg", kernel, scope, kwargs)``,
``("split", [layer, ...])`` or a whole block ``("mixed", scope, branches)``), so tables stay data; Inception v4 and
Inception-ResNet-v2 use the same format. A whole network is then a list of layers whose scopes are its end points,
run by :func:`build_end_points` up to a ``final_endpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

import slim

__all__ = [
    "inception_arg_scope",
    "trunc_normal",
    "depth_fn",
    "reduced_kernel_size_for_small_input",
    "check_final_endpoint",
    "conv",
    "max_pool",
    "avg_pool",
    "split",
    "mixed",
    "layer_scope",
    "run_branch",
    "mixed_block",
    "build_end_points",
]

# One layer of a branch table (see the module docstring).
Layer = tuple


def inception_arg_scope(
    weight_decay: float = 0.00004,
    use_batch_norm: bool = True,
    batch_norm_decay: float = 0.9997,
    batch_norm_epsilon: float = 0.001,
    activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = torch.relu,
    batch_norm_updates_collections: Any = slim.GraphKeys.UPDATE_OPS,
    batch_norm_scale: bool = False,
) -> dict:
    """The arg scope the Inception networks are trained with.

    Convolutions are He-initialised (``variance_scaling_initializer()``), L2-regularised, followed by batch norm
    (without ``gamma`` unless ``batch_norm_scale``) and ``activation_fn``; fully connected layers get the L2
    regulariser only.

    Args:
      weight_decay: the L2 regularization scale of conv and fully connected weights.
      use_batch_norm: whether convolutions are followed by batch norm (otherwise they keep their biases).
      batch_norm_decay: the decay of batch norm's moving averages.
      batch_norm_epsilon: the small value batch norm adds to the variance.
      activation_fn: the activation of every convolution (None: linear).
      batch_norm_updates_collections: batch norm's ``updates_collections`` (updates run in the forward pass).
      batch_norm_scale: whether batch norm learns a ``gamma``; the published checkpoints have none.

    Returns:
      The arg scope dict, to enter with ``slim.arg_scope(inception_arg_scope())``.

    Example:
      with slim.arg_scope(inception_arg_scope(batch_norm_scale=True)):
          logits, end_points = inception_v3(images, num_classes=5)
    """
    batch_norm_params = {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "updates_collections": batch_norm_updates_collections,
        "fused": None,  # TF's fused kernel (unbiased variance in the moving average), as TF-Slim chooses
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


def trunc_normal(stddev: float) -> Callable:
    """A truncated-normal initializer with mean 0 (TF-Slim's module-level ``trunc_normal`` lambda)."""
    return slim.truncated_normal_initializer(0.0, stddev)


def depth_fn(depth_multiplier: float, min_depth: int, network: str) -> Callable[[int], int]:
    """The thinning rule ``depth(d) = max(int(d * depth_multiplier), min_depth)`` of Inception v2/v3.

    ``min_depth`` only bites when ``depth_multiplier < 1``.

    Raises:
      ValueError: ``depth_multiplier`` is not greater than zero.
    """
    if depth_multiplier <= 0:
        raise ValueError(
            f"{network}: depth_multiplier is not greater than zero (got {depth_multiplier}); "
            "pass a positive multiplier such as 0.5, 1.0 or 2.0."
        )

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    return depth


def reduced_kernel_size_for_small_input(inputs: torch.Tensor, kernel_size: Sequence[int]) -> list[int]:
    """The pooling (or aux conv) kernel, shrunk to the feature map when the input is smaller than designed for.

    TF-Slim's ``_reduced_kernel_size_for_small_input``: ``[min(H, kh), min(W, kw)]`` of an NCHW tensor. It lets
    Inception v2/v3 run on inputs smaller than 224/299 (e.g. 150 x 150: an 8 x 8 head pool becomes 3 x 3).

    Example:
      reduced_kernel_size_for_small_input(torch.zeros(1, 2048, 3, 3), [8, 8])   # [3, 3]
    """
    return [min(int(inputs.shape[2]), kernel_size[0]), min(int(inputs.shape[3]), kernel_size[1])]


def check_final_endpoint(final_endpoint: str, end_point_names: Sequence[str], network: str) -> None:
    """Raises ValueError (TF-Slim's "Unknown final endpoint") unless ``final_endpoint`` is one of the names."""
    if final_endpoint not in end_point_names:
        raise ValueError(
            f"Unknown final endpoint {final_endpoint} for {network}; choose one of: {', '.join(end_point_names)}."
        )


def conv(depth: int, kernel: int | Sequence[int], scope: str, **kwargs: Any) -> Layer:
    """A ``slim.conv2d`` layer of a branch table; ``kwargs`` go to the layer (stride, padding, initializer)."""
    return ("conv", depth, kernel, scope, kwargs)


def max_pool(kernel: int | Sequence[int], scope: str, **kwargs: Any) -> Layer:
    """A ``slim.max_pool2d`` layer of a branch table."""
    return ("max", kernel, scope, kwargs)


def avg_pool(kernel: int | Sequence[int], scope: str, **kwargs: Any) -> Layer:
    """A ``slim.avg_pool2d`` layer of a branch table."""
    return ("avg", kernel, scope, kwargs)


def split(*layers: Layer) -> Layer:
    """Layers applied side by side to the same input and concatenated (Inception v3's 1 x 3 / 3 x 1 pairs)."""
    return ("split", list(layers))


def mixed(scope: str, branches: Sequence[Sequence[Layer]]) -> Layer:
    """A whole Mixed block (see :func:`mixed_block`) as one layer of a network table."""
    return ("mixed", scope, list(branches))


def layer_scope(layer: Layer) -> str:
    """The scope name of a conv, pool or mixed layer (the end-point name when the layer is a network row)."""
    position = {"conv": 3, "max": 2, "avg": 2, "mixed": 1}.get(layer[0])
    if position is not None:
        return layer[position]
    raise ValueError(f"Layer {layer!r} has no scope name; only conv, pool and mixed layers are network rows.")


def run_branch(net: torch.Tensor, layers: Sequence[Layer]) -> torch.Tensor:
    """Applies one branch's layers in order (in the caller's variable scope)."""
    for layer in layers:
        kind = layer[0]
        if kind == "split":
            net = torch.cat([run_branch(net, [part]) for part in layer[1]], dim=1)
        elif kind == "conv":
            _, depth, kernel, scope, *extra = layer
            net = slim.conv2d(net, depth, kernel, scope=scope, **(extra[0] if extra else {}))
        elif kind == "mixed":
            net = mixed_block(net, layer[1], layer[2])
        elif kind in ("max", "avg"):
            _, kernel, scope, *extra = layer
            pool = slim.max_pool2d if kind == "max" else slim.avg_pool2d
            net = pool(net, kernel, scope=scope, **(extra[0] if extra else {}))
        else:
            raise ValueError(
                f"Unknown layer kind {kind!r} in branch layer {layer!r}; build layers with conv(), max_pool(), "
                "avg_pool(), split() or mixed() from slim.nets.inception_utils."
            )
    return net


def mixed_block(net: torch.Tensor, scope: str, branches: Sequence[Sequence[Layer]]) -> torch.Tensor:
    """Runs ``branches`` as ``scope/Branch_0`` ... ``scope/Branch_<n>`` on ``net``; concatenates them on channels."""
    with slim.variable_scope(scope):
        outputs = []
        for i, layers in enumerate(branches):
            with slim.variable_scope(f"Branch_{i}"):
                outputs.append(run_branch(net, layers))
        return torch.cat(outputs, dim=1)


def build_end_points(
    net: torch.Tensor, layers: Sequence[Layer], final_endpoint: str, end_points: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, bool]:
    """Runs a network table: each layer is an end point named by its scope, recorded in ``end_points``.

    Returns:
      ``(net, reached)``: the last output, and whether ``final_endpoint`` was built (the rest is then skipped).
    """
    for layer in layers:
        net = run_branch(net, [layer])
        name = layer_scope(layer)
        end_points[name] = net
        if name == final_endpoint:
            return net, True
    return net, False
