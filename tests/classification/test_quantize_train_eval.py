"""Quantization-aware training end to end: train_image_classifier --quantize_delay, eval_image_classifier --quantize,
export_inference_graph --quantize and freeze_graph, on lenet and a tiny image folder the test makes."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from slim import quantize
from slim.export import exporter
from slim.framework import checkpoint as ckpt
from slim.framework.restore import assign_from_checkpoint
from slim.framework.variables import get_variables_to_restore
from slim.scripts.eval_image_classifier import eval_image_classifier
from slim.scripts.export_inference_graph import export_inference_graph
from slim.scripts.freeze_graph import freeze_graph
from slim.scripts.train_image_classifier import train_image_classifier


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, two_class_dataset):
    """Two separable classes of 16x16 images (dark vs bright): 12 train and 4 validation images."""
    return two_class_dataset(tmp_path_factory.mktemp("qimages"), 8, num_validation=4, num_shards=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset_dir, lenet_flags):
    """A lenet trained 4 steps with quantize_delay=2: its train_dir."""
    train_dir = tmp_path_factory.mktemp("qtrain")
    loss = train_image_classifier(
        **lenet_flags(
            dataset_dir, train_dir, batch_size=4, log_every_n_steps=10, max_number_of_steps=4, quantize_delay=2
        )
    )
    assert loss is not None and np.isfinite(loss)
    return train_dir


def test_training_saves_the_quantization_state(trained):
    data = ckpt.read_checkpoint(ckpt.latest_checkpoint(trained))
    assert data.global_step == 4 and data.metadata["quantize_delay"] == 2
    assert int(data.tensors["fake_quantization_step"]) == 4  # one per training pass, as TF's counter
    for layer in ("LeNet/conv1", "LeNet/conv2", "LeNet/fc3", "LeNet/fc4"):
        assert float(data.tensors[f"{layer}/act_quant/min/local_step"]) == 4.0
        assert float(data.tensors[f"{layer}/weights_quant/max"]) > 0.0
        assert float(data.tensors[f"{layer}/act_quant/max"]) != 6.0  # moved away from TF's initial range


def test_evaluate_quantized_and_float(trained, dataset_dir, tmp_path, lenet_eval_flags):
    quantized = eval_image_classifier(
        **lenet_eval_flags(dataset_dir, trained, tmp_path / "q", batch_size=4, quantize=True)
    )
    floating = eval_image_classifier(**lenet_eval_flags(dataset_dir, trained, tmp_path / "f", batch_size=4))
    for results in (quantized, floating):
        assert set(results) == {"Accuracy", "Recall_5"} and 0.0 <= results["Accuracy"] <= 1.0


def test_export_and_freeze_quantized(trained, dataset_dir, tmp_path):
    paths = export_inference_graph(
        model_name="lenet",
        image_size=28,
        dataset_name="image_folder",
        dataset_dir=dataset_dir,
        quantize=True,
        output_file=str(tmp_path / "graph.onnx"),
    )
    spec = exporter.read_graph_spec(paths["onnx"])
    assert spec.quantize and spec.num_classes == 2
    ops = [node.op_type for node in onnx.load(paths["onnx"]).graph.node]
    assert ops.count("QuantizeLinear") >= 8 and ops.count("DequantizeLinear") >= 8  # 4 layers: weights + outputs

    checkpoint = ckpt.latest_checkpoint(trained)
    frozen = freeze_graph(
        input_graph=paths["onnx"], input_checkpoint=checkpoint, output_graph=str(tmp_path / "frozen.onnx")
    )  # verifies the frozen ONNX against the PyTorch model itself
    model = exporter.build_inference_model(spec)
    assert quantize.get_quantizer(model) is not None
    assign, feed = assign_from_checkpoint(checkpoint, get_variables_to_restore(model=model))
    assign(feed)
    x = torch.rand(3, 3, 28, 28) * 2 - 1
    with torch.no_grad():
        expected, _ = model(x)
    session = onnxruntime.InferenceSession(frozen["onnx"], providers=["CPUExecutionProvider"])
    _, logits = session.run(None, {"input": x.numpy()})
    # ONNX Runtime's convolutions sum in another order: a value next to a rounding boundary may land one level off,
    # so the quantized logits agree to one level of their range (TF and TFLite differ the same way).
    state = model.state_dict()
    scale, _, _, _ = quantize.nudged_quantization_params(
        state["LeNet/fc4/act_quant/min"], state["LeNet/fc4/act_quant/max"]
    )
    assert np.abs(logits - expected.numpy()).max() <= float(scale) * 1.01
    assert np.mean(np.abs(logits - expected.numpy()) < 1e-4) >= 0.5
    program = torch.export.load(frozen["program"])
    assert torch.allclose(program.module()(x)[1], expected, atol=1e-5)
