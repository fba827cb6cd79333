"""slim.nets.resnet_v2, translated from TF-Slim's resnet_v2_test.py (ResnetUtilsTest.testEndPointsV2 and
ResnetCompleteNetworkTest), plus the pre-activation structure, the factory registration and torch.compile.

Like TF-Slim's tests these build a tiny ResNet v2 (base depths 1/2/4/8, 3/3/3/2 units, scope ``resnet``). Shapes are
NCHW: TF's [2, 28, 28, 4] is [2, 4, 28, 28] here. ``create_test_input`` is TF-Slim's test input: pixel (i, j) holds
i + j in every channel. The resnet_utils tests (subsample, conv2d_same, atrous stack_blocks_dense with v2 blocks) are
in test_resnet_utils.py.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import nets_factory, resnet_utils, resnet_v2

VARIANTS = {
    50: resnet_v2.resnet_v2_50,
    101: resnet_v2.resnet_v2_101,
    152: resnet_v2.resnet_v2_152,
    200: resnet_v2.resnet_v2_200,
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
    scope="resnet_v2_small",
):
    """A shallow and thin ResNet v2 for fast tests (TF-Slim's ``_resnet_small``)."""
    block = resnet_v2.resnet_v2_block
    blocks = [
        block("block1", base_depth=1, num_units=3, stride=2),
        block("block2", base_depth=2, num_units=3, stride=2),
        block("block3", base_depth=4, num_units=3, stride=2),
        block("block4", base_depth=8, num_units=2, stride=1),
    ]
    return resnet_v2.resnet_v2(
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


def build(fn, inputs: torch.Tensor, **kwargs) -> slim.Model:
    """``slim.Model(fn, arg_scope=resnet_arg_scope(), **kwargs)``, built and in eval mode."""
    model = slim.Model(fn, arg_scope=resnet_utils.resnet_arg_scope(), **kwargs).build(inputs)
    return model.eval()


def run(fn, inputs: torch.Tensor, **kwargs):
    with torch.no_grad():
        return build(fn, inputs, **kwargs)(inputs)


# --- ResnetUtilsTest ------------------------------------------------------------------------------------------------


def test_end_points_v2():
    """The end points of a plain stack of two tiny v2 blocks: every conv of every unit, by full scope name."""
    blocks = [
        resnet_v2.resnet_v2_block("block1", base_depth=1, num_units=2, stride=2),
        resnet_v2.resnet_v2_block("block2", base_depth=2, num_units=2, stride=1),
    ]

    def resnet_plain(inputs):
        with slim.variable_scope("tiny", values=[inputs]):
            with slim.arg_scope([slim.conv2d], outputs_collections="end_points"):
                net = resnet_utils.stack_blocks_dense(inputs, blocks)
                return net, slim.utils.convert_collection_to_dict("end_points")

    _, end_points = run(resnet_plain, create_test_input(2, 32, 16, 3))
    expected = [
        "tiny/block1/unit_1/bottleneck_v2/shortcut",
        "tiny/block1/unit_1/bottleneck_v2/conv1",
        "tiny/block1/unit_1/bottleneck_v2/conv2",
        "tiny/block1/unit_1/bottleneck_v2/conv3",
        "tiny/block1/unit_2/bottleneck_v2/conv1",
        "tiny/block1/unit_2/bottleneck_v2/conv2",
        "tiny/block1/unit_2/bottleneck_v2/conv3",
        "tiny/block2/unit_1/bottleneck_v2/shortcut",
        "tiny/block2/unit_1/bottleneck_v2/conv1",
        "tiny/block2/unit_1/bottleneck_v2/conv2",
        "tiny/block2/unit_1/bottleneck_v2/conv3",
        "tiny/block2/unit_2/bottleneck_v2/conv1",
        "tiny/block2/unit_2/bottleneck_v2/conv2",
        "tiny/block2/unit_2/bottleneck_v2/conv3",
    ]
    assert sorted(end_points) == sorted(expected)


# --- ResnetCompleteNetworkTest --------------------------------------------------------------------------------------


def test_classification_end_points():
    logits, end_points = run(
        resnet_small,
        create_test_input(2, 224, 224, 3),
        num_classes=10,
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
                expected.append(f"resnet/block{block}/unit_{unit}/bottleneck_v2/conv{conv}")
            expected.append(f"resnet/block{block}/unit_{unit}/bottleneck_v2")
        expected.append(f"resnet/block{block}/unit_1/bottleneck_v2/shortcut")
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
    model = build(resnet_small, create_test_input(1, 65, 65, 3), num_classes=10, spatial_squeeze=False, scope="resnet")
    logits, end_points = model(create_test_input(2, 65, 65, 3))
    assert end_points["resnet/logits"] is logits and logits.shape == (2, 10, 1, 1)


@pytest.mark.parametrize("output_stride, side", [(None, 3), (8, 9)], ids=["nominal", "atrous"])
def test_fully_convolutional_unknown_height_width(output_stride, side):
    """testFullyConvolutionalUnknownHeightWidth (65 -> 3 x 3) and its atrous variant at output_stride 8 (9 x 9)."""
    output, _ = run(resnet_small, create_test_input(2, 65, 65, 3), global_pool=False, output_stride=output_stride)
    assert output.shape == (2, 32, side, side)


# --- beyond TF-Slim's tests -----------------------------------------------------------------------------------------


def test_pre_activation_structure():
    """conv1 has no batch norm (units normalise their input: ``preact``); conv3 and the shortcut have none either;
    ``postnorm`` normalises the last block's output."""
    state = build(resnet_small, torch.zeros(1, 3, 64, 64), num_classes=10, scope="resnet").state_dict()
    assert "resnet/conv1/biases" in state and not any(n.startswith("resnet/conv1/BatchNorm") for n in state)
    unit = "resnet/block1/unit_1/bottleneck_v2"
    for name in ("preact/gamma", "conv1/BatchNorm/gamma", "conv2/BatchNorm/gamma", "conv3/biases", "shortcut/biases"):
        assert f"{unit}/{name}" in state, name
    assert not any(n.startswith((f"{unit}/conv3/BatchNorm", f"{unit}/shortcut/BatchNorm")) for n in state)
    assert "resnet/postnorm/moving_variance" in state and "resnet/logits/biases" in state


def test_output_stride_must_be_a_multiple_of_4():
    with pytest.raises(ValueError, match="output_stride needs to be a multiple of 4.*got output_stride=6"):
        run(resnet_small, create_test_input(1, 65, 65, 3), output_stride=6)


def test_train_and_eval_with_reuse_in_one_model():
    def train_and_eval(images):
        train_logits, _ = resnet_small(images, num_classes=5, is_training=True, scope="resnet")
        eval_logits, _ = resnet_small(images, num_classes=5, is_training=False, reuse=True, scope="resnet")
        return train_logits, eval_logits

    model = slim.Model(train_and_eval, arg_scope=resnet_utils.resnet_arg_scope()).build(torch.zeros(2, 3, 64, 64))
    names = list(model.state_dict())
    assert len(names) == len(set(names)) and all(n.startswith("resnet/") for n in names)
    train_logits, eval_logits = model(torch.randn(2, 3, 64, 64))
    assert train_logits.shape == eval_logits.shape == (2, 5)
    assert not torch.allclose(train_logits, eval_logits)  # batch statistics vs moving statistics


def test_factory_registration():
    for num_layers, network in VARIANTS.items():
        spec = nets_factory.get_network_spec(f"resnet_v2_{num_layers}")
        assert spec.fn is network and spec.arg_scope_fn is resnet_utils.resnet_arg_scope and not spec.kwargs
        assert spec.default_image_size == network.default_image_size == 224 and spec.preprocessing == "vgg"


def test_compiles_without_graph_breaks():
    model = build(resnet_small, torch.zeros(2, 3, 64, 64), num_classes=10)
    explanation = torch._dynamo.explain(model)(torch.randn(2, 3, 64, 64))
    assert explanation.graph_break_count == 0, explanation.break_reasons
