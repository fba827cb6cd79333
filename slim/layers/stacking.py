"""`repeat` and `stack`: the same layer applied several times under numbered scopes.

net = slim.repeat(net, 3, slim.conv2d, 256, [3, 3], scope='conv3')   # conv3/conv3_1 .. conv3/conv3_3
net = slim.stack(net, slim.fully_connected, [32, 64, 128], scope='fc')  # fc/fc_1 .. fc/fc_3
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from slim.framework.variable_scope import variable_scope

__all__ = ["repeat", "stack"]


def _layer_scope_name(layer: Callable, scope: str | None, fallback: str) -> str:
    if scope is not None:
        return scope
    if hasattr(layer, "__name__"):
        return layer.__name__
    if hasattr(layer, "func") and hasattr(layer.func, "__name__"):  # a functools.partial
        return layer.func.__name__
    return fallback


def repeat(inputs: torch.Tensor, repetitions: int, layer: Callable, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Applies ``layer(net, *args, **kwargs)`` ``repetitions`` times, each under ``<scope>/<scope>_<i>``."""
    scope = kwargs.pop("scope", None)
    with variable_scope(scope, "Repeat", [inputs]):
        name = _layer_scope_name(layer, scope, "repeat")
        outputs = inputs
        for i in range(repetitions):
            kwargs["scope"] = f"{name}_{i + 1}"
            outputs = layer(outputs, *args, **kwargs)
        return outputs


def stack(inputs: torch.Tensor, layer: Callable, stack_args: Sequence[Any], **kwargs: Any) -> torch.Tensor:
    """Applies ``layer`` once per element of ``stack_args`` (a tuple element is expanded into positional args)."""
    scope = kwargs.pop("scope", None)
    if not isinstance(stack_args, (list, tuple)):
        raise ValueError(f"stack: stack_args need to be a list or tuple, got {type(stack_args).__name__}.")
    with variable_scope(scope, "Stack", [inputs]):
        name = _layer_scope_name(layer, scope, "stack")
        outputs = inputs
        for i, layer_args in enumerate(stack_args):
            kwargs["scope"] = f"{name}_{i + 1}"
            if not isinstance(layer_args, (list, tuple)):
                layer_args = [layer_args]
            outputs = layer(outputs, *layer_args, **kwargs)
        return outputs
