"""train_image_classifier's options beyond the basic run: moving averages, mixed precision, channels_last,
torch.compile, and quantization-aware training on two clones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import slim
from slim import learning
from slim.framework import checkpoint as ckpt
from slim.scripts.eval_image_classifier import eval_image_classifier
from slim.scripts.train_image_classifier import train_image_classifier


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, two_class_dataset):
    return two_class_dataset(tmp_path_factory.mktemp("images"), 12, num_validation=6, num_shards=1)


@pytest.fixture()
def trained(lenet_flags):
    """``trained(tmp_path, dataset_dir, name, **flags)``: trains 3 steps of 6 images (on the CPU even where a GPU is
    present: exact comparisons between runs) and returns the final checkpoint."""

    def train(tmp_path, dataset_dir, name="train", **overrides):
        values = dict(batch_size=6, max_number_of_steps=3, clone_on_cpu=True)
        values.update(overrides)
        loss = train_image_classifier(**lenet_flags(dataset_dir, tmp_path / name, **values))
        if overrides.get("num_clones", 1) == 1:  # spawned clones report their losses in their own processes
            assert loss is not None and np.isfinite(loss)
        return ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / name))

    return train


def model_tensors(data) -> dict[str, torch.Tensor]:
    return {k: v for k, v in data.tensors.items() if k.startswith("LeNet/") and "ExponentialMovingAverage" not in k}


def test_moving_average_decay_saves_shadows_that_evaluation_restores(
    tmp_path, dataset_dir, trained, lenet_eval_flags, monkeypatch
):
    data = trained(tmp_path, dataset_dir, moving_average_decay=0.5)
    weights = data.tensors["LeNet/conv1/weights"]
    shadow = data.tensors["LeNet/conv1/weights/ExponentialMovingAverage"]  # TF's name for the shadow variable
    assert shadow.shape == weights.shape and not torch.equal(shadow, weights)
    restored = {}
    import slim.classification.evaluation as evaluation_module

    original = evaluation_module._variables_to_restore

    def spy(model, decay):
        mapping = original(model, decay)
        restored["mapping"] = mapping
        restored["model"] = model
        return mapping

    monkeypatch.setattr(evaluation_module, "_variables_to_restore", spy)
    eval_image_classifier(
        **lenet_eval_flags(dataset_dir, tmp_path / "train", tmp_path / "eval", moving_average_decay=0.5)
    )
    assert "LeNet/conv1/weights/ExponentialMovingAverage" in restored["mapping"]
    conv1 = restored["model"].state_dict()["LeNet/conv1/weights"].cpu()  # (evaluation runs on a GPU if present)
    assert torch.equal(conv1, shadow)  # the model evaluated the averages, not the last weights
    eval_image_classifier(**lenet_eval_flags(dataset_dir, tmp_path / "train", tmp_path / "eval_raw"))
    assert torch.equal(restored["model"].state_dict()["LeNet/conv1/weights"].cpu(), weights)


def test_channels_last_trains_the_same_weights(tmp_path, dataset_dir, trained):
    reference = model_tensors(trained(tmp_path, dataset_dir, "reference"))
    other = model_tensors(trained(tmp_path, dataset_dir, "channels_last", channels_last=True))
    for name, value in reference.items():
        torch.testing.assert_close(other[name], value, rtol=1e-5, atol=1e-6)


def test_compile_trains_the_same_weights(tmp_path, dataset_dir, trained):
    import torch._inductor.config

    reference = model_tensors(trained(tmp_path, dataset_dir, "reference", max_number_of_steps=2))
    # Inductor draws dropout masks with its own generator unless told to use eager's: same masks, same weights.
    # (config.patch, not monkeypatch: undoing a monkeypatch deletes the option from inductor's config.)
    with torch._inductor.config.patch(fallback_random=True):
        # Summaries on the first step: its graph returns every end point, the next one only what the loss needs.
        other = model_tensors(
            trained(tmp_path, dataset_dir, "compiled", max_number_of_steps=2, compile=True, save_summaries_secs=600)
        )
    for name, value in reference.items():
        torch.testing.assert_close(other[name], value, rtol=1e-4, atol=1e-5)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "compiled"), size_guidance={"histograms": 0}).Reload()
    assert "activations/conv1" in events.Tags()["histograms"]  # recorded from the full set of end points


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_computes_in_low_precision_and_learns(
    tmp_path, dataset_dir, trained, lenet_eval_flags, monkeypatch, dtype
):
    scalers, logits_dtypes = [], []
    original = learning.create_train_op

    def spy(*args, **kwargs):
        scalers.append(kwargs.get("loss_scaler"))
        return original(*args, **kwargs)

    def record_logits_dtype(module, args, output):
        if isinstance(module, slim.Model):
            logits_dtypes.append(output[0].dtype)

    monkeypatch.setattr(learning, "create_train_op", spy)
    handle = torch.nn.modules.module.register_module_forward_hook(record_logits_dtype)
    try:
        data = trained(tmp_path, dataset_dir, dtype, mixed_precision=dtype, max_number_of_steps=30)
    finally:
        handle.remove()
    assert set(logits_dtypes) == {getattr(torch, dtype)}  # the network ran under autocast
    assert (scalers[0] is not None) == (dtype == "float16")  # dynamic loss scaling for float16 only
    assert all(value.dtype == torch.float32 for value in model_tensors(data).values())  # float32 master weights
    results = eval_image_classifier(**lenet_eval_flags(dataset_dir, tmp_path / dtype, tmp_path / "eval"))
    assert results["Accuracy"] >= 5 / 6  # two easily separable classes: learnt in low precision too


def test_quantization_aware_training_on_two_clones(tmp_path, dataset_dir, trained):
    data = trained(tmp_path, dataset_dir, quantize_delay=1, num_clones=2, clone_on_cpu=True)
    assert data.global_step == 3 and data.metadata["quantize_delay"] == 1
    assert int(data.tensors["fake_quantization_step"]) == 3  # TF's counter of training passes
    assert float(data.tensors["LeNet/conv1/act_quant/max/local_step"]) == 3.0
    assert float(data.tensors["LeNet/conv1/weights_quant/max"]) > 0.0


def test_quantization_aware_training_compiled(tmp_path, dataset_dir, trained):
    data = trained(tmp_path, dataset_dir, quantize_delay=1, compile=True)
    assert int(data.tensors["fake_quantization_step"]) == 3  # the counters advance inside the compiled graph too
    assert float(data.tensors["LeNet/conv1/act_quant/max/local_step"]) == 3.0
    assert float(data.tensors["LeNet/conv1/act_quant/max"]) != 6.0  # the range moved from TF's initial value
