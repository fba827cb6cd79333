"""Normalization layers with TF-Slim's defaults: `batch_norm`, `layer_norm`, `group_norm`, `instance_norm`.

`batch_norm` numerics (TF-Slim defaults): decay 0.999 (PyTorch momentum ``1 - decay``), epsilon 0.001, center=True,
scale=False (no ``gamma``). Training normalises with the batch mean and biased variance; the default (fused) path
updates the moving variance with the unbiased batch variance, ``fused=False`` with the biased one. The moving averages
are updated in the forward pass; TF defers them to UPDATE_OPS, which changes when, not what, they compute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from slim.framework.arg_scope import add_arg_scope
from slim.framework.variable_scope import variable_scope
from slim.framework.variables import model_variable
from slim.layers.initializers import ones_initializer, zeros_initializer
from slim.layers.utils import collect_named_outputs, get_variable_collections, resolve_is_training

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]


def _channel_axis(inputs: torch.Tensor, data_format: str | None, what: str) -> int:
    rank = inputs.dim()
    if rank < 2:
        raise ValueError(f"{what}: inputs must have rank >= 2, got shape {tuple(inputs.shape)}.")
    if data_format is None or data_format.startswith("NC"):
        return 1
    if data_format in ("NHWC", "NWC", "NDHWC"):
        return rank - 1
    raise ValueError(f"{what}: data_format must be 'NCHW' or 'NHWC' (or the 1-D/3-D forms), got {data_format!r}.")


def _param(
    name: str,
    shape: list[int],
    initializers: dict,
    default: Any,
    regularizers: dict,
    variables_collections: Any,
    trainable: bool,
) -> torch.Tensor:
    return model_variable(
        name,
        shape=shape,
        initializer=initializers.get(name, default),
        regularizer=regularizers.get(name),
        collections=get_variable_collections(variables_collections, name),
        trainable=trainable,
    )


def _check_keys(given: dict | None, allowed: Sequence[str], what: str) -> dict:
    given = dict(given or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; allowed keys are {list(allowed)}.")
    return given


@add_arg_scope
def batch_norm(
    inputs: torch.Tensor,
    decay: float = 0.999,
    center: bool = True,
    scale: bool = False,
    epsilon: float = 0.001,
    activation_fn: Callable | None = None,
    param_initializers: dict | None = None,
    param_regularizers: dict | None = None,
    updates_collections: Any = "update_ops",
    is_training: Any = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    batch_weights: torch.Tensor | None = None,
    fused: bool | None = None,
    data_format: str | None = None,
    zero_debias_moving_mean: bool = False,
    scope: Any = None,
    renorm: bool = False,
    renorm_clipping: dict | None = None,
    renorm_decay: float = 0.99,
    adjustment: Callable | None = None,
) -> torch.Tensor:
    """Batch normalization (Ioffe & Szegedy) with TF-Slim's variables and defaults.

    Variables under ``<scope>/BatchNorm``: ``beta`` (if center), ``gamma`` (if scale), ``moving_mean`` and
    ``moving_variance`` (model variables, not trainable); with ``zero_debias_moving_mean`` also
    ``moving_mean/biased`` and ``moving_mean/local_step``.

    Args:
      is_training: True normalises with batch statistics and updates the moving averages; False uses the moving
        averages; None (the default here) follows the owning model's ``train()``/``eval()`` mode. TF-Slim's default
        is True, which is what a freshly created model (in training mode) gives.
      updates_collections: accepted for compatibility; updates are applied in the forward pass (see module doc).
      fused: None/True update the moving variance with the unbiased batch variance (TF's fused kernel); False with
        the biased one (TF's non-fused path).
      batch_weights: per-example weights ``[batch]`` for weighted moments (non-fused path).
      renorm, adjustment: batch renormalisation and random adjustment are not supported; they raise ValueError.

    Example:
      net = slim.batch_norm(net, decay=0.9997, scale=True, is_training=False)
    """
    del updates_collections
    if renorm:
        raise ValueError("batch_norm: renorm=True (batch renormalisation) is not supported; use renorm=False.")
    if adjustment is not None:
        raise ValueError("batch_norm: the adjustment function is not supported; pass adjustment=None.")
    del renorm_clipping, renorm_decay
    initializers = _check_keys(
        param_initializers, ("beta", "gamma", "moving_mean", "moving_variance"), "batch_norm param_initializers"
    )
    regularizers = _check_keys(param_regularizers, ("beta", "gamma"), "batch_norm param_regularizers")
    with variable_scope(scope, "BatchNorm", [inputs], reuse=reuse) as sc:
        axis = _channel_axis(inputs, data_format, f"batch_norm {sc.name}")
        channels = int(inputs.shape[axis])
        beta = (
            _param(
                "beta", [channels], initializers, zeros_initializer(), regularizers, variables_collections, trainable
            )
            if center
            else None
        )
        gamma = (
            _param(
                "gamma", [channels], initializers, ones_initializer(), regularizers, variables_collections, trainable
            )
            if scale
            else None
        )
        moving_mean = _param(
            "moving_mean", [channels], initializers, zeros_initializer(), {}, variables_collections, False
        )
        moving_variance = _param(
            "moving_variance", [channels], initializers, ones_initializer(), {}, variables_collections, False
        )
        debias = None
        if zero_debias_moving_mean:
            with variable_scope("moving_mean"):
                debias = (
                    _param("biased", [channels], {}, zeros_initializer(), {}, variables_collections, False),
                    _param("local_step", [], {}, zeros_initializer(), {}, variables_collections, False),
                )
        training = resolve_is_training(is_training)
        x = inputs.movedim(axis, 1) if axis != 1 else inputs
        # One value per channel (batch 1 at 1x1): PyTorch's kernel refuses it, TF normalises to beta.
        single_value = x.numel() == channels
        if training and (batch_weights is not None or fused is False or debias is not None or single_value):
            outputs = _batch_norm_train_explicit(
                x,
                beta,
                gamma,
                moving_mean,
                moving_variance,
                decay,
                epsilon,
                batch_weights,
                unbiased_update=fused is not False and batch_weights is None,
                debias=debias,
            )
        else:
            if gamma is None and beta is not None and x.is_cuda:
                # CUDA's batch-norm backward (channels_last, reduced precision) returns no beta gradient when
                # there is no weight: pass a constant scale of one instead (same result).
                gamma = torch.ones_like(beta)
            outputs = F.batch_norm(
                x, moving_mean, moving_variance, gamma, beta, training=training, momentum=1.0 - decay, eps=epsilon
            )
        if axis != 1:
            outputs = outputs.movedim(1, axis)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


def _batch_norm_train_explicit(
    x: torch.Tensor,
    beta: torch.Tensor | None,
    gamma: torch.Tensor | None,
    moving_mean: torch.Tensor,
    moving_variance: torch.Tensor,
    decay: float,
    epsilon: float,
    batch_weights: torch.Tensor | None,
    unbiased_update: bool,
    debias: tuple[torch.Tensor, torch.Tensor] | None,
) -> torch.Tensor:
    """Training-mode batch norm written out: weighted moments, biased-variance and zero-debiased updates."""
    axes = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    if batch_weights is not None:
        weights = batch_weights.reshape([-1] + [1] * (x.dim() - 1)).to(x.dtype)
        weights = weights.expand_as(x)
        total = weights.sum(dim=axes)
        mean = (weights * x).sum(dim=axes) / total
        variance = (weights * (x - mean.reshape(shape)) ** 2).sum(dim=axes) / total
    else:
        variance, mean = torch.var_mean(x, dim=axes, correction=0)
    outputs = (x - mean.reshape(shape)) * torch.rsqrt(variance.reshape(shape) + epsilon)
    if gamma is not None:
        outputs = outputs * gamma.reshape(shape)
    if beta is not None:
        outputs = outputs + beta.reshape(shape)
    with torch.no_grad():
        count = x.numel() // x.shape[1]
        update_variance = variance * (count / max(count - 1, 1)) if unbiased_update else variance
        if debias is None:
            moving_mean.mul_(decay).add_(mean.detach() * (1.0 - decay))
        else:
            biased, local_step = debias
            biased.mul_(decay).add_(mean.detach() * (1.0 - decay))
            local_step.add_(1.0)
            moving_mean.copy_(biased / (1.0 - decay**local_step))
        moving_variance.mul_(decay).add_(update_variance.detach() * (1.0 - decay))
    return outputs


@add_arg_scope
def layer_norm(
    inputs: torch.Tensor,
    center: bool = True,
    scale: bool = True,
    activation_fn: Callable | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    begin_norm_axis: int = 1,
    begin_params_axis: int = -1,
    scope: Any = None,
) -> torch.Tensor:
    """Layer normalization: moments over dims ``[begin_norm_axis:]``, ``beta``/``gamma`` of shape
    ``inputs.shape[begin_params_axis:]``; variance epsilon 1e-12 (1e-3 for float16), as TF-Slim.

    Note the axes refer to the tensor as given (channels-first for our images), unlike TF's channels-last.
    """
    with variable_scope(scope, "LayerNorm", [inputs], reuse=reuse) as sc:
        rank = inputs.dim()
        if rank < 1:
            raise ValueError(f"layer_norm {sc.name}: inputs must have a known rank.")
        norm_axis = begin_norm_axis + rank if begin_norm_axis < 0 else begin_norm_axis
        params_axis = begin_params_axis + rank if begin_params_axis < 0 else begin_params_axis
        if not 0 <= norm_axis < rank or not 0 <= params_axis < rank:
            raise ValueError(
                f"layer_norm {sc.name}: begin_norm_axis {begin_norm_axis} / begin_params_axis {begin_params_axis} out "
                f"of range for rank {rank}."
            )
        params_shape = [int(d) for d in inputs.shape[params_axis:]]
        collections = variables_collections
        beta = _param("beta", params_shape, {}, zeros_initializer(), {}, collections, trainable) if center else None
        gamma = _param("gamma", params_shape, {}, ones_initializer(), {}, collections, trainable) if scale else None
        epsilon = 1e-3 if inputs.dtype == torch.float16 else 1e-12
        variance, mean = torch.var_mean(inputs, dim=tuple(range(norm_axis, rank)), keepdim=True, correction=0)
        outputs = (inputs - mean) * torch.rsqrt(variance + epsilon)
        if gamma is not None:
            outputs = outputs * gamma
        if beta is not None:
            outputs = outputs + beta
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def group_norm(
    inputs: torch.Tensor,
    groups: int = 32,
    channels_axis: int = 1,
    reduction_axes: Sequence[int] = (-2, -1),
    center: bool = True,
    scale: bool = True,
    epsilon: float = 1e-6,
    activation_fn: Callable | None = None,
    param_initializers: dict | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    scope: Any = None,
    mean_close_to_zero: bool = False,
) -> torch.Tensor:
    """Group normalization (Wu & He): channels split into ``groups``, moments over each group and the spatial axes.

    Defaults are TF-Slim's translated to channels-first tensors (TF: ``channels_axis=-1, reduction_axes=(-3, -2)``).
    """
    del mean_close_to_zero
    initializers = _check_keys(param_initializers, ("beta", "gamma"), "group_norm param_initializers")
    with variable_scope(scope, "GroupNorm", [inputs], reuse=reuse) as sc:
        rank = inputs.dim()
        c_axis = channels_axis % rank
        red_axes = sorted(a % rank for a in reduction_axes)
        if c_axis in red_axes or c_axis == 0:
            raise ValueError(f"group_norm {sc.name}: channels_axis must not be the batch or a reduction axis.")
        channels = int(inputs.shape[c_axis])
        if channels % groups != 0:
            raise ValueError(f"group_norm {sc.name}: {channels} channels are not divisible into {groups} groups.")
        x = inputs.movedim(c_axis, 1)
        # Where each reduction axis lands after moving channels to dim 1 and splitting them into (groups, C/groups).
        moved = [a + 1 if a < c_axis else a for a in red_axes]
        grouped = x.reshape(x.shape[0], groups, channels // groups, *x.shape[2:])
        dims = [2] + [a + 1 for a in moved]
        variance, mean = torch.var_mean(grouped, dim=dims, keepdim=True, correction=0)
        normed = ((grouped - mean) * torch.rsqrt(variance + epsilon)).reshape(x.shape)
        shape = [1, channels] + [1] * (x.dim() - 2)
        if scale:
            gamma = _param("gamma", [channels], initializers, ones_initializer(), {}, variables_collections, trainable)
            normed = normed * gamma.reshape(shape)
        if center:
            beta = _param("beta", [channels], initializers, zeros_initializer(), {}, variables_collections, trainable)
            normed = normed + beta.reshape(shape)
        outputs = normed.movedim(1, c_axis)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def instance_norm(
    inputs: torch.Tensor,
    center: bool = True,
    scale: bool = True,
    epsilon: float = 1e-6,
    activation_fn: Callable | None = None,
    param_initializers: dict | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    data_format: str | None = None,
    scope: Any = None,
) -> torch.Tensor:
    """Instance normalization: moments over the spatial axes of each example and channel; ``beta``/``gamma`` [C]."""
    initializers = _check_keys(param_initializers, ("beta", "gamma"), "instance_norm param_initializers")
    with variable_scope(scope, "InstanceNorm", [inputs], reuse=reuse) as sc:
        axis = _channel_axis(inputs, data_format, f"instance_norm {sc.name}")
        if inputs.dim() < 3:
            raise ValueError(f"instance_norm {sc.name}: inputs must have rank >= 3, got {tuple(inputs.shape)}.")
        x = inputs.movedim(axis, 1) if axis != 1 else inputs
        channels = int(x.shape[1])
        variance, mean = torch.var_mean(x, dim=tuple(range(2, x.dim())), keepdim=True, correction=0)
        outputs = (x - mean) * torch.rsqrt(variance + epsilon)
        shape = [1, channels] + [1] * (x.dim() - 2)
        if scale:
            gamma = _param("gamma", [channels], initializers, ones_initializer(), {}, variables_collections, trainable)
            outputs = outputs * gamma.reshape(shape)
        if center:
            beta = _param("beta", [channels], initializers, zeros_initializer(), {}, variables_collections, trainable)
            outputs = outputs + beta.reshape(shape)
        if axis != 1:
            outputs = outputs.movedim(1, axis)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)
