"""CifarNet and TF's local response normalization.

TF-Slim has no test file for cifarnet; these tests follow the pattern of its other network tests (build, end points,
no classes, variables, evaluation, train/eval with reuse) and check the numerics against real TensorFlow:
``tf.nn.lrn`` on its own (tests/fixtures/nets/lrn_fixture.npz) and the whole network with seeded weights
(classic_nets_fixture.npz), both made by tests/fixtures/nets/make_nets_fixtures.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import slim
from slim.nets import cifarnet, nets_factory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nets"
LRN = np.load(FIXTURES / "lrn_fixture.npz")
LRN_CASES = sorted({key.split("/")[0] for key in LRN.files})
NETS = np.load(FIXTURES / "classic_nets_fixture.npz")
# End points at 32 x 32, NCHW without the batch dim (TF's [N, H, W, C] permuted).
END_POINT_SHAPES = {
    "conv1": (64, 32, 32),
    "pool1": (64, 16, 16),
    "conv2": (64, 16, 16),
    "pool2": (64, 8, 8),
    "Flatten": (4096,),
    "fc3": (384,),
    "fc4": (192,),
    "Logits": (10,),
    "Predictions": (10,),
}


def load_fixture_module(name: str):
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(num_classes=10, shape=(1, 3, 32, 32), fn=cifarnet.cifarnet, **kwargs) -> slim.Model:
    torch.manual_seed(0)
    model = slim.Model(fn, arg_scope=cifarnet.cifarnet_arg_scope(), num_classes=num_classes, **kwargs)
    return model.build(torch.zeros(shape)).eval()


# --- local response normalization --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", LRN_CASES)
def test_local_response_normalization_matches_tf(case):
    radius, bias, alpha, beta = LRN[f"{case}/params"]
    x = torch.from_numpy(LRN[f"{case}/input"]).permute(0, 3, 1, 2)
    ours = cifarnet.local_response_normalization(x, int(radius), bias=bias, alpha=alpha, beta=beta)
    np.testing.assert_allclose(ours.permute(0, 2, 3, 1).numpy(), LRN[f"{case}/output"], rtol=1e-5, atol=1e-6)


def test_local_response_normalization_worked_example():
    # One pixel, channels [1, 2, 3], depth_radius 1, bias 1, alpha 1, beta 1: the window sums of squares are
    # 1+4=5, 1+4+9=14, 4+9=13, so the outputs are 1/6, 2/15 and 3/14.
    x = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    out = cifarnet.local_response_normalization(x, 1, bias=1.0, alpha=1.0, beta=1.0)
    assert torch.allclose(out.flatten(), torch.tensor([1 / 6, 2 / 15, 3 / 14]))


def test_local_response_normalization_is_torch_lrn_with_alpha_times_window():
    # torch divides the window sum by its size n = 2r+1; TF does not. So TF's alpha equals torch's alpha / n.
    x = torch.randn(2, 11, 3, 4) * 5
    ours = cifarnet.local_response_normalization(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)
    theirs = F.local_response_norm(x, size=9, alpha=0.001 / 9.0 * 9, beta=0.75, k=1.0)
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours, F.local_response_norm(x, size=9, alpha=0.001 / 9.0, beta=0.75, k=1.0))


def test_local_response_normalization_rejects_bad_arguments():
    with pytest.raises(ValueError, match="inputs must be 4-D"):
        cifarnet.local_response_normalization(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="depth_radius must be >= 0"):
        cifarnet.local_response_normalization(torch.zeros(1, 3, 2, 2), -1)


# --- the network ------------------------------------------------------------------------------------------------------


@torch.no_grad()
def test_build():
    logits, end_points = build()(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    assert end_points["Logits"] is logits
    assert torch.allclose(end_points["Predictions"], torch.softmax(logits, dim=1))


@torch.no_grad()
def test_end_points():
    _, end_points = build()(torch.randn(2, 3, 32, 32))
    assert list(end_points) == list(END_POINT_SHAPES)
    assert {k: tuple(v.shape[1:]) for k, v in end_points.items()} == END_POINT_SHAPES


@torch.no_grad()
def test_no_classes():
    net, end_points = build(num_classes=None)(torch.randn(2, 3, 32, 32))
    assert net.shape == (2, 192) and net is end_points["fc4"]
    assert "Logits" not in end_points and "Predictions" not in end_points


def test_model_variables():
    model = build(num_classes=7)
    expected = [f"CifarNet/{layer}/{kind}" for layer in ("conv1", "conv2", "fc3", "fc4", "logits") for kind in "wb"]
    expected = [n[:-1] + ("weights" if n.endswith("/w") else "biases") for n in expected]
    assert model.store.names(slim.GraphKeys.MODEL_VARIABLES) == expected
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert shapes["CifarNet/conv1/weights"] == (64, 3, 5, 5)  # TF [5, 5, 3, 64] in OIHW
    assert shapes["CifarNet/fc3/weights"] == (384, 4096)  # TF [4096, 384] as [out, in]
    assert shapes["CifarNet/logits/weights"] == (7, 192)


def test_arg_scope_initializers_and_regularizers():
    model = build()
    state = model.state_dict()
    assert torch.all(state["CifarNet/fc3/biases"] == 0.1) and torch.all(state["CifarNet/fc4/biases"] == 0.1)
    assert torch.all(state["CifarNet/logits/biases"] == 0.0)
    assert torch.all(state["CifarNet/conv1/biases"] == 0.0)  # conv2d's own default
    # Truncated normals (|w| <= 2 stddev): conv 0.05, fc 0.04, logits 1/192.
    assert state["CifarNet/conv2/weights"].abs().max() <= 0.1 + 1e-7
    assert state["CifarNet/fc3/weights"].abs().max() <= 0.08 + 1e-7
    assert state["CifarNet/logits/weights"].abs().max() <= 2 / 192 + 1e-7
    losses = dict(model.store.regularization_losses())
    assert sorted(name.split("/Regularizer")[0] for name in losses) == ["CifarNet/fc3/weights", "CifarNet/fc4/weights"]
    fc4 = state["CifarNet/fc4/weights"]
    name = next(n for n in losses if n.startswith("CifarNet/fc4/"))
    assert torch.allclose(losses[name], 0.004 * fc4.square().sum() / 2)


@torch.no_grad()
def test_evaluation_and_dropout_follow_model_mode():
    model = build()
    x = torch.randn(2, 3, 32, 32)
    logits, _ = model(x, is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    assert torch.equal(model(x)[0], logits)  # eval mode: dropout3 is the identity
    model.train()
    first, second = model(x)[0], model(x)[0]
    assert not torch.equal(first, second)


@torch.no_grad()
def test_train_eval_with_reuse():
    def train_then_eval(images, eval_images):
        logits, _ = cifarnet.cifarnet(images, is_training=True)
        with slim.variable_scope(slim.get_variable_scope(), reuse=True):
            eval_logits, _ = cifarnet.cifarnet(eval_images, is_training=False)
        return logits, eval_logits

    pair = (torch.randn(2, 3, 32, 32), torch.randn(1, 3, 32, 32))
    model = slim.Model(train_then_eval, arg_scope=cifarnet.cifarnet_arg_scope(), eval_images=pair[1])
    train_logits, eval_logits = model.build(pair[0])(pair[0])
    assert train_logits.shape == (2, 10) and eval_logits.shape == (1, 10)
    assert len(model.store.infos) == 10


@torch.no_grad()
def test_matches_real_tf():
    """Every end point after conv2 equals TF's for the same seeded weights (both LRNs and the NHWC flatten)."""
    seeded = load_fixture_module("seeded_values")
    model = build(shape=(2, 3, 32, 32))
    infos = model.store.infos
    model.load_state_dict(
        {
            name: torch.from_numpy(seeded.variable_value_in_layout(name, value.shape, infos[name].layout))
            for name, value in model.state_dict().items()
        }
    )
    images = torch.from_numpy(seeded.images_nhwc("cifarnet", (2, 32, 32, 3))).permute(0, 3, 1, 2)
    logits, end_points = model(images)
    for key in ("pool2", "Flatten", "fc3", "fc4", "Logits", "Predictions"):
        ours = end_points[key]
        ours = ours.permute(0, 2, 3, 1) if ours.dim() == 4 else ours
        np.testing.assert_allclose(ours.numpy(), NETS[f"cifarnet/{key}"], rtol=1e-4, atol=1e-5, err_msg=key)


@torch.no_grad()
def test_flatten_uses_tf_channels_last_order():
    _, end_points = build()(torch.randn(1, 3, 32, 32))
    assert torch.equal(end_points["Flatten"], end_points["pool2"].permute(0, 2, 3, 1).reshape(1, -1))


def test_compile_without_graph_breaks_and_export():
    model = nets_factory.get_network_fn("cifarnet", num_classes=10)
    x = torch.randn(2, 3, 32, 32)
    model.build(x)
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    program = torch.export.export(model, (x,))
    y = torch.randn(2, 3, 32, 32)
    assert torch.allclose(program.module()(y)[0], model(y)[0], atol=1e-5)


def test_factory_registration():
    spec = nets_factory.get_network_spec("cifarnet")
    assert spec.fn is cifarnet.cifarnet and spec.arg_scope_fn is cifarnet.cifarnet_arg_scope
    assert spec.default_image_size == 32 == cifarnet.cifarnet.default_image_size
    assert spec.preprocessing == "cifarnet"
