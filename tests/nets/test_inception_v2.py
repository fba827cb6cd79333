"""Inception v2: TF-Slim's InceptionV2Test (nets/inception_v2_test.py) in NCHW, plus torch.compile and export.

One network is built per module and called with each test's arguments: the classifier, or with ``base_only`` the
base network on the same variables (no variable depends on the input size: the head's pool shrinks to the feature
map and has none). Building (initializing ~11M weights) is most of the module's time.
Batch 1 instead of TF's 5 and small inputs where the assertion allows keep the module fast; shapes are TF's with
NHWC -> NCHW.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import inception_utils, inception_v2, nets_factory

NUM_CLASSES = 1000

# InceptionV2Test.testBuildAndCheckAllEndPointsUptoMixed5c at 224 x 224 (TF's [H, W, C] without the batch dim).
END_POINT_SHAPES_HWC = {
    "Conv2d_1a_7x7": (112, 112, 64),
    "MaxPool_2a_3x3": (56, 56, 64),
    "Conv2d_2b_1x1": (56, 56, 64),
    "Conv2d_2c_3x3": (56, 56, 192),
    "MaxPool_3a_3x3": (28, 28, 192),
    "Mixed_3b": (28, 28, 256),
    "Mixed_3c": (28, 28, 320),
    "Mixed_4a": (14, 14, 576),
    "Mixed_4b": (14, 14, 576),
    "Mixed_4c": (14, 14, 576),
    "Mixed_4d": (14, 14, 576),
    "Mixed_4e": (14, 14, 576),
    "Mixed_5a": (7, 7, 1024),
    "Mixed_5b": (7, 7, 1024),
    "Mixed_5c": (7, 7, 1024),
}
END_POINTS = list(END_POINT_SHAPES_HWC)


def nchw(hwc: tuple[int, int, int], batch: int = 1) -> tuple[int, int, int, int]:
    return (batch, hwc[2], hwc[0], hwc[1])


def network(images, num_classes, eval_images=None, base_only=False, **kwargs):
    """``inception_v2_base`` (base_only), or InceptionV2Test.testTrainEvalWithReuse's graph: a training net, then
    (given eval_images) an eval net reusing it."""
    if base_only:
        return inception_v2.inception_v2_base(images, scope="InceptionV2", **kwargs)
    logits, end_points = inception_v2.inception_v2(images, num_classes, **kwargs)
    if eval_images is None:
        return logits, end_points
    eval_kwargs = {**kwargs, "is_training": False, "reuse": True}
    eval_logits, _ = inception_v2.inception_v2(eval_images, num_classes, **eval_kwargs)
    return logits, eval_logits


def build_base(size: int = 64, **kwargs) -> slim.Model:
    torch.manual_seed(0)
    built = slim.Model(inception_v2.inception_v2_base, arg_scope=inception_v2.inception_v2_arg_scope(), **kwargs)
    return built.build(torch.zeros(1, 3, size, size)).eval()


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests look at outputs only."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    built = slim.Model(network, arg_scope=inception_v2.inception_v2_arg_scope(), num_classes=NUM_CLASSES)
    return built.build(torch.zeros(1, 3, 64, 64)).eval()


@pytest.fixture(scope="module")
def base(model):
    """Calls ``inception_v2_base`` on the module's network."""

    def call(images, **kwargs):
        return model(images, base_only=True, **kwargs)

    call.state_dict = lambda: {k: v for k, v in model.state_dict().items() if not k.startswith("InceptionV2/Logits/")}
    return call


@pytest.fixture(scope="module")
def base_at_224(base):
    """The base network's ``(net, end_points)`` at 224 x 224 (computed once, asserted by two tests)."""
    with torch.no_grad():
        return base(torch.randn(1, 3, 224, 224))


@pytest.fixture(scope="module")
def base_end_points_at_64(base):
    torch.manual_seed(1)
    with torch.no_grad():
        return base(torch.randn(1, 3, 64, 64))[1]


def test_build_classification_network(model):
    logits, end_points = model(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Logits"] is logits  # TF: InceptionV2/Logits/SpatialSqueeze
    assert end_points["Predictions"].shape == (1, NUM_CLASSES)
    assert end_points["AvgPool_1a"].shape == end_points["PreLogits"].shape == (1, 1024, 1, 1)
    assert "InceptionV2/Logits/Conv2d_1c_1x1/weights" in model.state_dict()


def test_build_pre_logits_network(model):
    net, end_points = model(torch.randn(1, 3, 224, 224), num_classes=None)
    assert net.shape == (1, 1024, 1, 1)  # TF: InceptionV2/Logits/AvgPool [5, 1, 1, 1024]
    assert net is end_points["AvgPool_1a"]
    assert not {"PreLogits", "Logits", "Predictions"} & set(end_points)


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
    with pytest.raises(ValueError, match="Unknown final endpoint Mixed_6a for inception_v2_base"):
        base(images, final_endpoint="Mixed_6a")


def test_build_and_check_all_end_points_up_to_mixed_5c(base_at_224):
    _, end_points = base_at_224  # final_endpoint="Mixed_5c" is the default
    assert {name: tuple(value.shape) for name, value in end_points.items()} == {
        name: nchw(shape) for name, shape in END_POINT_SHAPES_HWC.items()
    }


def test_model_has_expected_number_of_parameters(base):
    # TF-Slim counts the model variables of inception_v2_base under inception_v2_arg_scope(): conv weights, batch
    # norm beta, moving mean and moving variance (no gamma, no conv biases).
    assert sum(value.numel() for value in base.state_dict().values()) == 10_173_112


@pytest.mark.parametrize("multiplier", [0.5, 2.0], ids=["less_than_one", "greater_than_one"])
def test_build_end_points_with_depth_multiplier(base_end_points_at_64, multiplier):
    # testBuildEndPointsWithDepthMultiplierLessThanOne / GreaterThanOne: every Mixed/Conv end point's depth scales.
    scaled = build_base(depth_multiplier=multiplier, scope="depth_multiplied_net")
    torch.manual_seed(1)
    _, end_points = scaled(torch.randn(1, 3, 64, 64))
    assert all(name.startswith("depth_multiplied_net/") for name in scaled.state_dict())
    keys = [key for key in base_end_points_at_64 if key.startswith(("Mixed", "Conv"))]
    assert len(keys) == 13
    for key in keys:
        original = base_end_points_at_64[key]
        assert end_points[key].shape[1] == int(original.shape[1] * multiplier), key
        assert end_points[key].shape[2:] == original.shape[2:], key


@pytest.mark.parametrize("fn", [inception_v2.inception_v2, inception_v2.inception_v2_base])
def test_raise_value_error_with_invalid_depth_multiplier(fn):
    for multiplier in (-0.1, 0.0):
        network = slim.Model(fn, depth_multiplier=multiplier)
        with pytest.raises(ValueError, match="depth_multiplier is not greater than zero"):
            network.build(torch.zeros(1, 3, 64, 64))
        assert len(network.state_dict()) == 0  # nothing was created


def test_build_end_points_with_use_separable_conv_false(base, base_end_points_at_64):
    plain = build_base(use_separable_conv=False)
    torch.manual_seed(1)
    _, end_points = plain(torch.randn(1, 3, 64, 64))
    assert {k: v.shape for k, v in end_points.items()} == {k: v.shape for k, v in base_end_points_at_64.items()}
    # Separable: a 7 x 7 depthwise step (3 channels x multiplier 8) and a 1 x 1 pointwise step to 64 channels.
    separable = {k: tuple(v.shape) for k, v in base.state_dict().items() if "/Conv2d_1a_7x7/" in k}
    assert separable["InceptionV2/Conv2d_1a_7x7/depthwise_weights"] == (3, 8, 7, 7)
    assert separable["InceptionV2/Conv2d_1a_7x7/pointwise_weights"] == (64, 24, 1, 1)
    conv = {k: tuple(v.shape) for k, v in plain.state_dict().items() if "/Conv2d_1a_7x7/" in k}
    assert conv["InceptionV2/Conv2d_1a_7x7/weights"] == (64, 3, 7, 7)
    assert not any("depthwise" in k for k in conv)


def test_build_end_points_nchw_data_format(base):
    # TF-Slim's NCHW end points are its NHWC ones transposed. slim's tensors are NCHW with either value, so the
    # same weights give identical end points.
    images = torch.randn(1, 3, 64, 64)
    _, nhwc = base(images, data_format="NHWC")
    _, nchw_end_points = base(images, data_format="NCHW")
    assert list(nchw_end_points) == list(nhwc)
    assert all(torch.equal(nchw_end_points[k], nhwc[k]) for k in nhwc)


def test_build_errors_for_data_formats(base):
    with pytest.raises(ValueError, match="data_format must be either NHWC or NCHW, got 'NCWH'"):
        base(torch.zeros(1, 3, 64, 64), data_format="NCWH")
    # TF-Slim also refuses NCHW with the separable first convolution (TF's separable kernel is NHWC-only); that
    # restriction does not exist here, so it builds (use_separable_conv=True is the default).
    net, _ = base(torch.zeros(1, 3, 64, 64), data_format="NCHW")
    assert net.shape == (1, 1024, 2, 2)


def test_half_size_images(model):
    logits, end_points = model(torch.randn(1, 3, 112, 112))
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Mixed_5c"].shape == (1, 1024, 4, 4)
    assert end_points["AvgPool_1a"].shape == (1, 1024, 1, 1)  # the 7 x 7 pool shrank to 4 x 4
    assert torch.allclose(end_points["AvgPool_1a"], end_points["Mixed_5c"].mean(dim=[2, 3], keepdim=True), atol=1e-6)


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
    assert "AvgPool_1a" not in end_points


def test_evaluation(model):
    images = torch.randn(2, 3, 128, 128)
    logits, _ = model(images, is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    # Any batch size (testUnknowBatchSize), and each example alone gives the same logits: no dropout, no batch
    # statistics in evaluation.
    scale = logits.abs().max().item()
    torch.testing.assert_close(model(images[1:], is_training=False)[0], logits[1:], rtol=1e-4, atol=1e-5 * scale)


def test_train_eval_with_reuse(model):
    variables_before = list(model.state_dict())
    train_logits, eval_logits = model(
        torch.randn(2, 3, 150, 150), eval_images=torch.randn(1, 3, 150, 150), is_training=True
    )
    assert train_logits.shape == (2, NUM_CLASSES)
    assert eval_logits.argmax(dim=1).shape == (1,)
    assert list(model.state_dict()) == variables_before  # the eval net reused every variable


def test_logits_not_squeezed(model):
    logits, _ = model(torch.randn(1, 3, 96, 96), spatial_squeeze=False)
    assert logits.shape == (1, NUM_CLASSES, 1, 1)


def test_no_batch_norm_scale_by_default(base):
    names = list(base.state_dict())
    assert any(name.endswith("BatchNorm/moving_mean") for name in names)
    assert not any(name.endswith("/gamma") for name in names)


def test_batch_norm_scale():
    with slim.arg_scope(inception_v2.inception_v2_arg_scope(batch_norm_scale=True)):
        network = slim.Model(inception_v2.inception_v2_base, final_endpoint="Mixed_3b").build(torch.zeros(1, 3, 32, 32))
    names = set(network.state_dict())
    moving_means = [name for name in names if name.endswith("moving_mean")]
    # Two root convs (the separable Conv2d_1a_7x7 has none: the arg scope normalizes conv2d only), seven in Mixed_3b.
    assert len(moving_means) == 2 + 7
    assert all(name[: -len("moving_mean")] + "gamma" in names for name in moving_means)


def test_reduced_kernel_size_alias():
    assert inception_v2._reduced_kernel_size_for_small_input is inception_utils.reduced_kernel_size_for_small_input


def test_factory_registration():
    spec = nets_factory.get_network_spec("inception_v2")
    assert spec.fn is inception_v2.inception_v2 and spec.arg_scope_fn is inception_v2.inception_v2_arg_scope
    assert spec.default_image_size == 224 == inception_v2.inception_v2.default_image_size
    assert spec.preprocessing == "inception"


@pytest.mark.slow  # dynamo traces every layer: about 20 s on 2 CPU cores
def test_compile_without_graph_breaks_and_export():
    torch.manual_seed(0)
    factory_model = nets_factory.get_network_fn("inception_v2", num_classes=7)
    images = torch.randn(1, 3, 64, 64)
    factory_model.build(images)
    explanation = torch._dynamo.explain(factory_model)(images)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    program = torch.export.export(factory_model, (images,))
    other = torch.randn(1, 3, 64, 64)
    assert torch.allclose(program.module()(other)[0], factory_model(other)[0], rtol=1e-4, atol=1e-4)
