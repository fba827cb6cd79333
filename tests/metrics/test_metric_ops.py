"""slim.metrics against real TF-Slim (tests/fixtures/metrics/make_metric_fixtures.py): three batches each."""

from pathlib import Path

import numpy as np
import pytest
import torch

from slim import metrics as M

REF = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "metric_reference.npz")
THRESHOLDS = REF["thresholds"].tolist()


def batches(*names):
    arrays = [REF[f"input_{n}"] for n in names]
    for b in range(arrays[0].shape[0]):
        yield [torch.from_numpy(np.ascontiguousarray(a[b])) for a in arrays]


def gt(x):
    return x > 0


# (factory, inputs, weights input or None, transform of the inputs)
CASES = {
    "accuracy": (lambda: M.streaming_accuracy(), ("pred6", "labels6"), None),
    "accuracy_weighted": (lambda: M.streaming_accuracy(), ("pred6", "labels6"), "weights"),
    "mean": (lambda: M.streaming_mean(), ("values",), None),
    "mean_weighted": (lambda: M.streaming_mean(), ("values",), "weights"),
    "mean_tensor": (lambda: M.streaming_mean_tensor(), ("values",), None),
    "mean_absolute_error": (lambda: M.streaming_mean_absolute_error(), ("values", "targets"), None),
    "mean_squared_error": (lambda: M.streaming_mean_squared_error(), ("values", "targets"), "weights"),
    "root_mean_squared_error": (lambda: M.streaming_root_mean_squared_error(), ("values", "targets"), None),
    "mean_relative_error": (lambda: M.streaming_mean_relative_error(), ("values", "targets", "normalizer"), None),
    "mean_cosine_distance": (lambda: M.streaming_mean_cosine_distance(dim=1), ("unit_a", "unit_b"), None),
    "percentage_less": (lambda: M.streaming_percentage_less(threshold=0.3), ("values",), None),
    "covariance": (lambda: M.streaming_covariance(), ("values", "targets"), None),
    "covariance_weighted": (lambda: M.streaming_covariance(), ("values", "targets"), "weights"),
    "true_positives": (lambda: M.streaming_true_positives(), ("bool_pred", "binary"), None),
    "false_positives": (lambda: M.streaming_false_positives(), ("bool_pred", "binary"), None),
    "true_negatives": (lambda: M.streaming_true_negatives(), ("bool_pred", "binary"), None),
    "false_negatives": (lambda: M.streaming_false_negatives(), ("bool_pred", "binary"), "weights"),
    "precision": (lambda: M.streaming_precision(), ("bool_pred", "binary"), None),
    "recall": (lambda: M.streaming_recall(), ("bool_pred", "binary"), "weights"),
    "false_positive_rate": (lambda: M.streaming_false_positive_rate(), ("bool_pred", "binary"), None),
    "false_negative_rate": (lambda: M.streaming_false_negative_rate(), ("bool_pred", "binary"), None),
    "tp_at_thresholds": (
        lambda: M.streaming_true_positives_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "fp_at_thresholds": (
        lambda: M.streaming_false_positives_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "tn_at_thresholds": (
        lambda: M.streaming_true_negatives_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "fn_at_thresholds": (
        lambda: M.streaming_false_negatives_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "precision_at_thresholds": (
        lambda: M.streaming_precision_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "recall_at_thresholds": (
        lambda: M.streaming_recall_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "fpr_at_thresholds": (
        lambda: M.streaming_false_positive_rate_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "fnr_at_thresholds": (
        lambda: M.streaming_false_negative_rate_at_thresholds(thresholds=THRESHOLDS),
        ("scores", "binary"),
        None,
    ),
    "auc_roc": (lambda: M.streaming_auc(), ("scores", "binary"), None),
    "auc_pr": (lambda: M.streaming_auc(curve="PR", num_thresholds=50), ("scores", "binary"), None),
    "auc_weighted": (lambda: M.streaming_auc(), ("scores", "binary"), "weights"),
    "mean_iou": (lambda: M.streaming_mean_iou(num_classes=8), ("pred6", "labels6"), None),
    "recall_at_1": (lambda: M.streaming_recall_at_k(k=1), ("logits", "labels6"), None),
    "recall_at_3": (lambda: M.streaming_recall_at_k(k=3), ("logits", "labels6"), None),
    "sparse_recall_at_2": (lambda: M.streaming_sparse_recall_at_k(k=2), ("logits", "labels6"), None),
    "sparse_recall_at_2_class_3": (
        lambda: M.streaming_sparse_recall_at_k(k=2, class_id=3),
        ("logits", "labels6"),
        None,
    ),
    "sparse_precision_at_2": (lambda: M.streaming_sparse_precision_at_k(k=2), ("logits", "labels6"), None),
    "sparse_precision_at_2_class_3": (
        lambda: M.streaming_sparse_precision_at_k(k=2, class_id=3),
        ("logits", "labels6"),
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_metric_matches_tf(name):
    make, inputs, weights = CASES[name]
    metric = make()
    value_fn, update_fn = metric
    names = inputs + ((weights,) if weights else ())
    for batch in batches(*names):
        args = batch[: len(inputs)]
        if weights:
            update_fn(*args, weights=batch[-1])
        else:
            update_fn(*args)
    assert np.allclose(np.asarray(value_fn()), REF[f"value_{name}"], rtol=1e-5, atol=1e-6), (
        value_fn(),
        REF[f"value_{name}"],
    )


def test_pearson_matches_tf():
    metric = M.streaming_pearson_correlation()
    for values, targets in batches("values", "targets"):
        metric.update(values, values + targets)
    assert np.allclose(metric.compute().numpy(), REF["value_pearson_correlation"], rtol=1e-5)


def test_reset_concat_count_and_aggregate():
    acc = M.streaming_accuracy()
    acc.update(torch.tensor([1, 2]), torch.tensor([1, 3]))
    assert acc.compute() == 0.5
    acc.reset()
    assert acc.compute() == 0.0
    concat = M.streaming_concat(max_size=5)
    concat.update(torch.arange(3))
    concat.update(torch.arange(3, 7))
    assert concat.compute().tolist() == [0, 1, 2, 3, 4]
    counter = M.count()
    counter.update(torch.ones(4), weights=torch.tensor([1.0, 0, 1, 1]))
    assert counter() == 3
    values, updates = M.aggregate_metric_map(
        {"Accuracy": M.streaming_accuracy(), "Recall_5": M.streaming_recall_at_k(k=5)}
    )
    updates["Accuracy"](torch.tensor([0, 1]), torch.tensor([0, 1]))
    assert set(values) == {"Accuracy", "Recall_5"} and values["Accuracy"]() == 1.0
    with pytest.raises(ValueError):
        M.aggregate_metrics()


def test_in_top_k_ties_count_as_inside():
    scores = torch.tensor([[0.5, 0.5, 0.5, 0.1]])
    assert M.in_top_k(scores, torch.tensor([2]), 1).item() is True
    assert M.in_top_k(scores, torch.tensor([3]), 3).item() is False


def _metric_rank(rank, world, init_file, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        acc = M.streaming_accuracy()
        if rank == 0:
            acc.update(torch.tensor([1, 1, 1]), torch.tensor([1, 1, 1]))
        else:
            acc.update(torch.tensor([0]), torch.tensor([1]))
        torch.save(acc.compute(), f"{out}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_values_are_summed_across_ranks(tmp_path):
    torch.multiprocessing.spawn(_metric_rank, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2)
    assert torch.load(tmp_path / "0.pt").item() == 0.75 == torch.load(tmp_path / "1.pt").item()
