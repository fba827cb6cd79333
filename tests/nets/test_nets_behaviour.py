"""What TF-Slim's own network tests assert, per family (facts from ../shared/reference/nets_facts.json), plus
torch.compile without graph breaks and torch.export for one network of every family.

Inputs are kept small where the assertion allows, so the whole module runs in CI time.
"""

from __future__ import annotations

import pytest
import torch

import slim
from slim.nets import (
    inception_v1,
    inception_v3,
    mobilenet_v1,
    nets_factory,
    resnet_utils,
    resnet_v1,
    vgg,
)
from slim.nets.mobilenet import mobilenet_v2


def build(fn, shape, **kwargs):
    torch.manual_seed(0)
    model = slim.Model(fn, **kwargs).build(torch.zeros(shape))
    model.eval()
    return model


def test_factory_lists_40_networks_and_rejects_unknown_names():
    names = nets_factory.list_networks()
    assert len(names) == 40 and "inception_v3" in names and "pnasnet_mobile" in names
    with pytest.raises(ValueError, match="Name of network unknown resnet_v3_50.*Known networks: alexnet_v2"):
        nets_factory.get_network_fn("resnet_v3_50", num_classes=10)


def test_factory_network_fn_has_default_image_size_and_arg_scope():
    model = nets_factory.get_network_fn("inception_v3", num_classes=5, weight_decay=0.1)
    assert model.default_image_size == 299 and not model.training
    model.build(torch.zeros(1, 3, 150, 150))
    with slim.collection_scope():
        model(torch.zeros(1, 3, 150, 150))
        assert len(slim.losses.get_regularization_losses()) > 50  # weight_decay reached every conv
    model0 = nets_factory.get_network_fn("inception_v3", num_classes=5).build(torch.zeros(1, 3, 150, 150))
    assert model0.regularization_losses() == []  # the factory's default weight_decay 0.0 adds none


def test_vgg_fully_convolutional_and_global_pool():
    # VGG16Test.testFullyConvolutional / testGlobalPool at 256 x 256 (NCHW).
    logits, _ = build(vgg.vgg_16, (1, 3, 256, 256), spatial_squeeze=False)(torch.zeros(1, 3, 256, 256))
    assert logits.shape == (1, 1000, 2, 2)
    logits, end_points = build(vgg.vgg_a, (1, 3, 256, 256), spatial_squeeze=False, global_pool=True)(
        torch.zeros(1, 3, 256, 256)
    )
    assert logits.shape == (1, 1000, 1, 1) and "global_pool" in end_points


def test_no_classes_returns_features():
    net, end_points = build(vgg.vgg_a, (1, 3, 224, 224), num_classes=0)(torch.zeros(1, 3, 224, 224))
    assert net.shape == (1, 4096, 1, 1) and "vgg_a/fc8" not in end_points
    net, end_points = build(inception_v1.inception_v1, (1, 3, 224, 224), num_classes=None)(torch.zeros(1, 3, 224, 224))
    assert net.shape == (1, 1024, 1, 1) and "Logits" not in end_points


@pytest.mark.parametrize("endpoint", ["Conv2d_1a_3x3", "Mixed_5b", "Mixed_6e"])
def test_inception_v3_final_endpoint(endpoint):
    model = build(inception_v3.inception_v3_base, (1, 3, 160, 160), final_endpoint=endpoint)
    out, end_points = model(torch.zeros(1, 3, 160, 160))
    assert list(end_points)[-1] == endpoint and end_points[endpoint] is out
    with pytest.raises(ValueError, match="Unknown final endpoint"):
        build(inception_v3.inception_v3_base, (1, 3, 160, 160), final_endpoint="Mixed_9z")


@pytest.mark.parametrize("multiplier, ratio", [(0.5, 0.5), (2.0, 2.0)])
def test_inception_v3_depth_multiplier(multiplier, ratio):
    base = build(inception_v3.inception_v3_base, (1, 3, 150, 150))(torch.zeros(1, 3, 150, 150))[1]
    scaled = build(inception_v3.inception_v3_base, (1, 3, 150, 150), depth_multiplier=multiplier)(
        torch.zeros(1, 3, 150, 150)
    )[1]
    for key in ("Mixed_5b", "Mixed_7c"):
        assert scaled[key].shape[1] == int(base[key].shape[1] * ratio)
    for bad in (-0.1, 0.0):
        with pytest.raises(ValueError, match="depth_multiplier is not greater than zero"):
            build(inception_v3.inception_v3, (1, 3, 150, 150), depth_multiplier=bad)


def test_inception_v3_half_size_and_global_pool_non_square():
    # InceptionV3Test: 150 x 150 -> Mixed_7c 3 x 3; global pool on 330 x 400 keeps 8 x 11 at Mixed_7c.
    _, end_points = build(inception_v3.inception_v3, (1, 3, 150, 150))(torch.zeros(1, 3, 150, 150))
    assert end_points["Mixed_7c"].shape == (1, 2048, 3, 3)
    _, end_points = build(inception_v3.inception_v3, (1, 3, 330, 400), global_pool=True)(torch.zeros(1, 3, 330, 400))
    assert end_points["Mixed_7c"].shape == (1, 2048, 8, 11)


def test_train_and_eval_with_reuse_in_one_model():
    def train_and_eval(images):
        train_logits, _ = inception_v1.inception_v1(images, num_classes=5, is_training=True)
        eval_logits, _ = inception_v1.inception_v1(images, num_classes=5, is_training=False, reuse=True)
        return train_logits, eval_logits

    model = slim.Model(train_and_eval).build(torch.zeros(2, 3, 224, 224))
    names = list(model.state_dict())
    assert len(names) == len(set(names)) and all(n.startswith("InceptionV1/") for n in names)
    train_logits, eval_logits = model(torch.randn(2, 3, 224, 224))
    assert train_logits.shape == eval_logits.shape == (2, 5)


def test_batch_norm_scale_creates_gamma():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        model = build(mobilenet_v1.mobilenet_v1, (1, 3, 64, 64), num_classes=3)
    assert all(
        f"{name[: -len('moving_mean')]}gamma" in model.state_dict()
        for name in model.state_dict()
        if name.endswith("moving_mean")
    )
    plain = build(inception_v1.inception_v1_base, (1, 3, 64, 64))
    assert not any(name.endswith("gamma") for name in plain.state_dict())


def test_resnet_conv2d_same_equals_explicit_padding():
    # ResnetUtilsTest.testConv2DSameEven/Odd: conv2d_same (stride 2) equals a SAME conv subsampled by 2.
    for size in (4, 5):
        x = torch.arange(size * size, dtype=torch.float32).reshape(1, 1, size, size)

        def with_reuse(inputs):
            with slim.arg_scope(
                [slim.conv2d],
                weights_initializer=slim.ones_initializer(),
                biases_initializer=slim.zeros_initializer(),
                activation_fn=None,
            ):
                same = resnet_utils.conv2d_same(inputs, 1, 3, stride=1, scope="Conv")
                with slim.arg_scope([slim.conv2d], reuse=True):
                    strided = resnet_utils.conv2d_same(inputs, 1, 3, stride=2, scope="Conv")
                return same, strided

        same, strided = slim.Model(with_reuse).build(x)(x)
        assert torch.allclose(strided, resnet_utils.subsample(same, 2))


def test_resnet_atrous_output_stride():
    # ResnetCompleteNetworkTest.testAtrousFullyConvolutionalValues: output_stride 8 keeps 1/8 resolution.
    # 65 -> conv1 33 -> pool1 (SAME, from resnet_arg_scope) 17 -> block1 9, then atrous: 9 x 9 to the end.
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
        model = build(resnet_v1.resnet_v1_50, (1, 3, 65, 65), output_stride=8, global_pool=False)
        _, end_points = model(torch.zeros(1, 3, 65, 65))
        assert all(end_points[f"resnet_v1_50/block{i}"].shape[-2:] == (9, 9) for i in range(1, 5))
        with pytest.raises(ValueError, match="output_stride needs to be a multiple of 4"):
            build(resnet_v1.resnet_v1_50, (1, 3, 65, 65), output_stride=6)


def test_mobilenet_v2_output_layers_and_multiplier_rounding():
    # MobilenetV2Test: layer_18/output spatial 7 at 224; depth 0.35 with finegrain keeps the 1280-wide last layer.
    _, end_points = build(mobilenet_v2.mobilenet, (1, 3, 224, 224))(torch.zeros(1, 3, 224, 224))
    assert end_points["layer_18/output"].shape[-2:] == (7, 7)
    assert all(f"layer_{i}/depthwise_output" in end_points for i in range(2, 17))
    _, end_points = build(mobilenet_v2.mobilenet_v2_035, (1, 3, 96, 96))(torch.zeros(1, 3, 96, 96))
    assert end_points["layer_19"].shape[1] == 1280


def _small_nasnet(images, num_classes, is_training=None):
    from slim.nets.nasnet import nasnet

    config = nasnet.cifar_config()
    config.num_cells, config.num_conv_filters = 3, 8
    return nasnet.build_nasnet_cifar(images, num_classes, is_training=is_training, config=config)


# One network per family, at a small input (kwargs keep the net valid at that size).
FAMILY_EXAMPLES = [
    ("vgg_a", (1, 3, 64, 64), {"fc_conv_padding": "SAME", "global_pool": True}),
    ("inception_v1", (1, 3, 64, 64), {"global_pool": True}),
    ("resnet_v2_50", (1, 3, 64, 64), {}),
    ("mobilenet_v1", (1, 3, 64, 64), {}),
    ("mobilenet_v3_small", (1, 3, 64, 64), {}),
    ("nasnet_cifar", (1, 3, 32, 32), {}),
    ("lenet", (1, 3, 28, 28), {}),
    ("i3d", (1, 3, 4, 32, 32), {}),
]


@pytest.mark.parametrize("name, shape, kwargs", FAMILY_EXAMPLES, ids=[f[0] for f in FAMILY_EXAMPLES])
def test_compile_without_graph_breaks_and_export(name, shape, kwargs):
    model = nets_factory.get_network_fn(name, num_classes=7)
    if name == "nasnet_cifar":
        model = slim.Model(_small_nasnet, num_classes=7, arg_scope=model._arg_scope)
        model.eval()
    model._kwargs.update(kwargs)
    x = torch.randn(shape)
    model.build(x)
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    program = torch.export.export(model, (x,))
    torch.manual_seed(3)
    y = torch.randn(shape)
    assert torch.allclose(program.module()(y)[0], model(y)[0], atol=1e-4)
