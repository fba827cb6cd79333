"""train_image_classifier and eval_image_classifier end to end on a tiny image folder the test makes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slim.framework import checkpoint as ckpt
from slim.scripts.eval_image_classifier import eval_image_classifier
from slim.scripts.train_image_classifier import train_image_classifier


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, two_class_dataset):
    """Two easily separable classes of 16x16 images (bright vs dark), 24 train and 8 validation images."""
    return two_class_dataset(tmp_path_factory.mktemp("images"), 16, num_validation=8, num_shards=2)


@pytest.fixture()
def common(lenet_flags):
    """The quick LeNet training flags, with summaries every second and a log line every 5 steps."""

    def flags(tmp_path, dataset_dir, **overrides):
        values = dict(save_summaries_secs=1, log_every_n_steps=5)
        values.update(overrides)
        return lenet_flags(dataset_dir, values.pop("train_dir", tmp_path / "train"), **values)

    return flags


def test_train_then_evaluate_every_example_once(tmp_path, dataset_dir, common, lenet_eval_flags):
    loss = train_image_classifier(**common(tmp_path, dataset_dir, max_number_of_steps=30))
    assert loss is not None and np.isfinite(loss)
    latest = ckpt.latest_checkpoint(tmp_path / "train")
    data = ckpt.read_checkpoint(latest)
    assert data.global_step == 30 and data.metadata["model_name"] == "lenet" and data.metadata["num_classes"] == 2
    counted = []
    import slim.classification.evaluation as evaluation_module

    original = evaluation_module.metrics.streaming_accuracy

    def counting_accuracy():
        metric = original()
        update = metric.update

        def counting_update(predictions, labels):
            counted.append(len(labels))
            return update(predictions, labels)

        metric.update = counting_update
        return metric

    evaluation_module.metrics.streaming_accuracy = counting_accuracy
    try:
        results = eval_image_classifier(
            **lenet_eval_flags(dataset_dir, tmp_path / "train", tmp_path / "eval", batch_size=3)
        )
    finally:
        evaluation_module.metrics.streaming_accuracy = original
    assert sum(counted) == 8 and counted == [3, 3, 2]  # every example once, the last batch smaller
    assert results["Accuracy"] >= 0.75 and results["Recall_5"] == 1.0


def test_resume_and_ignored_checkpoint_path(tmp_path, dataset_dir, common, caplog):
    train_image_classifier(**common(tmp_path, dataset_dir, max_number_of_steps=3))
    import logging

    with caplog.at_level(logging.INFO, logger="slim"):
        train_image_classifier(
            **common(tmp_path, dataset_dir, max_number_of_steps=5, checkpoint_path=str(tmp_path / "train"))
        )
    assert any(
        "Ignoring --checkpoint_path because a checkpoint already exists" in r.getMessage() for r in caplog.records
    )
    assert ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "train")).global_step == 5


def test_fine_tune_new_head_then_all_layers(tmp_path, dataset_dir, common):
    # The flowers recipe's two steps on a small net: new head from a checkpoint, then all layers.
    train_image_classifier(**common(tmp_path, dataset_dir, max_number_of_steps=2, train_dir=str(tmp_path / "base")))
    before = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "base")).tensors
    train_image_classifier(
        **common(
            tmp_path,
            dataset_dir,
            max_number_of_steps=3,
            train_dir=str(tmp_path / "head"),
            checkpoint_path=str(tmp_path / "base"),
            checkpoint_exclude_scopes="LeNet/fc4",
            trainable_scopes="LeNet/fc4",
        )
    )
    head = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "head")).tensors
    assert torch.equal(head["LeNet/conv1/weights"], before["LeNet/conv1/weights"])  # restored, frozen
    assert head["LeNet/fc4/weights"].shape == before["LeNet/fc4/weights"].shape
    train_image_classifier(
        **common(
            tmp_path,
            dataset_dir,
            max_number_of_steps=2,
            train_dir=str(tmp_path / "all"),
            checkpoint_path=str(tmp_path / "head"),
        )
    )
    everything = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "all")).tensors
    assert not torch.equal(everything["LeNet/conv1/weights"], head["LeNet/conv1/weights"])


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(optimizer="lamb"), r"Optimizer \[lamb\] was not recognized"),
        (dict(batch_size=-1), "--batch_size must be a positive number"),
        (dict(model_name="resnet_v3"), "Name of network unknown resnet_v3"),
        (dict(dataset_dir=None), "You must supply the dataset directory with --dataset_dir"),
        (dict(num_ps_tasks=2), "parameter servers have no equivalent"),
    ],
)
def test_bad_flags_fail_before_work(tmp_path, dataset_dir, common, bad, message):
    flags = common(tmp_path, dataset_dir, max_number_of_steps=1)
    flags.update(bad)
    with pytest.raises(ValueError, match=message):
        train_image_classifier(**flags)
    assert not (tmp_path / "train").exists() or not list((tmp_path / "train").iterdir())


def test_two_clones_on_cpu(tmp_path, dataset_dir, common):
    train_image_classifier(**common(tmp_path, dataset_dir, max_number_of_steps=4, num_clones=2, clone_on_cpu=True))
    data = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "train"))
    assert data.global_step == 4
