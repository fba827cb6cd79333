"""Weight regularizers with TF's semantics (``l2_regularizer`` includes the 1/2 of ``tf.nn.l2_loss``).

A regularizer is ``fn(weights) -> scalar tensor or None``. Given to a layer it is remembered with the variable and
evaluated on the current weights whenever the regularization losses are asked for.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import torch

from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame

__all__ = ["l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer", "apply_regularization"]

Regularizer = Callable[[torch.Tensor], torch.Tensor | None]


def _check_scale(scale: float, name: str) -> None:
    if isinstance(scale, numbers.Integral):
        raise ValueError(f"{name}: scale cannot be an integer: {scale}")
    if isinstance(scale, numbers.Real) and scale < 0.0:
        raise ValueError(f"{name}: setting a scale less than 0 on a regularizer: {scale}.")


def _named(fn: Callable, scope_name: str) -> Callable:
    fn.scope_name = scope_name
    return fn


def _none(weights: torch.Tensor) -> None:
    return None


def l1_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """``scale * sum(|w|)``; scale 0.0 gives a regularizer that adds nothing."""
    _check_scale(scale, "l1_regularizer")
    if scale == 0.0:
        return _named(_none, scope or "l1_regularizer")
    return _named(lambda weights: weights.abs().sum() * scale, scope or "l1_regularizer")


def l2_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """``scale * sum(w ** 2) / 2`` (``tf.nn.l2_loss``); scale 0.0 gives a regularizer that adds nothing."""
    _check_scale(scale, "l2_regularizer")
    if scale == 0.0:
        return _named(_none, scope or "l2_regularizer")
    return _named(lambda weights: weights.square().sum() * (0.5 * scale), scope or "l2_regularizer")


def sum_regularizer(regularizer_list: Sequence[Regularizer | None], scope: str | None = None) -> Regularizer | None:
    """The sum of several regularizers (None entries dropped; None if nothing is left)."""
    regularizers = [r for r in regularizer_list if r is not None]
    if not regularizers:
        return None

    def regularize(weights: torch.Tensor) -> torch.Tensor | None:
        penalties = [p for p in (r(weights) for r in regularizers) if p is not None]
        if not penalties:
            return None
        return torch.stack(penalties).sum() if len(penalties) > 1 else penalties[0]

    return _named(regularize, scope or "sum_regularizer")


def l1_l2_regularizer(scale_l1: float = 1.0, scale_l2: float = 1.0, scope: str | None = None) -> Regularizer | None:
    """``l1_regularizer(scale_l1) + l2_regularizer(scale_l2)``; a zero scale drops that term."""
    if isinstance(scale_l1, numbers.Real) and scale_l1 == 0.0:
        return l2_regularizer(scale_l2, scope)
    if isinstance(scale_l2, numbers.Real) and scale_l2 == 0.0:
        return l1_regularizer(scale_l1, scope)
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope=scope or "l1_l2_regularizer")


def apply_regularization(regularizer: Regularizer, weights_list: Sequence | None = None) -> torch.Tensor:
    """Sums ``regularizer`` over ``weights_list`` (default: the WEIGHTS collection) and adds it to the
    REGULARIZATION_LOSSES collection.

    Raises:
      ValueError: no weights, or a penalty that is not a scalar.
    """
    frame = current_frame()
    if not weights_list:
        from slim.framework.variables import get_variables

        weights_list = get_variables(collection=GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    penalties = []
    for weights in weights_list:
        tensor = weights.value() if hasattr(weights, "value") and callable(weights.value) else weights
        penalty = regularizer(tensor)
        if penalty is None:
            continue
        if penalty.dim() != 0:
            raise ValueError(f"regularizer must return a scalar Tensor instead of a Tensor with rank {penalty.dim()}.")
        penalties.append(penalty)
    summed = torch.stack(penalties).sum() if penalties else torch.zeros(())
    frame.collections.add(GraphKeys.REGULARIZATION_LOSSES, summed, name="get_regularization_penalty")
    return summed
