"""AlexNet v2: TF-Slim's AlexnetV2Test (nets/alexnet_test.py) in NCHW, plus numerics against real TF-Slim.

Building AlexNet initializes ~50M weights, so one model is built per module and every test calls it with its own
arguments (the variables do not depend on the input size, ``spatial_squeeze`` or ``global_pool``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import slim
from slim.nets import alexnet, nets_factory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nets"
NUM_CLASSES = 1000
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]


def load_fixture_module(name: str):
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_then_eval(images, eval_images=None, **kwargs):
    """AlexnetV2Test.testTrainEvalWithReuse's graph: a training net, then (optionally) an eval net reusing it."""
    logits, end_points = alexnet.alexnet_v2(images, **kwargs)
    if eval_images is None:
        return logits, end_points
    with slim.variable_scope(slim.get_variable_scope(), reuse=True):
        eval_logits, _ = alexnet.alexnet_v2(eval_images, is_training=False, spatial_squeeze=False)
    return logits, eval_logits


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests only look at outputs, and the big activations would cost time and memory."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = slim.Model(train_then_eval, arg_scope=alexnet.alexnet_v2_arg_scope(), num_classes=NUM_CLASSES)
    net.build(torch.zeros(1, 3, 224, 224))
    net.eval()
    return net


def test_build(model):
    logits, end_points = model(torch.randn(2, 3, 224, 224))
    assert logits.shape == (2, NUM_CLASSES)
    assert end_points["alexnet_v2/fc8"] is logits  # the squeezed logits (TF: alexnet_v2/fc8/squeezed)


def test_fully_convolutional(model):
    logits, end_points = model(torch.randn(1, 3, 300, 400), spatial_squeeze=False)
    assert logits.shape == (1, NUM_CLASSES, 4, 7)
    assert end_points["alexnet_v2/fc8"].shape == (1, NUM_CLASSES, 4, 7)


def test_global_pool(model):
    logits, end_points = model(torch.randn(1, 3, 256, 256), spatial_squeeze=False, global_pool=True)
    assert logits.shape == (1, NUM_CLASSES, 1, 1)
    assert end_points["global_pool"].shape == (1, 4096, 1, 1)


def test_global_pool_non_square_input_averages_fc7(model):
    # 300 x 400 gives a 4 x 7 fc7 map; global_pool must equal its mean.
    _, end_points = model(torch.randn(1, 3, 300, 400), spatial_squeeze=False, global_pool=True)
    fc7 = end_points["alexnet_v2/fc7"]
    assert fc7.shape == (1, 4096, 4, 7)
    assert torch.allclose(end_points["global_pool"], fc7.mean(dim=[2, 3], keepdim=True))


def test_end_points(model):
    _, end_points = model(torch.randn(1, 3, 224, 224))
    expected = [f"alexnet_v2/{n}" for n in ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]]
    expected += ["alexnet_v2/fc6", "alexnet_v2/fc7", "alexnet_v2/fc8"]
    assert sorted(end_points) == sorted(expected)
    # Shapes at 224 x 224 (TF's [N, H, W, C] permuted to NCHW).
    assert end_points["alexnet_v2/conv1"].shape == (1, 64, 54, 54)
    assert end_points["alexnet_v2/pool5"].shape == (1, 256, 5, 5)
    assert end_points["alexnet_v2/fc6"].shape == (1, 4096, 1, 1)


def test_no_classes(model):
    net, end_points = model(torch.randn(2, 3, 224, 224), num_classes=None)
    assert net.shape == (2, 4096, 1, 1)
    assert net is end_points["alexnet_v2/fc7"]
    assert "alexnet_v2/fc8" not in end_points
    net0, _ = model(torch.randn(1, 3, 224, 224), num_classes=0)
    assert net0.shape == (1, 4096, 1, 1)


def test_no_classes_has_no_dropout7_in_training(model):
    # Without classes the net ends at fc7: training mode (dropout active) must return fc7 itself, not dropout7.
    model.train()
    try:
        net, end_points = model(torch.randn(1, 3, 224, 224), num_classes=None)
    finally:
        model.eval()
    assert net is end_points["alexnet_v2/fc7"]


def test_model_variables(model):
    expected = [f"alexnet_v2/{layer}/{kind}" for layer in LAYERS for kind in ("weights", "biases")]
    assert sorted(model.store.names(slim.GraphKeys.MODEL_VARIABLES)) == sorted(expected)
    assert len(expected) == 16


def test_arg_scope_initializers_and_regularizers(model):
    state = model.state_dict()
    for layer in ["conv1", "conv5", "fc6", "fc7"]:
        assert torch.all(state[f"alexnet_v2/{layer}/biases"] == 0.1), layer
    assert torch.all(state["alexnet_v2/fc8/biases"] == 0.0)
    # fc6/fc7/fc8 weights: truncated normal with stddev 0.005 (|w| <= 2 stddev).
    fc6 = state["alexnet_v2/fc6/weights"]
    assert fc6.abs().max() <= 0.01 + 1e-7
    assert abs(fc6.std().item() - 0.005 * 0.8796) < 2e-4  # std of a normal truncated at 2 sigma: 0.8796 sigma
    losses = dict(model.store.regularization_losses())
    assert len(losses) == len(LAYERS)  # every weight, no bias
    conv3 = state["alexnet_v2/conv3/weights"]
    name = next(n for n in losses if n.startswith("alexnet_v2/conv3/weights/"))
    assert torch.allclose(losses[name], 0.0005 * conv3.square().sum() / 2)


def test_evaluation(model):
    logits, _ = model(torch.randn(2, 3, 224, 224), is_training=False)
    predictions = logits.argmax(dim=1)
    assert predictions.shape == (2,)


def test_train_eval_with_reuse(model):
    train_logits, eval_logits = model(
        torch.randn(2, 3, 224, 224), eval_images=torch.randn(1, 3, 300, 400), is_training=True
    )
    assert train_logits.shape == (2, NUM_CLASSES)
    assert eval_logits.shape == (1, NUM_CLASSES, 4, 7)
    predictions = eval_logits.mean(dim=[2, 3]).argmax(dim=1)
    assert predictions.shape == (1,)
    assert len(model.store.infos) == 16  # the eval net created nothing


def test_forward(model):
    logits, _ = model(torch.randn(1, 3, 224, 224))
    assert torch.isfinite(logits).all()


def test_dropout_follows_model_mode(model):
    x = torch.randn(1, 3, 224, 224)
    assert torch.equal(model(x)[0], model(x)[0])  # eval: deterministic
    model.train()
    try:
        torch.manual_seed(1)
        first = model(x)[0]
        second = model(x)[0]
    finally:
        model.eval()
    assert not torch.equal(first, second)


def test_factory_registration():
    spec = nets_factory.get_network_spec("alexnet_v2")
    assert spec.fn is alexnet.alexnet_v2 and spec.arg_scope_fn is alexnet.alexnet_v2_arg_scope
    assert spec.default_image_size == 224 == alexnet.alexnet_v2.default_image_size
    assert spec.preprocessing == "vgg"  # TF-Slim has none for alexnet_v2; see the comment at the registration
    network_fn = nets_factory.get_network_fn("alexnet_v2", num_classes=10)
    assert network_fn.default_image_size == 224 and not network_fn.training


def test_matches_real_tf_slim(model):
    """Logits and end points equal tf_slim.nets.alexnet's for the same seeded weights and images (fixture script)."""
    seeded = load_fixture_module("seeded_values")
    reference = np.load(FIXTURES / "classic_nets_fixture.npz")
    saved = {name: value.clone() for name, value in model.state_dict().items()}
    try:
        infos = model.store.infos
        state = {
            name: torch.from_numpy(seeded.variable_value_in_layout(name, value.shape, infos[name].layout))
            for name, value in saved.items()
        }
        model.load_state_dict(state)
        images = torch.from_numpy(seeded.images_nhwc("alexnet_v2", (1, 224, 224, 3))).permute(0, 3, 1, 2)
        logits, end_points = model(images)
    finally:
        model.load_state_dict(saved)
    np.testing.assert_allclose(logits.numpy(), reference["alexnet_v2/Logits"], rtol=1e-4, atol=1e-4)
    conv1_corner = end_points["alexnet_v2/conv1"][:, :, :8, :8].permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(conv1_corner, reference["alexnet_v2/alexnet_v2/conv1"], rtol=1e-4, atol=1e-5)
    for key in ["alexnet_v2/pool5", "alexnet_v2/fc7"]:
        ours = end_points[key].permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(ours, reference[f"alexnet_v2/{key}"], rtol=1e-4, atol=1e-4, err_msg=key)
