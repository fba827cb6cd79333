"""Streaming metrics (``slim.metrics.streaming_*``) as stateful objects with TF's semantics.

TF returns ``(value_tensor, update_op)`` and keeps the state in local variables. Here each factory returns a
:class:`Metric` holding summable state tensors; it unpacks like TF's pair::

    accuracy, update_accuracy = slim.metrics.streaming_accuracy()
    for images, labels in batches:
        update_accuracy(logits.argmax(1), labels)
    print(accuracy())

``update`` adds a batch, ``compute`` (= calling the value function) gives the value so far, ``reset`` starts over.
Under ``torch.distributed`` the value is computed from the states summed over all ranks (each rank's own state is
left as it is), so every example of every rank counts once.

TF's exact conventions are kept (and are why this module does not wrap another metrics library): predictions count
as positive when strictly greater than a threshold; ``*_at_thresholds`` ratios add 1e-7 to the denominator; AUC is a
trapezoidal sum over TF's threshold grid with its epsilons; ``in_top_k`` counts ties at the k-th score as inside;
covariance is the unbiased co-moment; empty denominators give 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "Metric",
    "aggregate_metrics",
    "aggregate_metric_map",
    "streaming_accuracy",
    "streaming_mean",
    "streaming_mean_tensor",
    "streaming_mean_absolute_error",
    "streaming_mean_squared_error",
    "streaming_root_mean_squared_error",
    "streaming_mean_relative_error",
    "streaming_mean_cosine_distance",
    "streaming_percentage_less",
    "streaming_covariance",
    "streaming_pearson_correlation",
    "streaming_concat",
    "streaming_true_positives",
    "streaming_true_negatives",
    "streaming_false_positives",
    "streaming_false_negatives",
    "streaming_true_positives_at_thresholds",
    "streaming_true_negatives_at_thresholds",
    "streaming_false_positives_at_thresholds",
    "streaming_false_negatives_at_thresholds",
    "streaming_precision",
    "streaming_recall",
    "streaming_false_positive_rate",
    "streaming_false_negative_rate",
    "streaming_precision_at_thresholds",
    "streaming_recall_at_thresholds",
    "streaming_false_positive_rate_at_thresholds",
    "streaming_false_negative_rate_at_thresholds",
    "streaming_auc",
    "streaming_mean_iou",
    "streaming_recall_at_k",
    "streaming_sparse_recall_at_k",
    "streaming_sparse_precision_at_k",
    "count",
]


def _as_float(value: Any) -> torch.Tensor:
    return torch.as_tensor(value).detach().to(torch.float64)


def _weights_like(weights: Any, values: torch.Tensor) -> torch.Tensor:
    if weights is None:
        return torch.ones_like(values)
    weights = _as_float(weights)
    while weights.dim() < values.dim():
        weights = weights.unsqueeze(-1)
    return torch.broadcast_to(weights, values.shape)


def _safe_div(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return torch.where(denominator > 0, numerator / torch.where(denominator > 0, denominator, 1.0), 0.0)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class Metric:
    """A streaming metric: named state tensors, a batch update rule and a value rule.

    Subclasses define ``_init_state()`` (name -> zero tensor), ``_update(*args)`` and ``_value(state)``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: dict[str, torch.Tensor] = {}
        self.reset()

    def _init_state(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def _value(self, state: Mapping[str, torch.Tensor]) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        """Forgets every batch seen so far (TF: re-run the local variables initializer)."""
        self.state = self._init_state()

    def update(self, *args: Any, **kwargs: Any) -> Any:
        """Adds a batch and returns the value so far (TF's ``update_op``)."""
        self._update(*args, **kwargs)
        return self.compute()

    def _synced_state(self) -> dict[str, torch.Tensor]:
        if not _distributed():
            return self.state
        summed = {}
        for key, value in self.state.items():
            copy = value.clone()
            dist.all_reduce(copy, op=dist.ReduceOp.SUM)
            summed[key] = copy
        return summed

    def compute(self) -> Any:
        """The value over every batch seen (on every rank)."""
        return self._value(self._synced_state())

    __call__ = compute

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        """Unpacks as TF's ``(value, update_op)`` pair: ``value, update = metric``."""
        return iter((self.compute, self.update))

    def __repr__(self) -> str:
        return f"<slim.metrics {type(self).__name__} '{self.name}'>"


class _Mean(Metric):
    """Weighted mean of ``transform(*args)``."""

    def __init__(self, name: str, transform: Callable[..., torch.Tensor]) -> None:
        self._transform = transform
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        return {"total": torch.zeros((), dtype=torch.float64), "count": torch.zeros((), dtype=torch.float64)}

    def _update(self, *args: Any, weights: Any = None) -> None:
        values = _as_float(self._transform(*args))
        w = _weights_like(weights, values)
        self.state["total"] += (values * w).sum()
        self.state["count"] += w.sum()

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return _safe_div(state["total"], state["count"])


class _MeanTensor(Metric):
    """Element-wise weighted mean over batches (all batches must have the same shape)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        return {}

    def _update(self, values: Any, weights: Any = None) -> None:
        values = _as_float(values)
        w = _weights_like(weights, values)
        if not self.state:
            self.state = {"total": torch.zeros_like(values), "count": torch.zeros_like(values)}
        self.state["total"] += values * w
        self.state["count"] += w

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if not state:
            return torch.zeros(())
        return _safe_div(state["total"], state["count"])


def _same_shape(predictions: Any, labels: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    p, lab = torch.as_tensor(predictions).detach(), torch.as_tensor(labels).detach()
    if p.shape != lab.shape:
        if p.numel() == lab.numel():
            lab = lab.reshape(p.shape)
        else:
            raise ValueError(f"{what}: predictions {tuple(p.shape)} and labels {tuple(lab.shape)} differ in shape.")
    return p, lab


def streaming_mean(
    values: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The weighted mean of all values seen (``update(values, weights=None)``)."""
    return _start(_Mean(name or "mean", lambda v: v), values, weights=weights)


def _start(metric: Metric, *args: Any, weights: Any = None) -> Metric:
    """TF's factories take the first batch as arguments; ours may too (then it is added at once)."""
    if args and args[0] is not None:
        metric.update(*args, weights=weights) if weights is not None else metric.update(*args)
    return metric


def streaming_mean_tensor(
    values: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The element-wise weighted mean of all value tensors seen."""
    return _start(_MeanTensor(name or "mean"), values, weights=weights)


def streaming_accuracy(
    predictions: Any = None,
    labels: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The weighted fraction of ``predictions == labels`` (``update(predictions, labels, weights=None)``)."""

    def correct(p: Any, lab: Any) -> torch.Tensor:
        p, lab = _same_shape(p, lab, "streaming_accuracy")
        return (p == lab.to(p.dtype)).to(torch.float64)

    return _start(
        _Mean(name or "accuracy", correct), *(() if predictions is None else (predictions, labels)), weights=weights
    )


def _error_metric(kind: str) -> Callable[..., Metric]:
    def transform(p: Any, lab: Any) -> torch.Tensor:
        p, lab = _same_shape(p, lab, f"streaming_{kind}")
        diff = _as_float(p) - _as_float(lab)
        return diff.abs() if kind == "mean_absolute_error" else diff.square()

    def factory(
        predictions: Any = None,
        labels: Any = None,
        weights: Any = None,
        metrics_collections: Any = None,
        updates_collections: Any = None,
        name: str | None = None,
    ) -> Metric:
        return _start(
            _Mean(name or kind, transform), *(() if predictions is None else (predictions, labels)), weights=weights
        )

    factory.__name__ = f"streaming_{kind}"
    factory.__doc__ = f"The weighted mean of {'|p - l|' if 'absolute' in kind else '(p - l) ** 2'}."
    return factory


streaming_mean_absolute_error = _error_metric("mean_absolute_error")
streaming_mean_squared_error = _error_metric("mean_squared_error")


class _Root(_Mean):
    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.sqrt(super()._value(state))


def streaming_root_mean_squared_error(
    predictions: Any = None,
    labels: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The square root of the weighted mean squared error."""

    def squared(p: Any, lab: Any) -> torch.Tensor:
        p, lab = _same_shape(p, lab, "streaming_root_mean_squared_error")
        return (_as_float(p) - _as_float(lab)).square()

    return _start(
        _Root(name or "root_mean_squared_error", squared),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


def streaming_mean_relative_error(
    predictions: Any = None,
    labels: Any = None,
    normalizer: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The weighted mean of ``|p - l| / normalizer`` (0 where the normalizer is 0)."""

    def relative(p: Any, lab: Any, norm: Any) -> torch.Tensor:
        p, lab = _same_shape(p, lab, "streaming_mean_relative_error")
        norm = _as_float(norm)
        return torch.where(norm == 0, 0.0, (_as_float(lab) - _as_float(p)).abs() / torch.where(norm == 0, 1.0, norm))

    return _start(
        _Mean(name or "mean_relative_error", relative),
        *(() if predictions is None else (predictions, labels, normalizer)),
        weights=weights,
    )


class _OneMinus(_Mean):
    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return 1.0 - super()._value(state)


def streaming_mean_cosine_distance(
    predictions: Any = None,
    labels: Any = None,
    dim: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """``1 - mean(sum(p * l, dim))`` (inputs assumed unit-normalised)."""
    if dim is None:
        raise ValueError("streaming_mean_cosine_distance: give dim.")

    def radial(p: Any, lab: Any) -> torch.Tensor:
        p, lab = _same_shape(p, lab, "streaming_mean_cosine_distance")
        return (_as_float(p) * _as_float(lab)).sum(dim=dim, keepdim=True)

    return _start(
        _OneMinus(name or "mean_cosine_distance", radial),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


def streaming_percentage_less(
    values: Any = None,
    threshold: float = 0.0,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The weighted fraction of values strictly below ``threshold``."""
    return _start(
        _Mean(name or "percentage_below_threshold", lambda v: (_as_float(v) < threshold).double()),
        values,
        weights=weights,
    )


class _Covariance(Metric):
    """Streaming co-moments of (x, y); the covariance is the unbiased ``C / (n - 1)`` as TF's."""

    def __init__(self, name: str, pearson: bool) -> None:
        self._pearson = pearson
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        names = ("n", "sx", "sy", "sxx", "syy", "sxy")
        return {key: torch.zeros((), dtype=torch.float64) for key in names}

    def _update(self, predictions: Any, labels: Any, weights: Any = None) -> None:
        x, y = _same_shape(predictions, labels, self.name)
        x, y = _as_float(x).reshape(-1), _as_float(y).reshape(-1)
        w = _weights_like(weights, x.reshape(torch.as_tensor(predictions).shape)).reshape(-1)
        s = self.state
        s["n"] += w.sum()
        s["sx"] += (w * x).sum()
        s["sy"] += (w * y).sum()
        s["sxx"] += (w * x * x).sum()
        s["syy"] += (w * y * y).sum()
        s["sxy"] += (w * x * y).sum()

    @staticmethod
    def _comoment(n: torch.Tensor, sa: torch.Tensor, sb: torch.Tensor, sab: torch.Tensor) -> torch.Tensor:
        return sab - sa * sb / torch.where(n > 0, n, 1.0)

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        n = state["n"]
        cxy = self._comoment(n, state["sx"], state["sy"], state["sxy"])
        if not self._pearson:
            return torch.where(n > 1, cxy / (n - 1), torch.tensor(float("nan"), dtype=torch.float64))
        cxx = self._comoment(n, state["sx"], state["sx"], state["sxx"])
        cyy = self._comoment(n, state["sy"], state["sy"], state["syy"])
        return cxy / torch.sqrt(cxx * cyy)


def streaming_covariance(
    predictions: Any = None,
    labels: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The unbiased (weighted) covariance of predictions and labels."""
    return _start(
        _Covariance(name or "covariance", False),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


def streaming_pearson_correlation(
    predictions: Any = None,
    labels: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """Pearson's correlation of predictions and labels."""
    return _start(
        _Covariance(name or "pearson_r", True), *(() if predictions is None else (predictions, labels)), weights=weights
    )


class _Concat(Metric):
    def __init__(self, name: str, axis: int, max_size: int | None) -> None:
        self._axis = axis
        self._max_size = max_size
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        return {}

    def _update(self, values: Any) -> None:
        values = torch.as_tensor(values).detach()
        if "values" in self.state:
            values = torch.cat([self.state["values"], values], dim=self._axis)
        if self._max_size is not None and values.shape[self._axis] > self._max_size:
            values = values.narrow(self._axis, 0, self._max_size)
        self.state["values"] = values

    def _synced_state(self) -> dict[str, torch.Tensor]:
        if not _distributed() or "values" not in self.state:
            return self.state
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, self.state["values"].cpu())
        return {"values": torch.cat(gathered, dim=self._axis)}

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return state.get("values", torch.zeros(0))


def streaming_concat(
    values: Any = None,
    axis: int = 0,
    max_size: int | None = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """All values seen, concatenated along ``axis`` (at most ``max_size`` along it)."""
    return _start(_Concat(name or "streaming_concat", axis, max_size), values)


# --- confusion counts -------------------------------------------------------------------------------------------------

_KINDS = ("tp", "fp", "tn", "fn")


class _Confusion(Metric):
    """Weighted true/false positive/negative counts, at ``thresholds`` (predictions > t) or for boolean predictions."""

    def __init__(
        self,
        name: str,
        value_fn: Callable[[Mapping[str, torch.Tensor]], Any],
        thresholds: Sequence[float] | None = None,
    ) -> None:
        self._value_fn = value_fn
        self._thresholds = None if thresholds is None else torch.tensor(list(thresholds), dtype=torch.float64)
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        shape = () if self._thresholds is None else (len(self._thresholds),)
        return {kind: torch.zeros(shape, dtype=torch.float64) for kind in _KINDS}

    def _update(self, predictions: Any, labels: Any, weights: Any = None) -> None:
        p, lab = _same_shape(predictions, labels, self.name)
        lab = lab.to(torch.bool).reshape(-1)
        w = _weights_like(weights, _as_float(p)).reshape(-1)
        if self._thresholds is None:
            positive = p.to(torch.bool).reshape(-1)
            self.state["tp"] += (w * (positive & lab)).sum()
            self.state["fp"] += (w * (positive & ~lab)).sum()
            self.state["tn"] += (w * (~positive & ~lab)).sum()
            self.state["fn"] += (w * (~positive & lab)).sum()
            return
        positive = _as_float(p).reshape(1, -1) > self._thresholds.reshape(-1, 1)  # [thresholds, N]
        lab, w = lab.reshape(1, -1), w.reshape(1, -1)
        self.state["tp"] += (w * (positive & lab)).sum(1)
        self.state["fp"] += (w * (positive & ~lab)).sum(1)
        self.state["tn"] += (w * (~positive & ~lab)).sum(1)
        self.state["fn"] += (w * (~positive & lab)).sum(1)

    def _value(self, state: Mapping[str, torch.Tensor]) -> Any:
        return self._value_fn(state)


def _count_factory(kind: str, at_thresholds: bool) -> Callable[..., Metric]:
    full = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives", "fn": "false_negatives"}[kind]
    if at_thresholds:

        def factory(
            predictions: Any = None,
            labels: Any = None,
            thresholds: Sequence[float] = (0.5,),
            weights: Any = None,
            name: str | None = None,
        ) -> Metric:
            metric = _Confusion(name or full, lambda s: s[kind], thresholds)
            return _start(metric, *(() if predictions is None else (predictions, labels)), weights=weights)

        factory.__name__ = f"streaming_{full}_at_thresholds"
        factory.__doc__ = f"Weighted {full.replace('_', ' ')} at each threshold (prediction > threshold)."
    else:

        def factory(
            predictions: Any = None,
            labels: Any = None,
            weights: Any = None,
            metrics_collections: Any = None,
            updates_collections: Any = None,
            name: str | None = None,
        ) -> Metric:
            return _start(
                _Confusion(name or full, lambda s: s[kind]),
                *(() if predictions is None else (predictions, labels)),
                weights=weights,
            )

        factory.__name__ = f"streaming_{full}"
        factory.__doc__ = f"Weighted count of {full.replace('_', ' ')} (boolean predictions and labels)."
    return factory


streaming_true_positives = _count_factory("tp", False)
streaming_false_positives = _count_factory("fp", False)
streaming_true_negatives = _count_factory("tn", False)
streaming_false_negatives = _count_factory("fn", False)
streaming_true_positives_at_thresholds = _count_factory("tp", True)
streaming_false_positives_at_thresholds = _count_factory("fp", True)
streaming_true_negatives_at_thresholds = _count_factory("tn", True)
streaming_false_negatives_at_thresholds = _count_factory("fn", True)

_RATIOS = {
    "precision": ("tp", ("tp", "fp")),
    "recall": ("tp", ("tp", "fn")),
    "false_positive_rate": ("fp", ("fp", "tn")),
    "false_negative_rate": ("fn", ("fn", "tp")),
}


def _ratio_factory(kind: str, at_thresholds: bool) -> Callable[..., Metric]:
    numerator, denominator = _RATIOS[kind]
    if at_thresholds:

        def value(s: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return s[numerator] / (1e-7 + s[denominator[0]] + s[denominator[1]])

        def factory(
            predictions: Any = None,
            labels: Any = None,
            thresholds: Sequence[float] = (0.5,),
            weights: Any = None,
            metrics_collections: Any = None,
            updates_collections: Any = None,
            name: str | None = None,
        ) -> Metric:
            metric = _Confusion(name or f"{kind}_at_thresholds", value, thresholds)
            return _start(metric, *(() if predictions is None else (predictions, labels)), weights=weights)

        factory.__name__ = f"streaming_{kind}_at_thresholds"
        factory.__doc__ = f"{kind.replace('_', ' ').capitalize()} at each threshold (denominator + 1e-7, as TF)."
    else:

        def value(s: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return _safe_div(s[numerator], s[denominator[0]] + s[denominator[1]])

        def factory(
            predictions: Any = None,
            labels: Any = None,
            weights: Any = None,
            metrics_collections: Any = None,
            updates_collections: Any = None,
            name: str | None = None,
        ) -> Metric:
            return _start(
                _Confusion(name or kind, value),
                *(() if predictions is None else (predictions, labels)),
                weights=weights,
            )

        factory.__name__ = f"streaming_{kind}"
        factory.__doc__ = f"{kind.replace('_', ' ').capitalize()} of boolean predictions (0 when undefined)."
    return factory


streaming_precision = _ratio_factory("precision", False)
streaming_recall = _ratio_factory("recall", False)
streaming_false_positive_rate = _ratio_factory("false_positive_rate", False)
streaming_false_negative_rate = _ratio_factory("false_negative_rate", False)
streaming_precision_at_thresholds = _ratio_factory("precision", True)
streaming_recall_at_thresholds = _ratio_factory("recall", True)
streaming_false_positive_rate_at_thresholds = _ratio_factory("false_positive_rate", True)
streaming_false_negative_rate_at_thresholds = _ratio_factory("false_negative_rate", True)


def _auc_thresholds(num_thresholds: int) -> list[float]:
    kepsilon = 1e-7
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - kepsilon] + inner + [1.0 + kepsilon]


def streaming_auc(
    predictions: Any = None,
    labels: Any = None,
    weights: Any = None,
    num_thresholds: int = 200,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    curve: str = "ROC",
    name: str | None = None,
) -> Metric:
    """Area under the ROC or PR curve: TF's trapezoidal sum over ``num_thresholds`` thresholds in [0, 1]."""
    if curve not in ("ROC", "PR"):
        raise ValueError(f"streaming_auc: curve must be 'ROC' or 'PR', got {curve!r}.")
    if num_thresholds < 2:
        raise ValueError("streaming_auc: num_thresholds must be > 1.")
    epsilon = 1.0e-6

    def value(s: Mapping[str, torch.Tensor]) -> torch.Tensor:
        tp, fp, tn, fn = s["tp"], s["fp"], s["tn"], s["fn"]
        recall = (tp + epsilon) / (tp + fn + epsilon)
        if curve == "ROC":
            x, y = fp / (fp + tn + epsilon), recall
        else:
            x, y = recall, (tp + epsilon) / (tp + fp + epsilon)
        return ((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2.0).sum()

    metric = _Confusion(name or "auc", value, _auc_thresholds(num_thresholds))
    return _start(metric, *(() if predictions is None else (predictions, labels)), weights=weights)


class _MeanIoU(Metric):
    def __init__(self, name: str, num_classes: int) -> None:
        self._num_classes = num_classes
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        return {"confusion": torch.zeros((self._num_classes, self._num_classes), dtype=torch.float64)}

    def _update(self, predictions: Any, labels: Any, weights: Any = None) -> None:
        p, lab = _same_shape(predictions, labels, self.name)
        p, lab = p.reshape(-1).long(), lab.reshape(-1).long()
        w = _weights_like(weights, _as_float(p)).reshape(-1)
        index = lab * self._num_classes + p
        self.state["confusion"] += torch.bincount(index, weights=w, minlength=self._num_classes**2).reshape(
            self._num_classes, self._num_classes
        )

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        cm = state["confusion"]
        diag = torch.diagonal(cm)
        denominator = cm.sum(0) + cm.sum(1) - diag
        valid = (denominator != 0).sum()
        iou = diag / torch.where(denominator > 0, denominator, 1.0)
        return torch.where(valid > 0, iou.sum() / torch.clamp(valid, min=1), 0.0)


def streaming_mean_iou(
    predictions: Any = None,
    labels: Any = None,
    num_classes: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """Mean intersection-over-union over classes (classes never seen nor predicted are left out)."""
    if num_classes is None:
        raise ValueError("streaming_mean_iou: give num_classes.")
    return _start(
        _MeanIoU(name or "mean_iou", num_classes),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


def in_top_k(predictions: torch.Tensor, targets: torch.Tensor, k: int) -> torch.Tensor:
    """TF's ``in_top_k``: the target's score is among the top k, ties at the boundary counting as inside."""
    predictions = torch.as_tensor(predictions).detach()
    targets = torch.as_tensor(targets).detach().reshape(-1).long()
    target_scores = predictions.gather(1, targets.unsqueeze(1))
    larger = (predictions > target_scores).sum(1)
    return (larger < k) & torch.isfinite(target_scores.squeeze(1))


def streaming_recall_at_k(
    predictions: Any = None,
    labels: Any = None,
    k: int = 1,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The weighted fraction of examples whose label is in the top ``k`` predictions (``predictions`` [N, C])."""
    return _start(
        _Mean(name or f"recall_at_{k}", lambda p, lab: in_top_k(p, lab, k).double()),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


class _SparseAtK(Metric):
    """Sparse precision/recall at k: labels [N] or [N, L] (ids < 0 or >= C are padding)."""

    def __init__(self, name: str, k: int, class_id: int | None, precision: bool) -> None:
        self._k, self._class_id, self._precision = k, class_id, precision
        super().__init__(name)

    def _init_state(self) -> dict[str, torch.Tensor]:
        return {"tp": torch.zeros((), dtype=torch.float64), "other": torch.zeros((), dtype=torch.float64)}

    def _update(self, predictions: Any, labels: Any, weights: Any = None) -> None:
        scores = torch.as_tensor(predictions).detach()
        labels = torch.as_tensor(labels).detach().long()
        if labels.dim() == 1:
            labels = labels.unsqueeze(1)
        num_classes = scores.shape[-1]
        # TF's top_k prefers the lower class index among equal scores; a stable descending sort does too.
        top = torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, : self._k]  # [N, k]
        label_hot = torch.zeros_like(scores, dtype=torch.bool)
        valid = (labels >= 0) & (labels < num_classes)
        label_hot.scatter_(1, labels.clamp(0, num_classes - 1), valid)
        top_hot = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, top, True)
        if self._class_id is not None:
            keep = torch.zeros(num_classes, dtype=torch.bool)
            keep[self._class_id] = True
            label_hot, top_hot = label_hot & keep, top_hot & keep
        w = _weights_like(weights, torch.zeros(scores.shape[0], dtype=torch.float64)).reshape(-1, 1)
        self.state["tp"] += (w * (label_hot & top_hot)).sum()
        other = (top_hot & ~label_hot) if self._precision else (label_hot & ~top_hot)
        self.state["other"] += (w * other).sum()

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return _safe_div(state["tp"], state["tp"] + state["other"])


def streaming_sparse_recall_at_k(
    predictions: Any = None,
    labels: Any = None,
    k: int = 1,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """Recall at k over (possibly several) labels per example, optionally for one ``class_id``."""
    return _start(
        _SparseAtK(name or f"recall_at_{k}", k, class_id, precision=False),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


def streaming_sparse_precision_at_k(
    predictions: Any = None,
    labels: Any = None,
    k: int = 1,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """Precision at k over (possibly several) labels per example, optionally for one ``class_id``."""
    return _start(
        _SparseAtK(name or f"precision_at_{k}", k, class_id, precision=True),
        *(() if predictions is None else (predictions, labels)),
        weights=weights,
    )


class _Count(Metric):
    def _init_state(self) -> dict[str, torch.Tensor]:
        return {"count": torch.zeros((), dtype=torch.float64)}

    def _update(self, values: Any, weights: Any = None) -> None:
        values = _as_float(values)
        self.state["count"] += _weights_like(weights, values).sum()

    def _value(self, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return state["count"]


def count(
    values: Any = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The (weighted) number of values seen."""
    return _start(_Count(name or "count"), values, weights=weights)


def aggregate_metrics(*value_update_tuples: Any) -> tuple[list[Any], list[Any]]:
    """``([value, ...], [update, ...])`` from metrics or ``(value, update)`` pairs."""
    if not value_update_tuples:
        raise ValueError("Expected at least one value_tensor/update_op pair")
    values, updates = zip(*(tuple(pair) for pair in value_update_tuples))
    return list(values), list(updates)


def aggregate_metric_map(names_to_tuples: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({name: value}, {name: update})`` from ``{name: metric or (value, update)}``."""
    names = list(names_to_tuples)
    values, updates = aggregate_metrics(*(names_to_tuples[n] for n in names))
    return dict(zip(names, values)), dict(zip(names, updates))
