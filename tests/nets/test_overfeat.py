"""OverFeat: TF-Slim's OverFeatTest (nets/overfeat_test.py) in NCHW.

Building OverFeat initializes ~146M weights, so one model is built per module and every test calls it with its own
arguments (the variables do not depend on the input size, ``spatial_squeeze`` or ``global_pool``).
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import nets_factory, overfeat

NUM_CLASSES = 1000
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]


def train_then_eval(images, eval_images=None, **kwargs):
    """OverFeatTest.testTrainEvalWithReuse's graph: a training net, then (optionally) an eval net reusing it."""
    logits, end_points = overfeat.overfeat(images, **kwargs)
    if eval_images is None:
        return logits, end_points
    with slim.variable_scope(slim.get_variable_scope(), reuse=True):
        eval_logits, _ = overfeat.overfeat(eval_images, is_training=False, spatial_squeeze=False)
    return logits, eval_logits


# Building the network (initializing its >100M weights) takes most of this module's time.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests only look at outputs, and the big activations would cost time and memory."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = slim.Model(train_then_eval, arg_scope=overfeat.overfeat_arg_scope(), num_classes=NUM_CLASSES)
    net.build(torch.zeros(1, 3, 231, 231))
    net.eval()
    return net


def test_build(model):
    logits, end_points = model(torch.randn(2, 3, 231, 231))
    assert logits.shape == (2, NUM_CLASSES)
    assert end_points["overfeat/fc8"] is logits  # the squeezed logits (TF: overfeat/fc8/squeezed)


def test_fully_convolutional(model):
    logits, _ = model(torch.randn(1, 3, 281, 281), spatial_squeeze=False)
    assert logits.shape == (1, NUM_CLASSES, 2, 2)


def test_global_pool(model):
    logits, end_points = model(torch.randn(1, 3, 281, 281), spatial_squeeze=False, global_pool=True)
    assert logits.shape == (1, NUM_CLASSES, 1, 1)
    fc7 = end_points["overfeat/fc7"]
    assert fc7.shape == (1, 4096, 2, 2)
    assert torch.allclose(end_points["global_pool"], fc7.mean(dim=[2, 3], keepdim=True))


def test_end_points(model):
    _, end_points = model(torch.randn(1, 3, 231, 231))
    expected = [f"overfeat/{n}" for n in ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]]
    expected += ["overfeat/fc6", "overfeat/fc7", "overfeat/fc8"]
    assert sorted(end_points) == sorted(expected)
    # Shapes at 231 x 231 (TF's [N, H, W, C] permuted to NCHW).
    assert end_points["overfeat/conv1"].shape == (1, 64, 56, 56)
    assert end_points["overfeat/conv2"].shape == (1, 256, 24, 24)
    assert end_points["overfeat/pool5"].shape == (1, 1024, 6, 6)
    assert end_points["overfeat/fc6"].shape == (1, 3072, 1, 1)


def test_no_classes(model):
    net, end_points = model(torch.randn(2, 3, 231, 231), num_classes=None)
    assert net.shape == (2, 4096, 1, 1)
    assert net is end_points["overfeat/fc7"]
    assert "overfeat/fc8" not in end_points


def test_model_variables(model):
    expected = [f"overfeat/{layer}/{kind}" for layer in LAYERS for kind in ("weights", "biases")]
    assert sorted(model.store.names(slim.GraphKeys.MODEL_VARIABLES)) == sorted(expected)
    assert tuple(model.state_dict()["overfeat/fc6/weights"].shape) == (3072, 1024, 6, 6)


def test_arg_scope_initializers_and_regularizers(model):
    state = model.state_dict()
    for layer in ["conv1", "conv5"]:
        assert torch.all(state[f"overfeat/{layer}/biases"] == 0.0), layer  # overfeat_arg_scope: zero biases
    for layer in ["fc6", "fc7"]:
        assert torch.all(state[f"overfeat/{layer}/biases"] == 0.1), layer  # the net's fc arg scope
    assert torch.all(state["overfeat/fc8/biases"] == 0.0)
    assert state["overfeat/fc7/weights"].abs().max() <= 0.01 + 1e-7  # truncated normal, stddev 0.005
    assert len(model.store.regularization_losses()) == len(LAYERS)


def test_evaluation(model):
    logits, _ = model(torch.randn(2, 3, 231, 231), is_training=False)
    assert logits.argmax(dim=1).shape == (2,)


def test_train_eval_with_reuse(model):
    train_logits, eval_logits = model(
        torch.randn(2, 3, 231, 231), eval_images=torch.randn(1, 3, 281, 281), is_training=True
    )
    assert train_logits.shape == (2, NUM_CLASSES)
    assert eval_logits.shape == (1, NUM_CLASSES, 2, 2)
    assert eval_logits.mean(dim=[2, 3]).argmax(dim=1).shape == (1,)
    assert len(model.store.infos) == 16  # the eval net created nothing


def test_forward(model):
    logits, _ = model(torch.randn(1, 3, 231, 231))
    assert torch.isfinite(logits).all()


def test_factory_registration():
    spec = nets_factory.get_network_spec("overfeat")
    assert spec.fn is overfeat.overfeat and spec.arg_scope_fn is overfeat.overfeat_arg_scope
    assert spec.default_image_size == 231 == overfeat.overfeat.default_image_size
    assert spec.preprocessing == "vgg"  # TF-Slim has none for overfeat; see the comment at the registration
