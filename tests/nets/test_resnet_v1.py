"""slim.nets.resnet_v1, translated from TF-Slim's resnet_v1_test.py (ResnetUtilsTest.testEndPointsV1 and
ResnetCompleteNetworkTest), plus the factory registration, torch.compile without graph breaks and torch.export.

Like TF-Slim's tests these build a tiny ResNet v1 (base depths 1/2/4/8, 3/3/3/2 units, scope ``resnet``) so that
every size TF-Slim tests (224, 321, 128, 65, 81) runs in CI time. Shapes are NCHW: TF's [2, 28, 28, 4] is
[2, 4, 28, 28] here. ``create_test_input`` is TF-Slim's test input: pixel (i, j) holds i + j in every channel.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import nets_factory, resnet_utils, resnet_v1

VARIANTS = {
    50: resnet_v1.resnet_v1_50,
    101: resnet_v1.resnet_v1_101,
    152: resnet_v1.resnet_v1_152,
    200: resnet_v1.resnet_v1_200,
}


def create_test_input(batch_size: int, height: int, width: int, channels: int) -> torch.Tensor:
    grid = torch.arange(height, dtype=torch.float32)[:, None] + torch.arange(width, dtype=torch.float32)[None, :]
    return grid.expand(batch_size, channels, height, width).contiguous()


def resnet_small(
    inputs,
    num_classes=None,
    is_training=None,
    global_pool=True,
    output_stride=None,
    include_root_block=True,
    spatial_squeeze=True,
    reuse=None,
    scope="resnet_v1_small",
):
    """A shallow and thin ResNet v1 for fast tests (TF-Slim's ``_resnet_small``)."""
    block = resnet_v1.resnet_v1_block
    blocks = [
        block("block1", base_depth=1, num_units=3, stride=2),
        block("block2", base_depth=2, num_units=3, stride=2),
        block("block3", base_depth=4, num_units=3, stride=2),
        block("block4", base_depth=8, num_units=2, stride=1),
    ]
    return resnet_v1.resnet_v1(
        inputs,
        blocks,
        num_classes,
        is_training=is_training,
        global_pool=global_pool,
        output_stride=output_stride,
        include_root_block=include_root_block,
        spatial_squeeze=spatial_squeeze,
        reuse=reuse,
        scope=scope,
    )


def run(fn, inputs: torch.Tensor, **kwargs):
    """Builds ``slim.Model(fn, arg_scope=resnet_arg_scope(), **kwargs)`` and runs it in eval mode."""
    model = slim.Model(fn, arg_scope=resnet_utils.resnet_arg_scope(), **kwargs).build(inputs)
    model.eval()
    with torch.no_grad():
        return model(inputs)


# --- ResnetUtilsTest ------------------------------------------------------------------------------------------------


def test_end_points_v1():
    """The end points of a plain stack of two tiny v1 blocks: every conv of every unit, by full scope name."""
    blocks = [
        resnet_v1.resnet_v1_block("block1", base_depth=1, num_units=2, stride=2),
        resnet_v1.resnet_v1_block("block2", base_depth=2, num_units=2, stride=1),
    ]

    def resnet_plain(inputs):
        with slim.variable_scope("tiny", values=[inputs]):
            with slim.arg_scope([slim.conv2d], outputs_collections="end_points"):
                net = resnet_utils.stack_blocks_dense(inputs, blocks)
                return net, slim.utils.convert_collection_to_dict("end_points")

    _, end_points = run(resnet_plain, create_test_input(2, 32, 16, 3))
    expected = [
        "tiny/block1/unit_1/bottleneck_v1/shortcut",
        "tiny/block1/unit_1/bottleneck_v1/conv1",
        "tiny/block1/unit_1/bottleneck_v1/conv2",
        "tiny/block1/unit_1/bottleneck_v1/conv3",
        "tiny/block1/unit_2/bottleneck_v1/conv1",
        "tiny/block1/unit_2/bottleneck_v1/conv2",
        "tiny/block1/unit_2/bottleneck_v1/conv3",
        "tiny/block2/unit_1/bottleneck_v1/shortcut",
        "tiny/block2/unit_1/bottleneck_v1/conv1",
        "tiny/block2/unit_1/bottleneck_v1/conv2",
        "tiny/block2/unit_1/bottleneck_v1/conv3",
        "tiny/block2/unit_2/bottleneck_v1/conv1",
        "tiny/block2/unit_2/bottleneck_v1/conv2",
        "tiny/block2/unit_2/bottleneck_v1/conv3",
    ]
    assert sorted(end_points) == sorted(expected)


# --- ResnetCompleteNetworkTest --------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_training", [True, None], ids=["batch_norm_argscope", "no_batch_norm_argscope"])
def test_classification_end_points(is_training):
    """testClassificationEndPoints and testClassificationEndPointsWithNoBatchNormArgscope (is_training=None)."""
    logits, end_points = run(
        resnet_small,
        create_test_input(2, 224, 224, 3),
        num_classes=10,
        is_training=is_training,
        global_pool=True,
        spatial_squeeze=False,
        scope="resnet",
    )
    assert end_points["resnet/logits"] is logits  # the logits op lives in scope resnet/logits
    assert logits.shape == (2, 10, 1, 1)
    assert end_points["predictions"].shape == (2, 10, 1, 1)
    assert end_points["global_pool"].shape == (2, 32, 1, 1)
    torch.testing.assert_close(end_points["predictions"], torch.softmax(logits, dim=1))


def test_endpoint_names():
    _, end_points = run(resnet_small, create_test_input(2, 224, 224, 3), num_classes=10, scope="resnet")
    expected = ["resnet/conv1"]
    for block in range(1, 5):
        for unit in range(1, 4 if block < 4 else 3):
            for conv in range(1, 4):
                expected.append(f"resnet/block{block}/unit_{unit}/bottleneck_v1/conv{conv}")
            expected.append(f"resnet/block{block}/unit_{unit}/bottleneck_v1")
        expected.append(f"resnet/block{block}/unit_1/bottleneck_v1/shortcut")
        expected.append(f"resnet/block{block}")
    expected.extend(["global_pool", "resnet/logits", "resnet/spatial_squeeze", "predictions"])
    assert sorted(end_points) == sorted(expected)


# (input size, extra arguments, block1..block4 spatial size); depths are 4 x base depth = 4, 8, 16, 32.
ENDPOINT_SHAPE_CASES = {
    # 224 -> conv1 112 -> pool1 56 -> block1 (stride in its last unit) 28 -> 14 -> 7 -> 7
    "classification_shapes_224": (224, {"global_pool": True}, (28, 14, 7, 7)),
    # 321 -> 161 -> 81 -> 41 -> 21 -> 11 -> 11: each stride-2 step gives ceil(n / 2)
    "fully_convolutional_321": (321, {"global_pool": False, "spatial_squeeze": False}, (41, 21, 11, 11)),
    # without the root block the blocks see the 128 x 128 input itself: 64 -> 32 -> 16 -> 16
    "rootless_fully_convolutional_128": (
        128,
        {"global_pool": False, "include_root_block": False, "spatial_squeeze": False},
        (64, 32, 16, 16),
    ),
    # output_stride 8: 321 / 8 -> 41 from block1 on, the later blocks atrous
    "atrous_fully_convolutional_321": (
        321,
        {"global_pool": False, "output_stride": 8, "spatial_squeeze": False},
        (41, 41, 41, 41),
    ),
}


@pytest.mark.parametrize("case", list(ENDPOINT_SHAPE_CASES))
def test_endpoint_shapes(case):
    """testClassificationShapes, testFullyConvolutionalEndpointShapes, testRootlessFullyConvolutionalEndpointShapes,
    testAtrousFullyConvolutionalEndpointShapes."""
    size, kwargs, spatial = ENDPOINT_SHAPE_CASES[case]
    _, end_points = run(resnet_small, create_test_input(2, size, size, 3), num_classes=10, scope="resnet", **kwargs)
    for block, depth, side in zip(range(1, 5), (4, 8, 16, 32), spatial):
        assert end_points[f"resnet/block{block}"].shape == (2, depth, side, side), f"block{block}"


@pytest.mark.parametrize("output_stride", [4, 8, 16, 32, None])
def test_atrous_fully_convolutional_values(output_stride):
    """Dense feature extraction by atrous convolution, subsampled, equals the nominal network (same weights)."""
    nominal_stride = 32
    factor = 1 if output_stride is None else nominal_stride // output_stride

    def dense_and_nominal(inputs):
        output, _ = resnet_small(inputs, None, is_training=False, global_pool=False, output_stride=output_stride)
        output = resnet_utils.subsample(output, factor)
        with slim.variable_scope(slim.get_variable_scope(), reuse=True):
            expected, _ = resnet_small(inputs, None, is_training=False, global_pool=False)
        return output, expected

    output, expected = run(dense_and_nominal, create_test_input(2, 81, 81, 3))
    assert output.shape == expected.shape == (2, 32, 3, 3)  # 81 / 32 -> 3
    torch.testing.assert_close(output, expected, atol=1e-4, rtol=1e-4)


def test_unknown_batch_size():
    """No unknown shapes in PyTorch: the model built at batch 1 runs at batch 2 (TF: [None, 1, 1, 10] -> [2, ...])."""
    model = slim.Model(
        resnet_small, arg_scope=resnet_utils.resnet_arg_scope(), num_classes=10, spatial_squeeze=False, scope="resnet"
    ).build(create_test_input(1, 65, 65, 3))
    model.eval()
    logits, end_points = model(create_test_input(2, 65, 65, 3))
    assert end_points["resnet/logits"] is logits and logits.shape == (2, 10, 1, 1)


@pytest.mark.parametrize("output_stride, side", [(None, 3), (8, 9)], ids=["nominal", "atrous"])
def test_fully_convolutional_unknown_height_width(output_stride, side):
    """testFullyConvolutionalUnknownHeightWidth (65 -> 3 x 3) and its atrous variant at output_stride 8 (9 x 9)."""
    output, _ = run(resnet_small, create_test_input(2, 65, 65, 3), global_pool=False, output_stride=output_stride)
    assert output.shape == (2, 32, side, side)


def test_unknown_height_width_in_exported_graph():
    """The closest PyTorch has to TF's unknown height/width: one exported graph with dynamic height and width gives
    the eager model's output at 65 x 65 and at 97 x 81."""
    model = slim.Model(resnet_small, arg_scope=resnet_utils.resnet_arg_scope(), global_pool=False)
    model.build(create_test_input(1, 65, 65, 3))
    model.eval()
    # From 65 on, torch's symbolic shapes can prove that block4 is larger than 1 x 1 (a contiguity guard needs it).
    height, width = torch.export.Dim("height", min=65, max=512), torch.export.Dim("width", min=65, max=512)
    exported = torch.export.export(
        model, (create_test_input(2, 65, 65, 3),), dynamic_shapes={"inputs": {2: height, 3: width}}
    )
    for size in ((65, 65), (97, 81)):
        x = torch.randn(2, 3, *size)
        with torch.no_grad():
            expected, _ = model(x)
            output, _ = exported.module()(x)
        assert output.shape == (2, 32, -(-size[0] // 32), -(-size[1] // 32))
        torch.testing.assert_close(output, expected)


def test_depth_multiplier():
    """depth_multiplier 0.25 scales every block's depth by 0.25 and keeps the spatial sizes (min_base_depth 1).

    TF-Slim's test uses 224 x 224; 64 x 64 keeps the assertion (block4 is 2 x 2) and the test fast.
    """
    inputs = create_test_input(1, 64, 64, 3)
    _, base = run(resnet_v1.resnet_v1_50, inputs, num_classes=10, min_base_depth=1, scope="resnet_v1_50_base")
    _, test = run(
        resnet_v1.resnet_v1_50,
        inputs,
        num_classes=10,
        min_base_depth=1,
        depth_multiplier=0.25,
        scope="resnet_v1_50_test",
    )
    for block in ("block1", "block2", "block3", "block4"):
        base_shape, test_shape = base[f"resnet_v1_50_base/{block}"].shape, test[f"resnet_v1_50_test/{block}"].shape
        assert len(base_shape) == len(test_shape) == 4
        assert base_shape[0] == test_shape[0] and base_shape[2:] == test_shape[2:]
        assert test_shape[1] == int(0.25 * base_shape[1])


@pytest.mark.parametrize("num_layers", [101, 152, 200])
def test_depth_multiplier_deeper_variants(num_layers):
    """The same for the deeper variants, against the full-width depths 256/512/1024/2048 and 64 x 64's nominal sizes
    8/4/2/2 instead of a full-width build (whose 40-65 million initial values take long to draw on CI)."""
    name = f"resnet_v1_{num_layers}"
    inputs = create_test_input(1, 64, 64, 3)
    _, end_points = run(VARIANTS[num_layers], inputs, num_classes=10, min_base_depth=1, depth_multiplier=0.25)
    for block, full_depth, side in zip(("block1", "block2", "block3", "block4"), (256, 512, 1024, 2048), (8, 4, 2, 2)):
        assert end_points[f"{name}/{block}"].shape == (1, int(0.25 * full_depth), side, side)


@pytest.mark.parametrize("num_layers", sorted(VARIANTS))
def test_min_base_depth(num_layers):
    """depth_multiplier 0 leaves min_base_depth (5) everywhere: every block's output depth is 4 x 5."""
    name = f"resnet_v1_{num_layers}"
    _, end_points = run(
        VARIANTS[num_layers], create_test_input(1, 64, 64, 3), num_classes=10, min_base_depth=5, depth_multiplier=0
    )
    for block in ("block1", "block2", "block3", "block4"):
        assert end_points[f"{name}/{block}"].shape[1] == 20


# --- beyond TF-Slim's tests: arguments, factory, compile and export -------------------------------------------------


def test_output_stride_must_be_a_multiple_of_4():
    with pytest.raises(ValueError, match="output_stride needs to be a multiple of 4.*got output_stride=6"):
        run(resnet_small, create_test_input(1, 65, 65, 3), output_stride=6)
    # 64 is 16 relative to the blocks' input, which the blocks' strides (2 x 2 x 2) cannot reach.
    with pytest.raises(ValueError, match="output_stride 16 \\(relative to the blocks' input\\) cannot be reached"):
        run(resnet_small, create_test_input(1, 65, 65, 3), output_stride=64)


def test_train_and_eval_with_reuse_in_one_model():
    def train_and_eval(images):
        train_logits, _ = resnet_small(images, num_classes=5, is_training=True, scope="resnet")
        eval_logits, _ = resnet_small(images, num_classes=5, is_training=False, reuse=True, scope="resnet")
        return train_logits, eval_logits

    model = slim.Model(train_and_eval, arg_scope=resnet_utils.resnet_arg_scope()).build(torch.zeros(2, 3, 64, 64))
    names = list(model.state_dict())
    assert len(names) == len(set(names)) and all(n.startswith("resnet/") for n in names)
    x = torch.randn(2, 3, 64, 64)
    train_logits, eval_logits = model(x)
    assert train_logits.shape == eval_logits.shape == (2, 5)
    assert not torch.allclose(train_logits, eval_logits)  # batch statistics vs moving statistics
    moving_mean = model.state_dict()["resnet/conv1/BatchNorm/moving_mean"]
    assert moving_mean.abs().sum() > 0  # the training-mode call updated the moving statistics


@pytest.mark.parametrize("batch_norm_scale", [True, False])
def test_batch_norm_scale_creates_gamma(batch_norm_scale):
    model = slim.Model(resnet_small, arg_scope=resnet_utils.resnet_arg_scope(batch_norm_scale=batch_norm_scale))
    state = model.build(torch.zeros(1, 3, 64, 64)).state_dict()
    means = [name for name in state if name.endswith("/BatchNorm/moving_mean")]
    assert len(means) == 1 + 11 * 3 + 4  # conv1, three convs per unit, one shortcut per block
    assert all((name.replace("moving_mean", "gamma") in state) == batch_norm_scale for name in means)


def test_use_bounded_activations():
    def unit(inputs):
        with slim.arg_scope(resnet_utils.resnet_arg_scope(use_batch_norm=False)):
            bounded = resnet_v1.bottleneck(inputs, 8, 2, 1, use_bounded_activations=True, scope="unit")
            with slim.variable_scope(slim.get_variable_scope(), reuse=True):
                plain = resnet_v1.bottleneck(inputs, 8, 2, 1, scope="unit")
        return bounded, plain

    bounded, plain = run(unit, 10 * torch.randn(1, 4, 9, 9))
    assert bounded.max() <= 6.0 and plain.max() > 6.0
    assert bounded.min() >= 0.0


def test_factory_registration():
    for num_layers, network in VARIANTS.items():
        spec = nets_factory.get_network_spec(f"resnet_v1_{num_layers}")
        assert spec.fn is network and spec.arg_scope_fn is resnet_utils.resnet_arg_scope and not spec.kwargs
        assert spec.default_image_size == network.default_image_size == 224 and spec.preprocessing == "vgg"
    # num_classes defaults to None: the pooled features, no logits (the factory networks are checked against TF's
    # variables and end points in test_nets_factory_networks.py).
    features, end_points = run(resnet_v1.resnet_v1_50, torch.zeros(1, 3, 64, 64), depth_multiplier=0.125)
    assert features.shape == (1, 4 * 64, 1, 1) and end_points["global_pool"] is features
    assert "predictions" not in end_points and "resnet_v1_50/logits" not in end_points


def test_compiles_without_graph_breaks_and_exports():
    model = slim.Model(resnet_small, arg_scope=resnet_utils.resnet_arg_scope(), num_classes=10)
    x = torch.randn(2, 3, 64, 64)
    model.build(x)
    model.eval()
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        expected, _ = model(x)
        logits, end_points = exported.module()(x)
    torch.testing.assert_close(logits, expected)
    assert "resnet_v1_small/block4" in end_points
