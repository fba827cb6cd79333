"""VGG a/16/19: TF-Slim's VGGATest, VGG16Test and VGG19Test (nets/vgg_test.py) in NCHW.

Building a VGG initializes 130-145M weights, so each variant is built once per module (lazily) and every test calls
it with its own arguments (the variables do not depend on the input size, ``spatial_squeeze`` or ``global_pool``).
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import nets_factory, vgg

NUM_CLASSES = 1000
VARIANTS = ["vgg_a", "vgg_16", "vgg_19"]
# Convolutions per stage, as VGG's paper gives them (configurations A, D, E).
CONVS_PER_STAGE = {"vgg_a": [1, 1, 2, 2, 2], "vgg_16": [2, 2, 3, 3, 3], "vgg_19": [2, 2, 4, 4, 4]}


def expected_end_points(name: str) -> list[str]:
    names = []
    for stage, count in enumerate(CONVS_PER_STAGE[name], start=1):
        names += [f"{name}/conv{stage}/conv{stage}_{i}" for i in range(1, count + 1)]
        names.append(f"{name}/pool{stage}")
    return names + [f"{name}/fc6", f"{name}/fc7", f"{name}/fc8"]


def train_then_eval(images, eval_images=None, network=None, **kwargs):
    """VGG16Test.testTrainEvalWithReuse's graph: a training net, then (optionally) an eval net reusing it."""
    logits, end_points = network(images, **kwargs)
    if eval_images is None:
        return logits, end_points
    eval_logits, _ = network(eval_images, is_training=False, spatial_squeeze=False, reuse=True)
    return logits, eval_logits


# Building the network (initializing its >100M weights) takes most of this module's time.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests only look at outputs, and the big activations would cost time and memory."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def models():
    built = {}

    def get(name: str) -> slim.Model:
        if name not in built:
            torch.manual_seed(0)
            network = getattr(vgg, name)
            model = slim.Model(train_then_eval, arg_scope=vgg.vgg_arg_scope(), network=network, num_classes=NUM_CLASSES)
            built[name] = model.build(torch.zeros(1, 3, 224, 224)).eval()
        return built[name]

    return get


@pytest.mark.parametrize("name", VARIANTS)
def test_build_and_end_points(models, name):
    logits, end_points = models(name)(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points[f"{name}/fc8"] is logits  # the squeezed logits (TF: <name>/fc8/squeezed)
    assert list(end_points) == expected_end_points(name)
    assert len(end_points) == {"vgg_a": 16, "vgg_16": 21, "vgg_19": 24}[name]
    # Shapes at 224 x 224 (TF's [N, H, W, C] permuted to NCHW).
    assert end_points[f"{name}/conv1/conv1_1"].shape == (1, 64, 224, 224)
    assert end_points[f"{name}/pool3"].shape == (1, 256, 28, 28)
    assert end_points[f"{name}/pool5"].shape == (1, 512, 7, 7)
    assert end_points[f"{name}/fc7"].shape == (1, 4096, 1, 1)


@pytest.mark.parametrize("name", VARIANTS)
def test_model_variables(models, name):
    expected = []
    for stage, count in enumerate(CONVS_PER_STAGE[name], start=1):
        expected += [f"{name}/conv{stage}/conv{stage}_{i}/{kind}" for i in range(1, count + 1) for kind in "wb"]
    expected += [f"{name}/fc{i}/{kind}" for i in (6, 7, 8) for kind in "wb"]
    expected = [n[:-1] + ("weights" if n.endswith("/w") else "biases") for n in expected]
    names = models(name).store.names(slim.GraphKeys.MODEL_VARIABLES)
    assert sorted(names) == sorted(expected)
    assert len(names) == {"vgg_a": 22, "vgg_16": 32, "vgg_19": 38}[name]


@pytest.mark.parametrize("name", VARIANTS)
def test_fully_convolutional_global_pool(models, name):
    # 256 x 256: pool5 is 8 x 8, so the VALID 7 x 7 fc6 gives a 2 x 2 map, which global_pool averages.
    logits, end_points = models(name)(torch.randn(1, 3, 256, 256), spatial_squeeze=False, global_pool=True)
    assert logits.shape == (1, NUM_CLASSES, 1, 1)
    fc7 = end_points[f"{name}/fc7"]
    assert fc7.shape == (1, 4096, 2, 2)
    assert torch.allclose(end_points["global_pool"], fc7.mean(dim=[2, 3], keepdim=True), atol=1e-6)


def test_fully_convolutional(models):
    logits, _ = models("vgg_16")(torch.randn(1, 3, 256, 256), spatial_squeeze=False)
    assert logits.shape == (1, NUM_CLASSES, 2, 2)


def test_no_classes(models):
    net, end_points = models("vgg_16")(torch.randn(1, 3, 224, 224), num_classes=None)
    assert net.shape == (1, 4096, 1, 1)
    assert net is end_points["vgg_16/fc7"]
    assert "vgg_16/fc8" not in end_points


def test_evaluation(models):
    logits, _ = models("vgg_16")(torch.randn(2, 3, 224, 224), is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    assert torch.isfinite(logits).all()  # VGG16Test.testForward


def test_train_eval_with_reuse(models):
    model = models("vgg_16")
    train_logits, eval_logits = model(
        torch.randn(1, 3, 224, 224), eval_images=torch.randn(1, 3, 256, 256), is_training=True
    )
    assert train_logits.shape == (1, NUM_CLASSES)
    assert eval_logits.shape == (1, NUM_CLASSES, 2, 2)
    assert eval_logits.mean(dim=[2, 3]).argmax(dim=1).shape == (1,)
    assert len(model.store.infos) == 32  # the eval net created nothing


def test_fc_conv_padding_same_keeps_the_spatial_size(models):
    # fc6 with SAME padding on pool5's 2 x 2 map (64 x 64 input) keeps 2 x 2 through fc8.
    logits, end_points = models("vgg_a")(torch.randn(1, 3, 64, 64), fc_conv_padding="SAME", spatial_squeeze=False)
    assert end_points["vgg_a/pool5"].shape == (1, 512, 2, 2)
    assert logits.shape == (1, NUM_CLASSES, 2, 2)


def test_arg_scope_biases_and_regularizers(models):
    model = models("vgg_a")
    state = model.state_dict()
    assert all(torch.all(state[n] == 0.0) for n in state if n.endswith("/biases"))
    losses = model.store.regularization_losses()
    assert len(losses) == 11  # one per weight of vgg_a's 8 convolutions and 3 fully connected layers


def test_aliases_and_factory_registration():
    assert vgg.vgg_d is vgg.vgg_16 and vgg.vgg_e is vgg.vgg_19
    for name in VARIANTS:
        spec = nets_factory.get_network_spec(name)
        assert spec.fn is getattr(vgg, name) and spec.fn.__name__ == name
        assert spec.arg_scope_fn is vgg.vgg_arg_scope
        assert spec.default_image_size == 224 == spec.fn.default_image_size
        assert spec.preprocessing == "vgg"
