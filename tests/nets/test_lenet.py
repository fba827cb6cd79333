"""LeNet.

TF-Slim has no test file for lenet; these tests follow the pattern of its other network tests (build, end points,
no classes, variables, evaluation, train/eval with reuse) and check the numerics against real TensorFlow with
seeded weights (tests/fixtures/nets/classic_nets_fixture.npz, made by make_nets_fixtures.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import slim
from slim.nets import lenet, nets_factory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nets"
# End points at 28 x 28, NCHW without the batch dim (TF's [N, H, W, C] permuted).
END_POINT_SHAPES = {
    "conv1": (32, 28, 28),
    "pool1": (32, 14, 14),
    "conv2": (64, 14, 14),
    "pool2": (64, 7, 7),
    "Flatten": (3136,),
    "fc3": (1024,),
    "dropout3": (1024,),
    "Logits": (10,),
    "Predictions": (10,),
}


def load_fixture_module(name: str):
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(num_classes=10, shape=(1, 1, 28, 28), **kwargs) -> slim.Model:
    torch.manual_seed(0)
    model = slim.Model(lenet.lenet, arg_scope=lenet.lenet_arg_scope(), num_classes=num_classes, **kwargs)
    return model.build(torch.zeros(shape)).eval()


@torch.no_grad()
def test_build():
    logits, end_points = build()(torch.randn(2, 1, 28, 28))
    assert logits.shape == (2, 10)
    assert end_points["Logits"] is logits
    assert torch.allclose(end_points["Predictions"], torch.softmax(logits, dim=1))


@torch.no_grad()
def test_end_points():
    _, end_points = build()(torch.randn(2, 1, 28, 28))
    assert list(end_points) == list(END_POINT_SHAPES)
    assert {k: tuple(v.shape[1:]) for k, v in end_points.items()} == END_POINT_SHAPES


@torch.no_grad()
def test_no_classes():
    net, end_points = build(num_classes=0)(torch.randn(2, 1, 28, 28))
    assert net.shape == (2, 1024) and net is end_points["fc3"]
    assert not {"dropout3", "Logits", "Predictions"} & set(end_points)


@pytest.mark.parametrize("channels", [1, 3])
def test_model_variables(channels):
    model = build(num_classes=5, shape=(1, channels, 28, 28))
    expected = [f"LeNet/{layer}/{kind}" for layer in ("conv1", "conv2", "fc3", "fc4") for kind in ("weights", "biases")]
    assert model.store.names(slim.GraphKeys.MODEL_VARIABLES) == expected
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert shapes["LeNet/conv1/weights"] == (32, channels, 5, 5)
    assert shapes["LeNet/fc3/weights"] == (1024, 3136)
    assert shapes["LeNet/fc4/weights"] == (5, 1024)


def test_arg_scope_initializers_and_regularizers():
    model = build()
    state = model.state_dict()
    assert all(state[n].abs().max() <= 0.2 + 1e-7 for n in state if n.endswith("/weights"))  # trunc. normal 0.1
    assert model.regularization_losses() == []  # weight_decay 0.0 adds no regularization
    decayed = slim.Model(lenet.lenet, arg_scope=lenet.lenet_arg_scope(weight_decay=0.01))
    decayed.build(torch.zeros(1, 1, 28, 28))
    losses = dict(decayed.store.regularization_losses())
    assert len(losses) == 4  # conv1, conv2, fc3 and fc4 weights
    fc3 = decayed.state_dict()["LeNet/fc3/weights"]
    name = next(n for n in losses if n.startswith("LeNet/fc3/weights/"))
    assert torch.allclose(losses[name], 0.01 * fc3.square().sum() / 2)


@torch.no_grad()
def test_evaluation_and_dropout_follow_model_mode():
    model = build()
    x = torch.randn(2, 1, 28, 28)
    logits, _ = model(x, is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    assert torch.equal(model(x)[0], logits)  # eval mode: dropout3 is the identity
    model.train()
    first, second = model(x)[0], model(x)[0]
    assert not torch.equal(first, second)


@torch.no_grad()
def test_train_eval_with_reuse():
    def train_then_eval(images, eval_images):
        logits, _ = lenet.lenet(images, is_training=True)
        with slim.variable_scope(slim.get_variable_scope(), reuse=True):
            eval_logits, _ = lenet.lenet(eval_images, is_training=False)
        return logits, eval_logits

    train, evaluate = torch.randn(2, 1, 28, 28), torch.randn(1, 1, 28, 28)
    model = slim.Model(train_then_eval, arg_scope=lenet.lenet_arg_scope(), eval_images=evaluate)
    train_logits, eval_logits = model.build(train)(train)
    assert train_logits.shape == (2, 10) and eval_logits.shape == (1, 10)
    assert len(model.store.infos) == 8


@torch.no_grad()
def test_matches_real_tf():
    """End points from pool2 on equal TF's for the same seeded weights (the flatten is in TF's NHWC order)."""
    seeded = load_fixture_module("seeded_values")
    reference = np.load(FIXTURES / "classic_nets_fixture.npz")
    model = build(shape=(2, 1, 28, 28))
    infos = model.store.infos
    model.load_state_dict(
        {
            name: torch.from_numpy(seeded.variable_value_in_layout(name, value.shape, infos[name].layout))
            for name, value in model.state_dict().items()
        }
    )
    images = torch.from_numpy(seeded.images_nhwc("lenet", (2, 28, 28, 1))).permute(0, 3, 1, 2)
    _, end_points = model(images)
    for key in ("pool2", "Flatten", "fc3", "Logits", "Predictions"):
        ours = end_points[key]
        ours = ours.permute(0, 2, 3, 1) if ours.dim() == 4 else ours
        np.testing.assert_allclose(ours.numpy(), reference[f"lenet/{key}"], rtol=1e-4, atol=1e-5, err_msg=key)


def test_compile_without_graph_breaks_and_export():
    model = nets_factory.get_network_fn("lenet", num_classes=10)
    x = torch.randn(2, 1, 28, 28)
    model.build(x)
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    program = torch.export.export(model, (x,))
    y = torch.randn(2, 1, 28, 28)
    assert torch.allclose(program.module()(y)[0], model(y)[0], atol=1e-5)


def test_factory_registration():
    spec = nets_factory.get_network_spec("lenet")
    assert spec.fn is lenet.lenet and spec.arg_scope_fn is lenet.lenet_arg_scope
    assert spec.default_image_size == 28 == lenet.lenet.default_image_size
    assert spec.preprocessing == "lenet"
