"""Inception v1: TF-Slim's InceptionV1Test (nets/inception_v1_test.py) in NCHW, plus the shared Inception pieces.

The classifier and the base network are each built once per module and called with each test's arguments (their
variables do not depend on the input size or on final_endpoint, spatial_squeeze, global_pool, num_classes=None).
Batch 1 instead of TF's 5 keeps the module fast; shapes are TF's with the batch dim changed and NHWC -> NCHW.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import inception_utils, inception_v1, nets_factory

NUM_CLASSES = 1000

# InceptionV1Test.testBuildAndCheckAllEndPointsUptoMixed5c at 224 x 224 (TF's [H, W, C] without the batch dim).
END_POINT_SHAPES_HWC = {
    "Conv2d_1a_7x7": (112, 112, 64),
    "MaxPool_2a_3x3": (56, 56, 64),
    "Conv2d_2b_1x1": (56, 56, 64),
    "Conv2d_2c_3x3": (56, 56, 192),
    "MaxPool_3a_3x3": (28, 28, 192),
    "Mixed_3b": (28, 28, 256),
    "Mixed_3c": (28, 28, 480),
    "MaxPool_4a_3x3": (14, 14, 480),
    "Mixed_4b": (14, 14, 512),
    "Mixed_4c": (14, 14, 512),
    "Mixed_4d": (14, 14, 512),
    "Mixed_4e": (14, 14, 528),
    "Mixed_4f": (14, 14, 832),
    "MaxPool_5a_2x2": (7, 7, 832),
    "Mixed_5b": (7, 7, 832),
    "Mixed_5c": (7, 7, 1024),
}
END_POINTS = list(END_POINT_SHAPES_HWC)


def nchw(hwc: tuple[int, int, int], batch: int = 1) -> tuple[int, int, int, int]:
    return (batch, hwc[2], hwc[0], hwc[1])


def train_then_eval(images, eval_images=None, **kwargs):
    """InceptionV1Test.testTrainEvalWithReuse's graph: a training net, then (optionally) an eval net reusing it."""
    logits, end_points = inception_v1.inception_v1(images, **kwargs)
    if eval_images is None:
        return logits, end_points
    eval_logits, _ = inception_v1.inception_v1(eval_images, **{**kwargs, "is_training": False, "reuse": True})
    return logits, eval_logits


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests look at outputs only."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    network = slim.Model(train_then_eval, arg_scope=inception_v1.inception_v1_arg_scope(), num_classes=NUM_CLASSES)
    return network.build(torch.zeros(1, 3, 224, 224)).eval()


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    network = slim.Model(inception_v1.inception_v1_base, arg_scope=inception_v1.inception_v1_arg_scope())
    return network.build(torch.zeros(1, 3, 64, 64)).eval()


@pytest.fixture(scope="module")
def base_at_224(base):
    """The base network's ``(net, end_points)`` at 224 x 224 (computed once, asserted by two tests)."""
    with torch.no_grad():
        return base(torch.randn(1, 3, 224, 224))


def test_build_classification_network(model):
    logits, end_points = model(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Logits"] is logits  # TF: InceptionV1/Logits/SpatialSqueeze
    assert end_points["Predictions"].shape == (1, NUM_CLASSES)
    assert torch.allclose(end_points["Predictions"].sum(dim=1), torch.ones(1))
    assert end_points["AvgPool_0a_7x7"].shape == (1, 1024, 1, 1)
    names = list(model.state_dict())
    assert "InceptionV1/Logits/Conv2d_0c_1x1/weights" in names and "InceptionV1/Logits/Conv2d_0c_1x1/biases" in names


def test_build_pre_logits_network(model):
    net, end_points = model(torch.randn(1, 3, 224, 224), num_classes=None)
    assert net.shape == (1, 1024, 1, 1)  # TF: InceptionV1/Logits/AvgPool [5, 1, 1, 1024]
    assert net is end_points["AvgPool_0a_7x7"]
    assert "Logits" not in end_points and "Predictions" not in end_points


def test_build_base_network(base_at_224):
    net, end_points = base_at_224
    assert net.shape == (1, 1024, 7, 7)
    assert net is end_points["Mixed_5c"]
    assert list(end_points) == END_POINTS


def test_build_only_up_to_final_endpoint(base):
    images = torch.randn(1, 3, 64, 64)
    for index, endpoint in enumerate(END_POINTS):
        out, end_points = base(images, final_endpoint=endpoint)
        assert out is end_points[endpoint]
        assert list(end_points) == END_POINTS[: index + 1]
    with pytest.raises(ValueError, match="Unknown final endpoint Mixed_6a for inception_v1_base"):
        base(images, final_endpoint="Mixed_6a")


def test_build_and_check_all_end_points_up_to_mixed_5c(base_at_224):
    _, end_points = base_at_224  # final_endpoint="Mixed_5c" is the default
    assert {name: tuple(value.shape) for name, value in end_points.items()} == {
        name: nchw(shape) for name, shape in END_POINT_SHAPES_HWC.items()
    }


def test_model_has_expected_number_of_parameters(base):
    # TF-Slim counts the model variables of inception_v1_base under inception_v1_arg_scope(): conv weights, batch
    # norm beta, moving mean and moving variance (no gamma, no conv biases).
    assert sum(value.numel() for value in base.state_dict().values()) == 5_607_184


def test_half_size_images(base):
    net, _ = base(torch.randn(1, 3, 112, 112))
    assert net.shape == (1, 1024, 4, 4)


def test_head_needs_a_7x7_feature_map(model):
    # TF-Slim fails too (the VALID 7 x 7 pool on 4 x 4); slim says why and what to do.
    with pytest.raises(ValueError, match=r"Mixed_5c is 4 x 4.*global_pool=True"):
        model(torch.zeros(1, 3, 112, 112))


def test_build_base_network_without_root_block(base):
    # The rootless body's first block reads MaxPool_3a_3x3's 192 channels, so it runs on the module's variables.
    net, end_points = base(torch.randn(1, 192, 28, 28), include_root_block=False)
    assert list(end_points) == END_POINTS[5:]
    assert net.shape == (1, 1024, 7, 7)
    with pytest.raises(ValueError, match="Unknown final endpoint Conv2d_1a_7x7"):
        base(torch.randn(1, 192, 28, 28), include_root_block=False, final_endpoint="Conv2d_1a_7x7")


def test_global_pool_unknown_image_shape(model):
    # TF's test uses 250 x 300 (Mixed_5c 8 x 10); any non-square input shows the same: the pool spans the map.
    logits, end_points = model(torch.randn(1, 3, 100, 130), global_pool=True)
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Mixed_5c"].shape == (1, 1024, 4, 5)  # ceil(100 / 32) x ceil(130 / 32)
    assert torch.allclose(end_points["global_pool"], end_points["Mixed_5c"].mean(dim=[2, 3], keepdim=True))
    assert "AvgPool_0a_7x7" not in end_points


def test_evaluation(model):
    images = torch.randn(2, 3, 224, 224)
    logits, _ = model(images, is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    # Any batch size (testUnknowBatchSize), and each example alone gives the same logits: no dropout, no batch
    # statistics in evaluation.
    scale = logits.abs().max().item()
    torch.testing.assert_close(model(images[1:], is_training=False)[0], logits[1:], rtol=1e-4, atol=1e-5 * scale)


def test_train_eval_with_reuse(model):
    variables_before = dict(model.state_dict())
    train_logits, eval_logits = model(
        torch.randn(2, 3, 224, 224), eval_images=torch.randn(1, 3, 224, 224), is_training=True
    )
    assert train_logits.shape == (2, NUM_CLASSES)
    assert eval_logits.argmax(dim=1).shape == (1,)
    assert list(model.state_dict()) == list(variables_before)  # the eval net reused every variable


def test_logits_not_squeezed(model):
    logits, _ = model(torch.randn(1, 3, 224, 224), spatial_squeeze=False)
    assert logits.shape == (1, NUM_CLASSES, 1, 1)


def test_no_batch_norm_scale_by_default(base):
    names = list(base.state_dict())
    assert any(name.endswith("BatchNorm/moving_mean") for name in names)
    assert not any(name.endswith("/gamma") for name in names)


def test_batch_norm_scale():
    with slim.arg_scope(inception_v1.inception_v1_arg_scope(batch_norm_scale=True)):
        network = slim.Model(inception_v1.inception_v1_base, final_endpoint="Mixed_3c").build(torch.zeros(1, 3, 32, 32))
    names = set(network.state_dict())
    moving_means = [name for name in names if name.endswith("moving_mean")]
    assert len(moving_means) == 3 + 2 * 6  # three root convs, six per Mixed block
    assert all(name[: -len("moving_mean")] + "gamma" in names for name in moving_means)


def test_inception_arg_scope_defaults():
    scope = inception_utils.inception_arg_scope()
    conv = scope[slim.arg_scope_func_key(slim.conv2d)]
    assert conv["normalizer_fn"] is slim.batch_norm and conv["activation_fn"] is torch.relu
    assert conv["normalizer_params"] == {
        "decay": 0.9997,
        "epsilon": 0.001,
        "updates_collections": slim.GraphKeys.UPDATE_OPS,
        "fused": None,
        "scale": False,
    }
    assert "weights_regularizer" in scope[slim.arg_scope_func_key(slim.fully_connected)]
    # l2_regularizer(s)(w) = s * sum(w^2) / 2: 4e-5 * (4 * 1) / 2 for four ones.
    assert conv["weights_regularizer"](torch.ones(4)).item() == pytest.approx(8e-5)
    plain = inception_utils.inception_arg_scope(use_batch_norm=False, activation_fn=None)
    plain_conv = plain[slim.arg_scope_func_key(slim.conv2d)]
    assert plain_conv["normalizer_fn"] is None and plain_conv["normalizer_params"] == {}
    assert plain_conv["activation_fn"] is None


def test_without_batch_norm_convolutions_keep_biases():
    with slim.arg_scope(inception_v1.inception_v1_arg_scope(use_batch_norm=False)):
        network = slim.Model(inception_v1.inception_v1_base, final_endpoint="Conv2d_2b_1x1")
        network.build(torch.zeros(1, 3, 32, 32))
    assert sorted(network.state_dict()) == [
        f"InceptionV1/{layer}/{kind}" for layer in ("Conv2d_1a_7x7", "Conv2d_2b_1x1") for kind in ("biases", "weights")
    ]


def test_reduced_kernel_size_for_small_input():
    assert inception_utils.reduced_kernel_size_for_small_input(torch.zeros(1, 8, 3, 10), [8, 8]) == [3, 8]
    assert inception_utils.reduced_kernel_size_for_small_input(torch.zeros(1, 8, 17, 17), [5, 5]) == [5, 5]


def test_depth_fn():
    depth = inception_utils.depth_fn(0.25, 16, "net")
    assert (depth(256), depth(32)) == (64, 16)  # int(32 * 0.25) = 8 is raised to min_depth
    for bad in (0.0, -0.1):
        with pytest.raises(ValueError, match="net: depth_multiplier is not greater than zero"):
            inception_utils.depth_fn(bad, 16, "net")


def test_branch_table_rejects_unknown_layer_kinds():
    with pytest.raises(ValueError, match="Unknown layer kind 'dense'"):
        inception_utils.run_branch(torch.zeros(1, 3, 8, 8), [("dense", 10, "fc")])


def test_factory_registration():
    spec = nets_factory.get_network_spec("inception_v1")
    assert spec.fn is inception_v1.inception_v1
    assert spec.arg_scope_fn is inception_v1.inception_v1_arg_scope is inception_utils.inception_arg_scope
    assert spec.default_image_size == 224 == inception_v1.inception_v1.default_image_size
    assert spec.preprocessing == "inception"
