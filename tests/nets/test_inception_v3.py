"""Inception v3: TF-Slim's InceptionV3Test (nets/inception_v3_test.py) in NCHW.

Two networks are built per module, at 299 x 299 and at TF's half size 150 x 150 (the auxiliary head's kernel, and
so a variable's name, depends on the input size: ``AuxLogits/Conv2d_2a_5x5`` vs ``Conv2d_2a_1x1``), and called with
each test's arguments; ``base_only`` runs ``inception_v3_base`` on the same variables. Batch 1 instead of TF's 5 and
smaller inputs where the assertion allows keep the module fast; shapes are TF's with NHWC -> NCHW.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import inception_utils, inception_v3, nets_factory

NUM_CLASSES = 1000

# InceptionV3Test.testBuildAndCheckAllEndPointsUptoMixed7c at 299 x 299 (TF's [H, W, C] without the batch dim).
END_POINT_SHAPES_HWC = {
    "Conv2d_1a_3x3": (149, 149, 32),
    "Conv2d_2a_3x3": (147, 147, 32),
    "Conv2d_2b_3x3": (147, 147, 64),
    "MaxPool_3a_3x3": (73, 73, 64),
    "Conv2d_3b_1x1": (73, 73, 80),
    "Conv2d_4a_3x3": (71, 71, 192),
    "MaxPool_5a_3x3": (35, 35, 192),
    "Mixed_5b": (35, 35, 256),
    "Mixed_5c": (35, 35, 288),
    "Mixed_5d": (35, 35, 288),
    "Mixed_6a": (17, 17, 768),
    "Mixed_6b": (17, 17, 768),
    "Mixed_6c": (17, 17, 768),
    "Mixed_6d": (17, 17, 768),
    "Mixed_6e": (17, 17, 768),
    "Mixed_7a": (8, 8, 1280),
    "Mixed_7b": (8, 8, 2048),
    "Mixed_7c": (8, 8, 2048),
}
END_POINTS = list(END_POINT_SHAPES_HWC)
HEAD_SCOPES = ("InceptionV3/Logits/", "InceptionV3/AuxLogits/")


def nchw(hwc: tuple[int, int, int], batch: int = 1) -> tuple[int, int, int, int]:
    return (batch, hwc[2], hwc[0], hwc[1])


def network(images, num_classes, eval_images=None, base_only=False, **kwargs):
    """``inception_v3_base`` (base_only), or InceptionV3Test.testTrainEvalWithReuse's graph: a training net, then
    (given eval_images) an eval net reusing it."""
    if base_only:
        return inception_v3.inception_v3_base(images, scope="InceptionV3", **kwargs)
    logits, end_points = inception_v3.inception_v3(images, num_classes, **kwargs)
    if eval_images is None:
        return logits, end_points
    eval_kwargs = {**kwargs, "is_training": False, "reuse": True}
    eval_logits, _ = inception_v3.inception_v3(eval_images, num_classes, **eval_kwargs)
    return logits, eval_logits


def build(fn, size: int, **kwargs) -> slim.Model:
    torch.manual_seed(0)
    built = slim.Model(fn, arg_scope=inception_v3.inception_v3_arg_scope(), **kwargs)
    return built.build(torch.zeros(1, 3, size, size)).eval()


@pytest.fixture(autouse=True)
def _inference_only():
    """No autograd graph: these tests look at outputs only."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def model():
    return build(network, 299, num_classes=NUM_CLASSES)


@pytest.fixture(scope="module")
def model_150():
    return build(network, 150, num_classes=NUM_CLASSES)


@pytest.fixture(scope="module")
def outputs_at_299(model):
    """The classifier's ``(logits, end_points)`` at 299 x 299 (computed once, asserted by several tests)."""
    with torch.no_grad():
        return model(torch.randn(1, 3, 299, 299))


def test_build_classification_network(outputs_at_299, model):
    logits, end_points = outputs_at_299
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Logits"] is logits  # TF: InceptionV3/Logits/SpatialSqueeze
    assert end_points["Predictions"].shape == (1, NUM_CLASSES)
    assert torch.allclose(end_points["Predictions"].sum(dim=1), torch.ones(1))
    assert "InceptionV3/Logits/Conv2d_1c_1x1/weights" in model.state_dict()


def test_build_pre_logits_network(model):
    net, end_points = model(torch.randn(1, 3, 299, 299), num_classes=None)
    assert net.shape == (1, 2048, 1, 1)  # TF: InceptionV3/Logits/AvgPool [5, 1, 1, 2048]
    assert net is end_points["AvgPool_1a"]
    assert not {"AuxLogits", "PreLogits", "Logits", "Predictions"} & set(end_points)


def test_build_base_network(model):
    net, end_points = model(torch.randn(1, 3, 75, 75), base_only=True)  # 75 x 75 is the smallest input
    assert net.shape == (1, 2048, 1, 1)
    assert net is end_points["Mixed_7c"]
    assert list(end_points) == END_POINTS


def test_build_only_up_to_final_endpoint(model):
    images = torch.randn(1, 3, 75, 75)
    for index, endpoint in enumerate(END_POINTS):
        out, end_points = model(images, base_only=True, final_endpoint=endpoint)
        assert out is end_points[endpoint]
        assert list(end_points) == END_POINTS[: index + 1]
    with pytest.raises(ValueError, match="Unknown final endpoint Mixed_8a for inception_v3_base"):
        model(images, base_only=True, final_endpoint="Mixed_8a")


def test_build_and_check_all_end_points_up_to_mixed_7c(outputs_at_299):
    _, end_points = outputs_at_299  # the base network's end points, inside the classifier's
    assert {name: tuple(end_points[name].shape) for name in END_POINTS} == {
        name: nchw(shape) for name, shape in END_POINT_SHAPES_HWC.items()
    }


def test_model_has_expected_number_of_parameters(model):
    # TF-Slim counts the model variables of inception_v3_base under inception_v3_arg_scope(): conv weights, batch
    # norm beta, moving mean and moving variance (no gamma, no conv biases); here: the classifier minus its heads.
    base_variables = {k: v for k, v in model.state_dict().items() if not k.startswith(HEAD_SCOPES)}
    assert sum(value.numel() for value in base_variables.values()) == 21_802_784


def test_build_end_points(outputs_at_299, model):
    logits, end_points = outputs_at_299
    assert end_points["Logits"].shape == end_points["AuxLogits"].shape == (1, NUM_CLASSES)
    assert end_points["Mixed_7c"].shape == (1, 2048, 8, 8)
    assert end_points["PreLogits"].shape == (1, 2048, 1, 1)
    aux = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("InceptionV3/AuxLogits/")}
    assert aux["InceptionV3/AuxLogits/Conv2d_1b_1x1/weights"] == (128, 768, 1, 1)
    assert aux["InceptionV3/AuxLogits/Conv2d_2a_5x5/weights"] == (768, 128, 5, 5)
    assert aux["InceptionV3/AuxLogits/Conv2d_2b_1x1/weights"] == (NUM_CLASSES, 768, 1, 1)
    assert aux["InceptionV3/AuxLogits/Conv2d_2b_1x1/biases"] == (NUM_CLASSES,)


@pytest.mark.parametrize(
    "multiplier, final_endpoint",
    # 2.0 stops at Mixed_6e: the 8 x 8 blocks would quadruple to ~55M weights, and their depths follow the same rule.
    [(0.5, "Mixed_7c"), (2.0, "Mixed_6e")],
    ids=["less_than_one", "greater_than_one"],
)
def test_build_end_points_with_depth_multiplier(model, multiplier, final_endpoint):
    # testBuildEndPointsWithDepthMultiplierLessThanOne / GreaterThanOne: every Mixed/Conv end point's depth scales.
    torch.manual_seed(1)
    images = torch.randn(1, 3, 75, 75)
    _, original = model(images, base_only=True, final_endpoint=final_endpoint)
    scaled = build(
        inception_v3.inception_v3_base,
        75,
        depth_multiplier=multiplier,
        final_endpoint=final_endpoint,
        scope="depth_multiplied_net",
    )
    _, end_points = scaled(images)
    assert all(name.startswith("depth_multiplied_net/") for name in scaled.state_dict())
    keys = [key for key in original if key.startswith(("Mixed", "Conv"))]
    assert len(keys) == {"Mixed_7c": 16, "Mixed_6e": 13}[final_endpoint]
    for key in keys:
        assert end_points[key].shape[1] == int(original[key].shape[1] * multiplier), key
        assert end_points[key].shape[2:] == original[key].shape[2:], key


@pytest.mark.parametrize("fn", [inception_v3.inception_v3, inception_v3.inception_v3_base])
def test_raise_value_error_with_invalid_depth_multiplier(fn):
    for multiplier in (-0.1, 0.0):
        invalid = slim.Model(fn, depth_multiplier=multiplier)
        with pytest.raises(ValueError, match="depth_multiplier is not greater than zero"):
            invalid.build(torch.zeros(1, 3, 75, 75))
        assert len(invalid.state_dict()) == 0  # nothing was created


def test_half_size_images(model_150):
    logits, end_points = model_150(torch.randn(1, 3, 150, 150))
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Mixed_7c"].shape == (1, 2048, 3, 3)
    assert end_points["AvgPool_1a"].shape == (1, 2048, 1, 1)  # the 8 x 8 pool shrank to 3 x 3
    # The aux head: Mixed_6e is 7 x 7, pooled 5 x 5 / 3 to 1 x 1, so its "5 x 5" conv shrank to 1 x 1.
    assert end_points["Mixed_6e"].shape == (1, 768, 7, 7)
    assert end_points["AuxLogits"].shape == (1, NUM_CLASSES)
    assert model_150.state_dict()["InceptionV3/AuxLogits/Conv2d_2a_1x1/weights"].shape == (768, 128, 1, 1)


def test_aux_head_needs_a_5x5_mixed_6e(model):
    with pytest.raises(ValueError, match=r"Mixed_6e is 4 x 4.*create_aux_logits=False"):
        model(torch.zeros(1, 3, 100, 100))
    logits, end_points = model(torch.zeros(1, 3, 100, 100), create_aux_logits=False)
    assert logits.shape == (1, NUM_CLASSES) and "AuxLogits" not in end_points


def test_global_pool_unknown_image_shape(model):
    # TF's test uses 330 x 400 (Mixed_7c 8 x 11); a smaller non-square input shows the same: the pool spans the map.
    logits, end_points = model(torch.randn(1, 3, 150, 200), global_pool=True, create_aux_logits=False)
    assert logits.shape == (1, NUM_CLASSES)
    assert end_points["Mixed_7c"].shape == (1, 2048, 3, 4)
    assert torch.allclose(end_points["global_pool"], end_points["Mixed_7c"].mean(dim=[2, 3], keepdim=True))
    assert "AvgPool_1a" not in end_points


def test_evaluation(model_150):
    images = torch.randn(2, 3, 150, 150)
    logits, _ = model_150(images, is_training=False)
    assert logits.argmax(dim=1).shape == (2,)
    # Any batch size (testUnknowBatchSize), and each example alone gives the same logits: no dropout, no batch
    # statistics in evaluation.
    scale = logits.abs().max().item()
    torch.testing.assert_close(model_150(images[1:], is_training=False)[0], logits[1:], rtol=1e-4, atol=1e-5 * scale)


def test_train_eval_with_reuse(model_150):
    variables_before = list(model_150.state_dict())
    train_logits, eval_logits = model_150(
        torch.randn(2, 3, 150, 150), eval_images=torch.randn(1, 3, 150, 150), is_training=True
    )
    assert train_logits.shape == (2, NUM_CLASSES)
    assert eval_logits.argmax(dim=1).shape == (1,)
    assert list(model_150.state_dict()) == variables_before  # the eval net reused every variable


def test_logits_not_squeezed(model_150):
    logits, end_points = model_150(torch.randn(1, 3, 150, 150), spatial_squeeze=False)
    assert logits.shape == end_points["AuxLogits"].shape == (1, NUM_CLASSES, 1, 1)


def test_no_batch_norm_scale_by_default(model):
    names = list(model.state_dict())
    assert any(name.endswith("BatchNorm/moving_mean") for name in names)
    assert not any(name.endswith("/gamma") for name in names)


def test_batch_norm_scale():
    with slim.arg_scope(inception_v3.inception_v3_arg_scope(batch_norm_scale=True)):
        scaled = slim.Model(inception_v3.inception_v3_base, final_endpoint="Mixed_5b").build(torch.zeros(1, 3, 75, 75))
    names = set(scaled.state_dict())
    moving_means = [name for name in names if name.endswith("moving_mean")]
    assert len(moving_means) == 5 + 7  # five stem convs, seven in Mixed_5b
    assert all(name[: -len("moving_mean")] + "gamma" in names for name in moving_means)


def test_reduced_kernel_size_alias():
    assert inception_v3._reduced_kernel_size_for_small_input is inception_utils.reduced_kernel_size_for_small_input


def test_factory_registration():
    spec = nets_factory.get_network_spec("inception_v3")
    assert spec.fn is inception_v3.inception_v3 and spec.arg_scope_fn is inception_v3.inception_v3_arg_scope
    assert spec.default_image_size == 299 == inception_v3.inception_v3.default_image_size
    assert spec.preprocessing == "inception"
