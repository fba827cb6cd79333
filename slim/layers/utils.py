"""Helpers the layers share, with TF-Slim's names (``slim.utils``): named outputs, end points, argument checks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch

from slim.framework.context import current_frame

__all__ = [
    "collect_named_outputs",
    "append_tensor_alias",
    "convert_collection_to_dict",
    "get_variable_collections",
    "two_element_tuple",
    "n_positive_integers",
    "static_cond",
    "smart_cond",
    "constant_value",
    "channel_dimension",
    "last_dimension",
    "resolve_is_training",
    "model_is_training",
]


def append_tensor_alias(tensor: torch.Tensor, alias: str) -> torch.Tensor:
    """TF records aliases on tensors; here the alias is the collection entry name, so this returns the tensor."""
    return tensor


def collect_named_outputs(collections: str | Sequence[str] | None, alias: str, outputs: Any) -> Any:
    """Adds ``outputs`` to ``collections`` under ``alias`` (a trailing '/' is dropped) and returns it.

    Nothing is collected when the running model has ``collect_end_points = False`` (inference without end points:
    intermediate activations are then freed as soon as possible).
    """
    if collections and current_frame().collect_outputs:
        if alias.endswith("/"):
            alias = alias[:-1]
        current_frame().collections.add_to_collections(collections, outputs, alias)
    return outputs


def convert_collection_to_dict(collection: str, clear_collection: bool = False) -> OrderedDict:
    """The entries of ``collection`` as an OrderedDict ``alias -> tensor`` (how nets build their end points)."""
    collections = current_frame().collections
    result = OrderedDict(collections.items(collection))
    if clear_collection:
        collections.clear(collection)
    return result


def get_variable_collections(variables_collections: Any, name: str) -> list[str] | None:
    """The collections for variable role ``name`` ('weights', 'biases', 'beta', ...): a dict is indexed by role."""
    if isinstance(variables_collections, dict):
        variable_collections = variables_collections.get(name, None)
    else:
        variable_collections = variables_collections
    if variable_collections is None:
        return None
    if isinstance(variable_collections, str):
        return [variable_collections]
    return list(variable_collections)


def n_positive_integers(n: int, value: Any) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` positive integers (an int is repeated)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value > 0:
            return (value,) * n
    elif isinstance(value, (list, tuple, torch.Size)):
        values = tuple(value)
        if len(values) == n and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            return values
    raise ValueError(f"Expected an integer or a sequence of {n} positive integers, got {value!r}.")


def two_element_tuple(int_or_tuple: Any) -> tuple[int, int]:
    """``(a, a)`` for an int, ``(a, b)`` for a pair."""
    if isinstance(int_or_tuple, (list, tuple)):
        if len(int_or_tuple) != 2:
            raise ValueError(f"Must be a list with 2 elements: {int_or_tuple}")
        return int(int_or_tuple[0]), int(int_or_tuple[1])
    if isinstance(int_or_tuple, int):
        return int(int_or_tuple), int(int_or_tuple)
    if isinstance(int_or_tuple, torch.Size):
        if len(int_or_tuple) == 2:
            return int(int_or_tuple[0]), int(int_or_tuple[1])
    raise ValueError(f"Must be an int, a list with 2 elements or a TensorShape of length 2, got {int_or_tuple!r}.")


def constant_value(value_or_tensor: Any) -> Any:
    """The Python value of a bool/number or of a one-element tensor."""
    if isinstance(value_or_tensor, torch.Tensor):
        if value_or_tensor.numel() != 1:
            raise ValueError("Only one-element tensors have a constant value here.")
        return value_or_tensor.item()
    return value_or_tensor


def static_cond(pred: Any, fn1: Any, fn2: Any) -> Any:
    """``fn1()`` if ``pred`` else ``fn2()``, for a Python predicate."""
    if not callable(fn1) or not callable(fn2):
        raise TypeError("fn1 and fn2 must be callable.")
    return fn1() if pred else fn2()


def smart_cond(pred: Any, fn1: Any, fn2: Any, name: str | None = None) -> Any:
    """Like :func:`static_cond`; a one-element tensor predicate is read with ``.item()``."""
    del name
    return static_cond(constant_value(pred), fn1, fn2)


def channel_dimension(shape: Sequence[int], data_format: str, min_rank: int = 1) -> int:
    """The channel count of a tensor of ``shape`` in ``data_format`` ('NC...' or 'N...C')."""
    if len(shape) < min_rank:
        raise ValueError(f"Expected a tensor of rank >= {min_rank}, got shape {tuple(shape)}.")
    return int(shape[1] if data_format.startswith("NC") else shape[-1])


def last_dimension(shape: Sequence[int], min_rank: int = 1) -> int:
    """The size of the last dimension."""
    if len(shape) < min_rank:
        raise ValueError(f"Expected a tensor of rank >= {min_rank}, got shape {tuple(shape)}.")
    return int(shape[-1])


def resolve_is_training(is_training: Any) -> bool:
    """Whether a layer runs in training mode.

    None follows the owning model (``model.train()`` / ``model.eval()``); a bool or one-element tensor is used as
    given. The build pass always runs in inference mode so that building changes no statistics.
    """
    frame = current_frame()
    if frame.building:
        return False
    if is_training is None:
        return frame.training
    return bool(constant_value(is_training))


def model_is_training(is_training: Any) -> bool:
    """Whether the model is being trained, for decisions that change its structure (e.g. NASNet's auxiliary head).

    Unlike :func:`resolve_is_training` this is also True during the build pass of a model in training mode, so the
    variables of training-only parts are created by the build.
    """
    if is_training is None:
        return current_frame().training
    return bool(constant_value(is_training))
