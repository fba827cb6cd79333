"""Convolution layers: `convolution` (1-D/2-D/3-D), `separable_conv2d`, `conv2d_transpose`, `conv2d_in_plane`.

Each creates its variables by TF-Slim's names (``<scope>/weights``, ``<scope>/biases``, ...) under the default scope
names TF-Slim uses (``Conv``, ``SeparableConv2d``, ...). Activations are channels-first (NCW/NCHW/NCDHW) by default;
``data_format`` also accepts TF's channels-last names, in which case the layer transposes in and out. Weights are kept
in PyTorch's layout (conv: ``[out, in, *kernel]``; depthwise: ``[in, multiplier, kh, kw]``; transposed conv:
``[in, out, kh, kw]``) and initialised from TF-layout draws, so fan-in/fan-out match TF exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from slim.framework.arg_scope import add_arg_scope
from slim.framework.variable_scope import variable_scope
from slim.framework.variables import model_variable
from slim.layers.initializers import xavier_initializer, zeros_initializer
from slim.layers.padding import normalize_padding, pad_same
from slim.layers.utils import collect_named_outputs, get_variable_collections, n_positive_integers
from slim.quantize.hooks import active_quantizer

__all__ = [
    "convolution",
    "convolution1d",
    "convolution2d",
    "convolution3d",
    "conv1d",
    "conv2d",
    "conv3d",
    "separable_convolution2d",
    "separable_conv2d",
    "convolution2d_transpose",
    "conv2d_transpose",
    "convolution3d_transpose",
    "conv3d_transpose",
    "convolution2d_in_plane",
    "conv2d_in_plane",
    "conv_nd",
]

# TF layout [*kernel, in, out] -> PyTorch [out, in, *kernel], by number of spatial dims.
_CONV_LAYOUT = {1: (2, 1, 0), 2: (3, 2, 0, 1), 3: (4, 3, 0, 1, 2)}
_CONV_FN = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE_FN = {2: F.conv_transpose2d, 3: F.conv_transpose3d}
_FORMATS = {3: ("NCW", "NWC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}


def to_channels_first(inputs: torch.Tensor, data_format: str | None, what: str) -> tuple[torch.Tensor, bool]:
    """Validates ``data_format`` for the input's rank; returns the channels-first tensor and whether it was moved."""
    rank = inputs.dim()
    if rank not in _FORMATS:
        raise ValueError(f"{what}: inputs must have rank 3, 4 or 5, got shape {tuple(inputs.shape)}.")
    first, last = _FORMATS[rank]
    if data_format is None or data_format == first:
        return inputs, False
    if data_format == last:
        return inputs.movedim(-1, 1), True
    raise ValueError(f"{what}: data_format must be {first!r} or {last!r} for a rank-{rank} input, got {data_format!r}.")


def from_channels_first(outputs: torch.Tensor, moved: bool) -> torch.Tensor:
    return outputs.movedim(1, -1) if moved else outputs


def conv_nd(
    inputs: torch.Tensor,
    weights: torch.Tensor,
    bias: torch.Tensor | None,
    stride: Sequence[int],
    padding: str,
    rate: Sequence[int],
    groups: int = 1,
) -> torch.Tensor:
    """A channels-first convolution with TF padding semantics (the one conv every layer here goes through)."""
    conv = _CONV_FN[weights.dim() - 2]
    if padding == "SAME":
        kernel = weights.shape[2:]
        inputs, symmetric = pad_same(inputs, kernel, stride, rate)
        return conv(inputs, weights, bias, tuple(stride), tuple(symmetric), tuple(rate), groups)
    return conv(inputs, weights, bias, tuple(stride), 0, tuple(rate), groups)


def _check_rate_and_stride(strides: Sequence[int], rates: Sequence[int], what: str) -> None:
    if any(r > 1 for r in rates) and any(s > 1 for s in strides):
        raise ValueError(f"{what}: rate > 1 cannot be combined with stride > 1 (got stride {strides}, rate {rates}).")


def _bias_shape(rank: int) -> tuple[int, ...]:
    return (1, -1) + (1,) * (rank - 2)


def _finish(
    outputs: torch.Tensor,
    normalizer_fn: Callable | None,
    normalizer_params: dict | None,
    activation_fn: Callable | None,
) -> torch.Tensor:
    if normalizer_fn is not None:
        outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
        outputs = activation_fn(outputs)
    return outputs


def _biases(
    num: int,
    biases_initializer: Any,
    biases_regularizer: Callable | None,
    variables_collections: Any,
    trainable: bool,
) -> torch.Tensor:
    return model_variable(
        "biases",
        shape=[num],
        initializer=biases_initializer,
        regularizer=biases_regularizer,
        collections=get_variable_collections(variables_collections, "biases"),
        trainable=trainable,
    )


@add_arg_scope
def convolution(
    inputs: torch.Tensor,
    num_outputs: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: str = "SAME",
    data_format: str | None = None,
    rate: int | Sequence[int] = 1,
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
    conv_dims: int | None = None,
) -> torch.Tensor:
    """An N-d convolution (N from the input rank, or ``conv_dims``), then normalizer or biases, then activation.

    ``activation_fn(normalizer_fn(conv(inputs)))`` when a normalizer is given (no biases are created then), else
    ``activation_fn(conv(inputs) + biases)``. ``rate`` dilates the kernel; TF SAME padding is reproduced exactly.

    Example:
      net = slim.conv2d(images, 64, [3, 3], scope='conv1')   # [N, 64, H, W], variables conv1/weights, conv1/biases
    """
    padding = normalize_padding(padding, "convolution")
    with variable_scope(scope, "Conv", [inputs], reuse=reuse) as sc:
        x, moved = to_channels_first(inputs, data_format, "convolution")
        n = x.dim() - 2
        if conv_dims is not None and conv_dims != n:
            raise ValueError(f"convolution: conv_dims={conv_dims} but the input has {n} spatial dims.")
        kernel = n_positive_integers(n, kernel_size)
        strides = n_positive_integers(n, stride)
        rates = n_positive_integers(n, rate)
        _check_rate_and_stride(strides, rates, f"convolution {sc.name}")
        weights = model_variable(
            "weights",
            shape=[*kernel, int(x.shape[1]), num_outputs],
            initializer=weights_initializer,
            regularizer=weights_regularizer,
            collections=get_variable_collections(variables_collections, "weights"),
            trainable=trainable,
            layout=_CONV_LAYOUT[n],
        )
        bias = None
        if normalizer_fn is None and biases_initializer is not None:
            bias = _biases(num_outputs, biases_initializer, biases_regularizer, variables_collections, trainable)
        quantizer = active_quantizer() if n == 2 else None  # slim.quantize: TF quantizes 2-D convolutions
        if quantizer is None:
            outputs = conv_nd(x, weights, bias, strides, padding, rates)
        else:
            conv = lambda w: conv_nd(x, w, bias, strides, padding, rates)  # noqa: E731
            outputs = quantizer.quantize_layer(sc.name, conv, weights, normalizer_fn, normalizer_params, 1)
        outputs = _finish(outputs, normalizer_fn, normalizer_params, activation_fn)
        if quantizer is not None:
            outputs = quantizer.quantize_activations(sc.name, outputs)
        outputs = from_channels_first(outputs, moved)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


def _fixed_rank(conv_dims: int, name: str) -> Callable:
    def layer(
        inputs: torch.Tensor,
        num_outputs: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str = "SAME",
        data_format: str | None = None,
        rate: int | Sequence[int] = 1,
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
        if inputs.dim() != conv_dims + 2:
            raise ValueError(f"{name}: expected a rank-{conv_dims + 2} input, got shape {tuple(inputs.shape)}.")
        return convolution.__wrapped__(
            inputs,
            num_outputs,
            kernel_size,
            stride,
            padding,
            data_format,
            rate,
            activation_fn,
            normalizer_fn,
            normalizer_params,
            weights_initializer,
            weights_regularizer,
            biases_initializer,
            biases_regularizer,
            reuse,
            variables_collections,
            outputs_collections,
            trainable,
            scope,
            conv_dims,
        )

    layer.__name__ = layer.__qualname__ = name
    layer.__doc__ = f"{conv_dims}-D :func:`convolution` (same arguments, fixed rank)."
    return add_arg_scope(layer)


convolution1d = _fixed_rank(1, "convolution1d")
convolution2d = _fixed_rank(2, "convolution2d")
convolution3d = _fixed_rank(3, "convolution3d")
conv1d = convolution1d
conv2d = convolution2d
conv3d = convolution3d


@add_arg_scope
def separable_convolution2d(
    inputs: torch.Tensor,
    num_outputs: int | None,
    kernel_size: int | Sequence[int],
    depth_multiplier: int = 1,
    stride: int | Sequence[int] = 1,
    padding: str = "SAME",
    data_format: str | None = None,
    rate: int | Sequence[int] = 1,
    activation_fn: Callable | None = torch.relu,
    normalizer_fn: Callable | None = None,
    normalizer_params: dict | None = None,
    weights_initializer: Any = xavier_initializer(),
    pointwise_initializer: Any = None,
    weights_regularizer: Callable | None = None,
    biases_initializer: Any = zeros_initializer(),
    biases_regularizer: Callable | None = None,
    reuse: Any = None,
    variables_collections: Any = None,
    outputs_collections: Any = None,
    trainable: bool = True,
    scope: Any = None,
) -> torch.Tensor:
    """A depthwise convolution (``depth_multiplier`` filters per input channel), then a 1x1 pointwise convolution.

    With ``num_outputs=None`` only the depthwise convolution is applied (MobileNet v1's ``*_depthwise`` layers).
    Variables: ``depthwise_weights`` (TF ``[kh, kw, in, multiplier]``, ours ``[in, multiplier, kh, kw]``),
    ``pointwise_weights`` (``[out, in * multiplier, 1, 1]``), ``biases``.
    """
    padding = normalize_padding(padding, "separable_conv2d")
    if pointwise_initializer is None:
        pointwise_initializer = weights_initializer
    with variable_scope(scope, "SeparableConv2d", [inputs], reuse=reuse) as sc:
        x, moved = to_channels_first(inputs, data_format, "separable_conv2d")
        if x.dim() != 4:
            raise ValueError(f"separable_conv2d {sc.name}: expected a rank-4 input, got shape {tuple(inputs.shape)}.")
        kernel = n_positive_integers(2, kernel_size)
        strides = n_positive_integers(2, stride)
        rates = n_positive_integers(2, rate)
        _check_rate_and_stride(strides, rates, f"separable_conv2d {sc.name}")
        in_channels = int(x.shape[1])
        weights_collections = get_variable_collections(variables_collections, "weights")
        depthwise = model_variable(
            "depthwise_weights",
            shape=[*kernel, in_channels, depth_multiplier],
            initializer=weights_initializer,
            regularizer=weights_regularizer,
            collections=weights_collections,
            trainable=trainable,
            layout=(2, 3, 0, 1),
        )
        depthwise_kernel = depthwise.reshape(in_channels * depth_multiplier, 1, *kernel)
        if num_outputs is None:
            bias = None
            if normalizer_fn is None and biases_initializer is not None:
                bias = _biases(
                    in_channels * depth_multiplier,
                    biases_initializer,
                    biases_regularizer,
                    variables_collections,
                    trainable,
                )
            quantizer = active_quantizer()
            if quantizer is None:
                outputs = conv_nd(x, depthwise_kernel, bias, strides, padding, rates, groups=in_channels)
            else:
                conv = lambda w: conv_nd(x, w, bias, strides, padding, rates, groups=in_channels)  # noqa: E731
                outputs = quantizer.quantize_layer(sc.name, conv, depthwise_kernel, normalizer_fn, normalizer_params, 1)
        else:
            pointwise = model_variable(
                "pointwise_weights",
                shape=[1, 1, in_channels * depth_multiplier, num_outputs],
                initializer=pointwise_initializer,
                regularizer=weights_regularizer,
                collections=weights_collections,
                trainable=trainable,
                layout=_CONV_LAYOUT[2],
            )
            outputs = conv_nd(x, depthwise_kernel, None, strides, padding, rates, groups=in_channels)
            bias = None
            if normalizer_fn is None and biases_initializer is not None:
                bias = _biases(num_outputs, biases_initializer, biases_regularizer, variables_collections, trainable)
            quantizer = active_quantizer()  # TF quantizes the pointwise weights only (the depthwise op is unmatched)
            if quantizer is None:
                outputs = F.conv2d(outputs, pointwise, bias)
            else:
                depthwise_outputs = outputs
                conv = lambda w: F.conv2d(depthwise_outputs, w, bias)  # noqa: E731
                outputs = quantizer.quantize_layer(sc.name, conv, pointwise, normalizer_fn, normalizer_params, 1)
        outputs = _finish(outputs, normalizer_fn, normalizer_params, activation_fn)
        if quantizer is not None:
            outputs = quantizer.quantize_activations(sc.name, outputs)
        outputs = from_channels_first(outputs, moved)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


separable_conv2d = separable_convolution2d


def transposed_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """TF's output size of a transposed convolution: ``size * stride`` (SAME) or that plus ``max(k - s, 0)``."""
    if padding == "SAME":
        return size * stride
    return size * stride + max(kernel - stride, 0)


def _conv_transpose_nd(
    x: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor | None, strides: Sequence[int], padding: str
) -> torch.Tensor:
    n = weights.dim() - 2
    kernel = weights.shape[2:]
    spatial = x.shape[2:]
    output_padding = tuple(max(s - k, 0) for k, s in zip(kernel, strides))
    full = _CONV_TRANSPOSE_FN[n](x, weights, bias, tuple(strides), 0, output_padding)
    if padding == "VALID":
        return full
    # SAME: TF's output is size * stride; the transposed conv's extra (k - s) border is cropped like SAME padding
    # of the forward conv, the smaller half at the start.
    slices = [slice(None), slice(None)]
    for size, k, s in zip(spatial, kernel, strides):
        crop = max(k - s, 0)
        before = crop // 2
        slices.append(slice(before, before + size * s))
    return full[tuple(slices)]


def _transpose_layer(conv_dims: int, name: str, default_scope: str) -> Callable:
    layout = (conv_dims + 1, conv_dims) + tuple(range(conv_dims))  # TF [*k, out, in] -> [in, out, *k]

    def layer(
        inputs: torch.Tensor,
        num_outputs: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str = "SAME",
        data_format: str | None = None,
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
        padding = normalize_padding(padding, name)
        with variable_scope(scope, default_scope, [inputs], reuse=reuse) as sc:
            x, moved = to_channels_first(inputs, data_format, name)
            if x.dim() != conv_dims + 2:
                raise ValueError(f"{name} {sc.name}: expected a rank-{conv_dims + 2} input, got {tuple(inputs.shape)}.")
            kernel = n_positive_integers(conv_dims, kernel_size)
            strides = n_positive_integers(conv_dims, stride)
            weights = model_variable(
                "weights",
                shape=[*kernel, num_outputs, int(x.shape[1])],
                initializer=weights_initializer,
                regularizer=weights_regularizer,
                collections=get_variable_collections(variables_collections, "weights"),
                trainable=trainable,
                layout=layout,
            )
            bias = None
            if normalizer_fn is None and biases_initializer is not None:
                bias = _biases(num_outputs, biases_initializer, biases_regularizer, variables_collections, trainable)
            outputs = _conv_transpose_nd(x, weights, bias, strides, padding)
            outputs = _finish(outputs, normalizer_fn, normalizer_params, activation_fn)
            outputs = from_channels_first(outputs, moved)
            return collect_named_outputs(outputs_collections, sc.name, outputs)

    layer.__name__ = layer.__qualname__ = name
    layer.__doc__ = (
        f"A {conv_dims}-D transposed convolution with TF's output sizes (SAME: ``in * stride``; VALID: "
        "``in * stride + max(kernel - stride, 0)``). Variables ``weights`` (TF ``[*k, out, in]``) and ``biases``."
    )
    return add_arg_scope(layer)


convolution2d_transpose = _transpose_layer(2, "convolution2d_transpose", "Conv2d_transpose")
convolution3d_transpose = _transpose_layer(3, "convolution3d_transpose", "Conv3d_transpose")
conv2d_transpose = convolution2d_transpose
conv3d_transpose = convolution3d_transpose


@add_arg_scope
def convolution2d_in_plane(
    inputs: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: str = "SAME",
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
    """The same 2-D filter (``weights`` ``[kh, kw, 1, 1]``) applied to every channel separately (NCHW input)."""
    padding = normalize_padding(padding, "conv2d_in_plane")
    with variable_scope(scope, "ConvInPlane", [inputs], reuse=reuse) as sc:
        if inputs.dim() != 4:
            raise ValueError(f"conv2d_in_plane {sc.name}: expected an NCHW input, got shape {tuple(inputs.shape)}.")
        kernel = n_positive_integers(2, kernel_size)
        strides = n_positive_integers(2, stride)
        channels = int(inputs.shape[1])
        weights = model_variable(
            "weights",
            shape=[*kernel, 1, 1],
            initializer=weights_initializer,
            regularizer=weights_regularizer,
            collections=get_variable_collections(variables_collections, "weights"),
            trainable=trainable,
            layout=_CONV_LAYOUT[2],
        )
        bias = None
        if normalizer_fn is None and biases_initializer is not None:
            bias = _biases(channels, biases_initializer, biases_regularizer, variables_collections, trainable)
        outputs = conv_nd(inputs, weights.expand(channels, 1, *kernel), bias, strides, padding, (1, 1), groups=channels)
        outputs = _finish(outputs, normalizer_fn, normalizer_params, activation_fn)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


conv2d_in_plane = convolution2d_in_plane
