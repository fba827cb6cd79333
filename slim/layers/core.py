"""Core layers: `fully_connected` (and `linear`/`relu`/`relu6`/`elu`), `bias_add`, `dropout`, `flatten`,
`one_hot_encoding`, `softmax`, `unit_norm`, `maxout`, `scale_gradient`.

`flatten` of a 4-D (NCHW) or 5-D (NCDHW) tensor gives TF's element order (channels last), so the weights of a dense
layer fed by a flatten are TF's weights transposed, and TF-Slim checkpoints map onto them directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from slim.framework.arg_scope import add_arg_scope
from slim.framework.variable_scope import name_scope, variable_scope
from slim.framework.variables import model_variable
from slim.layers.initializers import xavier_initializer, zeros_initializer
from slim.layers.utils import collect_named_outputs, get_variable_collections, resolve_is_training
from slim.quantize.hooks import active_quantizer

__all__ = [
    "fully_connected",
    "linear",
    "relu",
    "relu6",
    "elu",
    "bias_add",
    "dropout",
    "flatten",
    "one_hot_encoding",
    "softmax",
    "unit_norm",
    "maxout",
    "scale_gradient",
]


@add_arg_scope
def fully_connected(
    inputs: torch.Tensor,
    num_outputs: int,
    activation_fn: Callable | None = torch.relu,
    normalizer_fn: Callable | None = None,
    normalizer_params: dict | None = None,
    weights_initializer: Any = xavier_initializer(),
    weights_regularizer: Callable | None = None,
    biases_initializer: Any = zeros_initializer(),
    biases_regularizer: Callable | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    scope: Any = None,
) -> torch.Tensor:
    """A dense layer on the last dimension: ``activation_fn(normalizer_fn(x @ W) or x @ W + b)``.

    Variables ``weights`` (TF ``[in, out]``, ours ``[out, in]``) and ``biases`` (not created with a normalizer).

    Example:
      net = slim.fully_connected(net, 4096, scope='fc6')
    """
    if not isinstance(num_outputs, int) or isinstance(num_outputs, bool):
        raise ValueError(f"fully_connected: num_outputs must be an int, got {num_outputs!r}.")
    with variable_scope(scope, "fully_connected", [inputs], reuse=reuse) as sc:
        if inputs.dim() < 2:
            raise ValueError(f"fully_connected {sc.name}: inputs must have rank >= 2, got {tuple(inputs.shape)}.")
        weights = model_variable(
            "weights",
            shape=[int(inputs.shape[-1]), num_outputs],
            initializer=weights_initializer,
            regularizer=weights_regularizer,
            collections=get_variable_collections(variables_collections, "weights"),
            trainable=trainable,
            layout=(1, 0),
        )
        bias = None
        if normalizer_fn is None and biases_initializer is not None:
            bias = model_variable(
                "biases",
                shape=[num_outputs],
                initializer=biases_initializer,
                regularizer=biases_regularizer,
                collections=get_variable_collections(variables_collections, "biases"),
                trainable=trainable,
            )
        quantizer = active_quantizer()  # slim.quantize
        if quantizer is None:
            outputs = F.linear(inputs, weights, bias)
        else:
            matmul = lambda w: F.linear(inputs, w, bias)  # noqa: E731
            outputs = quantizer.quantize_layer(sc.name, matmul, weights, normalizer_fn, normalizer_params, -1)
        if normalizer_fn is not None:
            # Normalise over the features of every position, as TF's normalizer sees a channels-last tensor.
            flat = outputs.reshape(-1, num_outputs)
            outputs = normalizer_fn(flat, **(normalizer_params or {})).reshape(outputs.shape)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        if quantizer is not None:
            outputs = quantizer.quantize_activations(sc.name, outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


linear = functools.partial(fully_connected, activation_fn=None)
relu = functools.partial(fully_connected, activation_fn=torch.relu)
relu6 = functools.partial(fully_connected, activation_fn=F.relu6)
elu = functools.partial(fully_connected, activation_fn=F.elu)


@add_arg_scope
def bias_add(
    inputs: torch.Tensor,
    activation_fn: Callable | None = None,
    initializer: Any = zeros_initializer(),
    regularizer: Callable | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    data_format: str | None = None,
    scope: Any = None,
) -> torch.Tensor:
    """Adds a ``biases`` variable over the channel axis (dim 1 for channels-first, the last for 'NHWC')."""
    with variable_scope(scope, "BiasAdd", [inputs], reuse=reuse) as sc:
        channels_last = data_format is not None and not data_format.startswith("NC")
        if inputs.dim() < 2:
            raise ValueError(f"bias_add {sc.name}: inputs must have rank >= 2, got {tuple(inputs.shape)}.")
        axis = inputs.dim() - 1 if channels_last else 1
        channels = int(inputs.shape[axis])
        biases = model_variable(
            "biases",
            shape=[channels],
            initializer=initializer,
            regularizer=regularizer,
            collections=get_variable_collections(variables_collections, "biases"),
            trainable=trainable,
        )
        shape = [1] * inputs.dim()
        shape[axis] = channels
        outputs = inputs + biases.reshape(shape)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def dropout(
    inputs: torch.Tensor,
    keep_prob: float = 0.5,
    noise_shape: Sequence[int] | None = None,
    is_training: Any = None,
    outputs_collections: Any = None,
    scope: str | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Inverted dropout keeping each element with probability ``keep_prob``; the identity when not training.

    ``is_training`` None follows the owning model's mode (TF-Slim's default True is what a new model gives).
    ``noise_shape`` is in the tensor's own layout, e.g. ``[N, C, 1, 1]`` to drop whole channels.
    """
    alias = name_scope(scope, "Dropout")
    if not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"dropout {alias}: keep_prob must be in (0, 1], got {keep_prob}.")
    outputs = inputs
    if resolve_is_training(is_training) and keep_prob < 1.0:
        if noise_shape is None and seed is None:
            outputs = F.dropout(inputs, p=1.0 - keep_prob, training=True)
        else:
            generator = None
            if seed is not None:
                generator = torch.Generator(device=inputs.device).manual_seed(seed)
            shape = tuple(noise_shape) if noise_shape is not None else tuple(inputs.shape)
            mask = torch.empty(shape, dtype=inputs.dtype, device=inputs.device).bernoulli_(
                keep_prob, generator=generator
            )
            outputs = inputs * mask / keep_prob
    return collect_named_outputs(outputs_collections, alias, outputs)


@add_arg_scope
def flatten(inputs: torch.Tensor, outputs_collections: Any = None, scope: str | None = None) -> torch.Tensor:
    """``[N, ...] -> [N, k]``; 4-D/5-D channels-first inputs are flattened in TF's channels-last order."""
    alias = name_scope(scope, "Flatten")
    if inputs.dim() < 2:
        raise ValueError(f"flatten {alias}: inputs must have rank >= 2, got {tuple(inputs.shape)}.")
    if inputs.dim() in (4, 5):
        inputs = inputs.movedim(1, -1)
    outputs = inputs.reshape(inputs.shape[0], -1)
    return collect_named_outputs(outputs_collections, alias, outputs)


@add_arg_scope
def one_hot_encoding(
    labels: torch.Tensor,
    num_classes: int,
    on_value: float = 1.0,
    off_value: float = 0.0,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """Float one-hot vectors ``[..., num_classes]`` with the given on/off values."""
    alias = name_scope(scope, "OneHotEncoding")
    hot = F.one_hot(labels.long(), num_classes).to(torch.float32)
    outputs = hot * (on_value - off_value) + off_value if (on_value, off_value) != (1.0, 0.0) else hot
    return collect_named_outputs(outputs_collections, alias, outputs)


def softmax(logits: torch.Tensor, scope: str | None = None) -> torch.Tensor:
    """Softmax over the class axis: the last dim for rank 2-3, the channel dim (1) for 4-D/5-D channels-first logits.

    (TF-Slim's softmax works on the last dim of channels-last tensors, i.e. over classes in both cases.)
    """
    del scope
    if logits.dim() < 2:
        raise ValueError(f"softmax: logits must have rank >= 2, got {tuple(logits.shape)}.")
    return torch.softmax(logits, dim=1 if logits.dim() >= 4 else -1)


def unit_norm(inputs: torch.Tensor, dim: int, epsilon: float = 1e-7, scope: str | None = None) -> torch.Tensor:
    """``x / sqrt(epsilon + sum(x ** 2, dim))``."""
    del scope
    if not -inputs.dim() <= dim < inputs.dim():
        raise ValueError(f"unit_norm: dim {dim} out of range for rank {inputs.dim()}.")
    return inputs * torch.rsqrt(epsilon + inputs.square().sum(dim=dim, keepdim=True))


def maxout(inputs: torch.Tensor, num_units: int, axis: int = -1, scope: str | None = None) -> torch.Tensor:
    """Maxout (Goodfellow et al.): splits ``axis`` into ``num_units`` groups and keeps each group's maximum."""
    del scope
    axis = axis % inputs.dim()
    channels = int(inputs.shape[axis])
    if channels % num_units:
        raise ValueError(f"maxout: number of features ({channels}) is not a multiple of num_units ({num_units}).")
    shape = list(inputs.shape)
    shape[axis : axis + 1] = [num_units, channels // num_units]
    return inputs.reshape(shape).amax(dim=axis + 1)


class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, inputs: torch.Tensor, multiplier: float) -> torch.Tensor:
        ctx.multiplier = multiplier
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.multiplier, None


def scale_gradient(inputs: torch.Tensor, gradient_multiplier: float) -> torch.Tensor:
    """The identity in the forward pass; multiplies the gradient by ``gradient_multiplier`` in the backward pass."""
    return _ScaleGradient.apply(inputs, gradient_multiplier)
