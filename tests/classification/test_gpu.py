"""The scripts and networks on a CUDA GPU (skipped where there is none: CI has no GPU; run on a GPU machine with
``python -m pytest tests/classification/test_gpu.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import slim
from slim.framework import checkpoint as ckpt
from slim.nets import nets_factory
from slim.scripts.eval_image_classifier import eval_image_classifier
from slim.scripts.train_image_classifier import train_image_classifier

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, two_class_dataset):
    return two_class_dataset(tmp_path_factory.mktemp("images"), 12, num_validation=6, num_shards=1)


@pytest.fixture()
def model_outputs():
    """(device, dtype) of every slim.Model forward pass's logits while the test runs."""
    seen = []

    def record(module, args, output):
        if isinstance(module, slim.Model):
            seen.append((output[0].device.type, output[0].dtype))

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    yield seen
    handle.remove()


@pytest.fixture()
def full_float32():
    """No TF32 in matrix products and convolutions while the test runs: GPU results comparable to the CPU's."""
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        yield
    torch.set_float32_matmul_precision(precision)


@pytest.mark.parametrize("name, size", [("resnet_v1_50", 64), ("inception_v3", 128), ("mobilenet_v2", 64)])
def test_networks_give_the_cpu_logits_on_the_gpu(name, size, full_float32):
    torch.manual_seed(0)
    model = nets_factory.get_network_fn(name, num_classes=10, is_training=False)
    model.build(torch.zeros(1, 3, size, size))
    with torch.no_grad():  # non-trivial statistics, so that equal logits mean equal batch-norm arithmetic
        for key, value in model.state_dict().items():
            if key.endswith(("moving_mean", "beta")):
                value.normal_(0, 0.1)
            elif key.endswith(("moving_variance", "gamma")):
                value.uniform_(0.5, 1.5)
    images = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected, _ = model(images)
        model.cuda()
        logits, end_points = model(images.cuda())
    assert all(value.device.type == "cuda" for value in end_points.values())
    torch.testing.assert_close(logits.cpu(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "options",
    [{}, {"mixed_precision": "bfloat16"}, {"mixed_precision": "float16"}, {"channels_last": True}, {"compile": True}],
    ids=["float32", "bfloat16", "float16", "channels_last", "compile"],
)
def test_train_and_evaluate_on_the_gpu(tmp_path, dataset_dir, model_outputs, lenet_flags, lenet_eval_flags, options):
    loss = train_image_classifier(
        **lenet_flags(dataset_dir, tmp_path / "train", batch_size=6, max_number_of_steps=30, **options)
    )
    assert loss is not None and np.isfinite(loss)
    expected_dtype = getattr(torch, options.get("mixed_precision") or "float32")
    assert set(model_outputs) == {("cuda", expected_dtype)}
    data = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "train"))
    assert data.global_step == 30 and all(torch.isfinite(value).all() for value in data.tensors.values())
    model_outputs.clear()
    results = eval_image_classifier(**lenet_eval_flags(dataset_dir, tmp_path / "train", tmp_path / "eval"))
    assert set(model_outputs) == {("cuda", torch.float32)}
    assert results["Accuracy"] >= 5 / 6


def test_inception_v3_trains_with_aux_logits_in_bfloat16_channels_last(tmp_path, dataset_dir, model_outputs):
    loss = train_image_classifier(
        dataset_name="image_folder",
        dataset_dir=dataset_dir,
        model_name="inception_v3",
        train_image_size=112,
        batch_size=4,
        num_readers=1,
        num_preprocessing_threads=0,
        max_number_of_steps=2,
        save_summaries_secs=0,
        mixed_precision="bfloat16",
        channels_last=True,
        train_dir=str(tmp_path / "train"),
    )
    assert loss is not None and np.isfinite(loss)
    assert set(model_outputs) == {("cuda", torch.bfloat16)}


def test_gpu_clones_need_one_gpu_each(tmp_path, dataset_dir):
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"--num_clones={count + 1} needs {count + 1} GPUs"):
        train_image_classifier(
            dataset_name="image_folder",
            dataset_dir=dataset_dir,
            model_name="lenet",
            num_clones=count + 1,
            max_number_of_steps=1,
            train_dir=str(tmp_path / "train"),
        )
