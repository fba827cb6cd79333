"""TF-Slim's losses (``slim.losses``) with TF's reduction semantics.

Every loss is reduced by :func:`compute_weighted_loss`: per-element losses are summed over the dims the weights do
not cover, multiplied by the weights and summed, then divided by the number of elements with a non-zero weight (0 if
there are none). The result is added to the LOSSES collection of the current pass, where :func:`get_total_loss`
finds it, together with the regularization losses of the variables used.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from slim.framework.arg_scope import add_arg_scope
from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame
from slim.framework.variable_scope import name_scope

__all__ = [
    "absolute_difference",
    "add_loss",
    "compute_weighted_loss",
    "cosine_distance",
    "get_losses",
    "get_regularization_losses",
    "get_total_loss",
    "hinge_loss",
    "log_loss",
    "mean_pairwise_squared_error",
    "mean_squared_error",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]


def _as_float(value: Any, like: torch.Tensor | None = None) -> torch.Tensor:
    tensor = torch.as_tensor(value, device=like.device if like is not None else None)
    return tensor.to(torch.float32)


def _num_present(losses: torch.Tensor, weights: torch.Tensor, per_batch: bool = False) -> torch.Tensor:
    """The number of loss elements with a non-zero weight (per batch element if asked)."""
    batch = losses.shape[0] if losses.dim() > 0 else 1
    if weights.dim() == 0:
        per_example = losses.numel() / max(batch, 1)
        count = torch.where(
            weights == 0, torch.zeros((), device=losses.device), torch.full((), per_example, device=losses.device)
        )
        num_per_batch = torch.ones(batch, device=losses.device) * count
    else:
        nonzero = (weights != 0).to(torch.float32)
        nonzero_per_batch = nonzero.sum(dim=tuple(range(1, weights.dim()))) if weights.dim() > 1 else nonzero
        broadcast = 1
        for size in losses.shape[weights.dim() :]:
            broadcast *= int(size)
        num_per_batch = nonzero_per_batch * float(broadcast)
    return num_per_batch if per_batch else num_per_batch.sum()


def _scale_losses(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Sums the dims the weights don't cover, multiplies by the weights, sums to a scalar."""
    start = max(0, weights.dim())
    reduced = losses.sum(dim=tuple(range(start, losses.dim()))) if losses.dim() > start else losses
    return (reduced * weights).sum()


def _safe_div(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator > 0, numerator / safe, torch.zeros_like(numerator))


def _prepare_weights(weights: Any, losses: torch.Tensor) -> torch.Tensor:
    weights = _as_float(weights, losses)
    if weights.dim() > 1 and weights.shape[-1] == 1:
        weights = weights.squeeze(-1)
    if weights.dim() > losses.dim():
        raise ValueError(f"weights of shape {tuple(weights.shape)} have more dims than losses {tuple(losses.shape)}.")
    return weights


@add_arg_scope
def add_loss(loss: torch.Tensor, loss_collection: str | None = GraphKeys.LOSSES, name: str = "") -> None:
    """Adds ``loss`` to ``loss_collection`` (nothing happens if the collection is None/empty)."""
    if loss_collection:
        current_frame().collections.add(loss_collection, loss, name)


def compute_weighted_loss(
    losses: torch.Tensor, weights: Any = 1.0, scope: str | None = None, loss_collection: str | None = GraphKeys.LOSSES
) -> torch.Tensor:
    """The weighted mean of ``losses`` as TF computes it (see the module docstring), added to the LOSSES collection.

    Args:
      losses: per-element losses ``[batch, d1, ..., dN]``.
      weights: a scalar or a tensor broadcastable over the leading dims of ``losses`` (a trailing dim of 1 is
        squeezed).
    """
    return _reduce(losses, weights, name_scope(scope, "weighted_loss"), loss_collection)


def _reduce(losses: torch.Tensor, weights: Any, name: str, loss_collection: str | None = GraphKeys.LOSSES):
    input_dtype = losses.dtype
    losses = losses.to(torch.float32)
    weights = _prepare_weights(weights, losses)
    total = _scale_losses(losses, weights)
    mean = _safe_div(total, _num_present(losses, weights)).to(input_dtype)
    add_loss(mean, loss_collection, f"{name}/value")
    return mean


def _check_same_shape(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes {tuple(a.shape)} and {tuple(b.shape)} are incompatible.")


def absolute_difference(
    predictions: torch.Tensor, labels: torch.Tensor, weights: Any = 1.0, scope: str | None = None
) -> torch.Tensor:
    """Weighted mean of ``|predictions - labels|``."""
    _check_same_shape(predictions, labels, "absolute_difference")
    losses = (predictions.float() - labels.float()).abs()
    return _reduce(losses, weights, name_scope(scope, "absolute_difference"))


def mean_squared_error(
    predictions: torch.Tensor, labels: torch.Tensor, weights: Any = 1.0, scope: str | None = None
) -> torch.Tensor:
    """Weighted mean of ``(predictions - labels) ** 2``."""
    _check_same_shape(predictions, labels, "mean_squared_error")
    losses = (predictions.float() - labels.float()).square()
    return _reduce(losses, weights, name_scope(scope, "mean_squared_error"))


def log_loss(
    predictions: torch.Tensor, labels: torch.Tensor, weights: Any = 1.0, epsilon: float = 1e-7, scope: str | None = None
) -> torch.Tensor:
    """Weighted mean of ``-y log(p + eps) - (1 - y) log(1 - p + eps)``."""
    _check_same_shape(predictions, labels, "log_loss")
    p, y = predictions.float(), labels.float()
    losses = -y * torch.log(p + epsilon) - (1 - y) * torch.log(1 - p + epsilon)
    return _reduce(losses, weights, name_scope(scope, "log_loss"))


def softmax_cross_entropy(
    logits: torch.Tensor,
    onehot_labels: torch.Tensor,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: str | None = None,
) -> torch.Tensor:
    """Cross-entropy of ``softmax(logits)`` against (optionally smoothed) one-hot labels ``[batch, classes]``.

    Smoothing replaces the labels by ``labels * (1 - s) + s / num_classes``.
    """
    _check_same_shape(logits, onehot_labels, "softmax_cross_entropy")
    labels = onehot_labels.to(torch.float32)
    if label_smoothing > 0:
        labels = labels * (1 - label_smoothing) + label_smoothing / labels.shape[-1]
    losses = -(labels * torch.log_softmax(logits.float(), dim=-1)).sum(dim=-1)
    return _reduce(losses, weights, name_scope(scope, "softmax_cross_entropy_loss"))


def sparse_softmax_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, weights: Any = 1.0, scope: str | None = None
) -> torch.Tensor:
    """Cross-entropy of ``softmax(logits)`` against integer labels ``[batch]`` (or ``[batch, 1]``)."""
    if labels.dim() == logits.dim() and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    losses = F.cross_entropy(logits.float(), labels.long(), reduction="none")
    return _reduce(losses, weights, name_scope(scope, "sparse_softmax_cross_entropy_loss"))


def sigmoid_cross_entropy(
    logits: torch.Tensor,
    multi_class_labels: torch.Tensor,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: str | None = None,
) -> torch.Tensor:
    """Element-wise sigmoid cross-entropy; smoothing gives ``labels * (1 - s) + 0.5 * s``."""
    _check_same_shape(logits, multi_class_labels, "sigmoid_cross_entropy")
    labels = multi_class_labels.to(torch.float32)
    if label_smoothing > 0:
        labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
    losses = F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="none")
    return _reduce(losses, weights, name_scope(scope, "sigmoid_cross_entropy_loss"))


def mean_pairwise_squared_error(
    predictions: torch.Tensor, labels: torch.Tensor, weights: Any = 1.0, scope: str | None = None
) -> torch.Tensor:
    """Per example ``2 * sum(d ** 2) / n - 2 * sum(d) ** 2 / n ** 2`` (d = p - y), weighted and summed."""
    name = name_scope(scope, "mean_pairwise_squared_error")
    _check_same_shape(predictions, labels, "mean_pairwise_squared_error")
    diffs = predictions.float() - labels.float()
    # Unlike the other losses, TF does not squeeze a trailing weight dim of 1 here (and then broadcasts
    # [batch] * [batch, 1]); reproduced as is, since values must match TF-Slim's.
    weights = _as_float(weights, diffs)
    dims = tuple(range(1, diffs.dim()))
    num_present = _num_present(diffs, weights, per_batch=True)
    term1 = 2.0 * _safe_div(diffs.square().sum(dim=dims), num_present)
    term2 = 2.0 * _safe_div(diffs.sum(dim=dims).square(), num_present.square())
    loss = _scale_losses(term1 - term2, weights)
    value = torch.where(num_present.sum() > 0, loss, torch.zeros_like(loss))
    add_loss(value, GraphKeys.LOSSES, f"{name}/value")
    return value


def cosine_distance(
    predictions: torch.Tensor,
    labels: torch.Tensor,
    axis: int | None = None,
    weights: Any = 1.0,
    scope: str | None = None,
    dim: int | None = None,
) -> torch.Tensor:
    """Weighted mean of ``1 - sum(p * y, axis)`` (inputs assumed unit-normalised)."""
    if axis is None:
        axis = dim
    elif dim is not None and dim != axis:
        raise ValueError("Cannot specify both 'axis' and 'dim' with different values.")
    if axis is None:
        raise ValueError("You must specify 'axis'.")
    _check_same_shape(predictions, labels, "cosine_distance")
    losses = 1 - (predictions.float() * labels.float()).sum(dim=axis)
    return _reduce(losses, weights, name_scope(scope, "cosine_distance_loss"))


def hinge_loss(logits: torch.Tensor, labels: torch.Tensor, scope: str | None = None) -> torch.Tensor:
    """The unreduced hinge loss ``relu(1 - (2 y - 1) * logits)`` (not added to LOSSES, as TF-Slim)."""
    del scope
    _check_same_shape(logits, labels, "hinge_loss")
    signs = 2 * labels.float() - 1
    return torch.relu(1 - signs * logits.float())


def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list[torch.Tensor]:
    """The losses in ``loss_collection`` of the current pass, optionally filtered by a scope regex prefix."""
    return current_frame().collections.get(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list[torch.Tensor]:
    """The regularization losses: those added explicitly, and the regularizers of every variable created with one in
    the stores used in this pass (evaluated on the current weights)."""
    frame = current_frame()
    losses = list(frame.collections.get(GraphKeys.REGULARIZATION_LOSSES, scope))
    stores = list(frame.collections.stores)
    if not any(store is frame.store for store in stores):
        stores.append(frame.store)
    for store in stores:
        losses += [loss for _, loss in store.regularization_losses(scope)]
    return losses


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss") -> torch.Tensor:
    """The sum of the losses (and, by default, the regularization losses) of the current pass.

    Raises:
      ValueError: there are no losses at all.
    """
    del name
    losses = get_losses()
    if add_regularization_losses:
        losses += get_regularization_losses()
    if not losses:
        raise ValueError(
            "No losses to sum: add a loss (e.g. slim.losses.softmax_cross_entropy) before get_total_loss()."
        )
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return total
