"""The generic MobileNet builder (v2, v3, EdgeTPU): a ``conv_defs`` table of ops run in order as ``layer_<i>``.

``conv_defs`` holds ``defaults`` (arg scopes for the layer functions) and ``spec`` (a list of :func:`op`). Every op's
``num_outputs`` is scaled by the depth multiplier through :func:`depth_multiplier` (rounded to ``divisible_by``).
"""

from __future__ import annotations

import collections
import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

import torch

import slim
from slim.nets.mobilenet.conv_blocks import LAYER_OUTPUTS, _fixed_padding, _make_divisible


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults: Any) -> Iterator[None]:
    """Enters an arg scope for every ``(functions, kwargs)`` item of ``defaults``."""
    items = list(defaults.items()) if hasattr(defaults, "items") else list(defaults or [])
    with contextlib.ExitStack() as stack:
        for funcs, kwargs in items:
            stack.enter_context(slim.arg_scope(list(funcs), **kwargs))
        yield


@slim.add_arg_scope
def depth_multiplier(
    output_params: dict, multiplier: float, divisible_by: int = 8, min_depth: int = 8, **unused_kwargs: Any
) -> None:
    """Scales ``output_params['num_outputs']`` in place (no-op for ops without outputs)."""
    if "num_outputs" not in output_params:
        return
    d = output_params["num_outputs"]
    output_params["num_outputs"] = _make_divisible(d * multiplier, divisible_by, min_depth)


_Op = collections.namedtuple("Op", ["op", "params", "multiplier_func"])


def op(opfunc: Callable, multiplier_func: Callable = depth_multiplier, **params: Any) -> _Op:
    """One entry of a ``conv_defs['spec']`` table."""
    multiplier = params.pop("multiplier_transform", multiplier_func)
    return _Op(opfunc, params=params, multiplier_func=multiplier)


def safe_arg_scope(funcs: list, **kwargs: Any):
    """An arg scope with the non-None keyword arguments (a no-op scope if there are none)."""
    filtered = {name: value for name, value in kwargs.items() if value is not None}
    return slim.arg_scope(funcs, **filtered) if filtered else contextlib.nullcontext()


@slim.add_arg_scope
def mobilenet_base(
    inputs: torch.Tensor,
    conv_defs: dict,
    multiplier: float = 1.0,
    final_endpoint: str | None = None,
    output_stride: int | None = None,
    use_explicit_padding: bool = False,
    scope: Any = None,
    is_training: bool | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Runs the ``conv_defs`` spec; returns the last feature map and the ``layer_<i>`` end points.

    Raises:
      ValueError: multiplier <= 0 or an output_stride that is not None, 1 or even.
    """
    if multiplier <= 0:
        raise ValueError("multiplier is not greater than zero.")
    conv_defs_defaults = conv_defs.get("defaults", {})
    conv_defs_overrides = conv_defs.get("overrides", {})
    if use_explicit_padding:
        conv_defs_overrides = copy.copy(conv_defs_overrides)
        conv_defs_overrides[(slim.conv2d, slim.separable_conv2d)] = {"padding": "VALID"}
    if output_stride is not None and (output_stride == 0 or (output_stride > 1 and output_stride % 2)):
        raise ValueError("Output stride must be None, 1 or a multiple of 2.")
    end_points: dict[str, torch.Tensor] = {}
    layer_outputs: list[tuple[str, dict]] = []
    # is_training None makes batch norm follow the model's train()/eval() (TF-Slim left it unset).
    with (
        slim.variable_scope(scope, default_name="Mobilenet"),
        slim.arg_scope([slim.batch_norm], is_training=is_training),
        _set_arg_scope_defaults(conv_defs_defaults),
        _set_arg_scope_defaults(conv_defs_overrides),
    ):
        current_stride, rate = 1, 1
        net = inputs
        for i, opdef in enumerate(conv_defs["spec"]):
            params = dict(opdef.params)
            opdef.multiplier_func(params, multiplier)
            stride = params.get("stride", 1)
            if output_stride is not None and current_stride == output_stride:
                layer_stride, layer_rate = 1, rate
                rate *= stride
            else:
                layer_stride, layer_rate = stride, 1
                current_stride *= stride
            params["stride"] = layer_stride
            if layer_rate > 1 and tuple(params.get("kernel_size", [])) != (1, 1):
                params["rate"] = layer_rate
            if use_explicit_padding:
                if "kernel_size" in params:
                    net = _fixed_padding(net, params["kernel_size"], layer_rate)
                else:
                    params["use_explicit_padding"] = True
            end_point = f"layer_{i + 1}"
            net = opdef.op(net, **params)
            end_points[end_point] = net
            layer_outputs.append(
                (end_point, slim.utils.convert_collection_to_dict(LAYER_OUTPUTS, clear_collection=True))
            )
            if final_endpoint is not None and end_point == final_endpoint:
                break
        # TF-Slim adds every "...output" op of a layer's scope after the layer end points.
        for end_point, outputs in layer_outputs:
            for name, tensor in outputs.items():
                end_points[f"{end_point}/{name}"] = tensor
    return net, end_points


def global_pool(input_tensor: torch.Tensor, use_reduce_mean_for_pooling: bool = False) -> torch.Tensor:
    """Average over the whole feature map.

    TF-Slim uses an average pool of the full size (or a mean with ``use_reduce_mean_for_pooling``); both are the
    mean, computed here as one so the graph exports with dynamic height and width.
    """
    del use_reduce_mean_for_pooling
    return torch.mean(input_tensor, dim=[2, 3], keepdim=True)


@slim.add_arg_scope
def mobilenet(
    inputs: torch.Tensor,
    num_classes: int | None = 1001,
    prediction_fn: Callable | None = slim.softmax,
    reuse: Any = None,
    scope: str = "Mobilenet",
    base_only: bool = False,
    use_reduce_mean_for_pooling: bool = False,
    **mobilenet_args: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The builder with its head: global pool, dropout, 1x1-conv logits (``Logits/Conv2d_1c_1x1``).

    Raises:
      ValueError: the input is not rank 4.
    """
    is_training = mobilenet_args.get("is_training", None)
    if inputs.dim() != 4:
        raise ValueError(f"Expected rank 4 input, was: {inputs.dim()}")
    with slim.variable_scope(scope, "Mobilenet", reuse=reuse) as sc:
        net, end_points = mobilenet_base(inputs, scope=sc, **mobilenet_args)
        if base_only:
            return net, end_points
        with slim.variable_scope("Logits"):
            net = global_pool(net, use_reduce_mean_for_pooling)
            end_points["global_pool"] = net
            if not num_classes:
                return net, end_points
            net = slim.dropout(net, scope="Dropout", is_training=is_training)
            logits = slim.conv2d(
                net,
                num_classes,
                [1, 1],
                activation_fn=None,
                normalizer_fn=None,
                biases_initializer=slim.zeros_initializer(),
                scope="Conv2d_1c_1x1",
            )
            logits = torch.squeeze(logits, [2, 3])
        end_points["Logits"] = logits
        if prediction_fn:
            end_points["Predictions"] = prediction_fn(logits, "Predictions")
    return logits, end_points


def training_scope(
    is_training: bool | None = True,
    weight_decay: float = 0.00004,
    stddev: float = 0.09,
    dropout_keep_prob: float = 0.8,
    bn_decay: float = 0.997,
) -> dict:
    """TF-Slim's MobileNet training scope: truncated-normal init (xavier if stddev < 0), batch norm, L2 on convs
    only, dropout keep probability 0.8."""
    batch_norm_params = {"decay": bn_decay, "is_training": is_training}
    initializer = slim.xavier_initializer() if stddev < 0 else slim.truncated_normal_initializer(stddev=stddev)
    with (
        slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.separable_conv2d],
            weights_initializer=initializer,
            normalizer_fn=slim.batch_norm,
        ),
        slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training),
        safe_arg_scope([slim.batch_norm], **batch_norm_params),
        safe_arg_scope([slim.dropout], is_training=is_training, keep_prob=dropout_keep_prob),
        slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay)),
        slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as s,
    ):
        return s
