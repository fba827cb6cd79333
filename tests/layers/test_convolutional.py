"""Convolution layers through the shared layer harness, plus TF-Slim-specific behaviour."""

import pytest
import torch

import slim
from slim.testing import run_layer_test


@pytest.mark.parametrize(
    "size, kernel, stride, padding, out",
    [(7, 3, 1, "SAME", 7), (7, 3, 2, "SAME", 4), (8, 3, 2, "SAME", 4), (8, 5, 2, "VALID", 2), (7, 1, 2, "SAME", 4)],
)
def test_conv2d(size, kernel, stride, padding, out):
    run_layer_test(
        slim.conv2d,
        (2, 3, size, size),
        args=(4, kernel),
        kwargs=dict(stride=stride, padding=padding),
        expected_output_shape=(2, 4, out, out),
        expected_variables={"layer/weights": (4, 3, kernel, kernel), "layer/biases": (4,)},
    )


def test_conv2d_default_scope_and_no_biases_with_normalizer():
    model = slim.Model(lambda x: slim.conv2d(x, 4, 3, normalizer_fn=slim.batch_norm)).build(torch.zeros(1, 3, 5, 5))
    assert sorted(model.state_dict()) == [
        "Conv/BatchNorm/beta",
        "Conv/BatchNorm/moving_mean",
        "Conv/BatchNorm/moving_variance",
        "Conv/weights",
    ]


def test_conv2d_without_biases():
    run_layer_test(
        slim.conv2d,
        (1, 3, 5, 5),
        args=(4, 3),
        kwargs=dict(biases_initializer=None),
        expected_variables={"layer/weights": (4, 3, 3, 3)},
    )


def test_conv2d_rate_dilates():
    run_layer_test(slim.conv2d, (1, 2, 9, 9), args=(3, 3), kwargs=dict(rate=2), expected_output_shape=(1, 3, 9, 9))
    with pytest.raises(ValueError, match="rate > 1 cannot be combined with stride > 1"):
        slim.Model(lambda x: slim.conv2d(x, 3, 3, stride=2, rate=2)).build(torch.zeros(1, 2, 9, 9))


def test_conv1d_and_conv3d():
    run_layer_test(
        slim.conv1d,
        (2, 3, 10),
        args=(4, 3),
        kwargs=dict(stride=2),
        expected_output_shape=(2, 4, 5),
        expected_variables={"layer/weights": (4, 3, 3), "layer/biases": (4,)},
    )
    run_layer_test(
        slim.conv3d,
        (1, 2, 4, 6, 6),
        args=(3, [1, 3, 3]),
        expected_output_shape=(1, 3, 4, 6, 6),
        expected_variables={"layer/weights": (3, 2, 1, 3, 3), "layer/biases": (3,)},
    )
    run_layer_test(slim.convolution, (1, 2, 4, 6, 6), args=(3, 2), expected_output_shape=(1, 3, 4, 6, 6))


def test_channels_last_data_format():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6)

    def fn(inputs, fmt):
        return slim.conv2d(inputs, 4, 3, stride=2, data_format=fmt, scope="c")

    nchw = slim.Model(fn, fmt="NCHW").build(x)
    nhwc = slim.Model(fn, fmt="NHWC").build(x.permute(0, 2, 3, 1))
    nhwc.load_state_dict(nchw.state_dict())
    assert torch.allclose(nhwc(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), nchw(x), atol=1e-6)
    with pytest.raises(ValueError, match="data_format must be 'NCHW' or 'NHWC'"):
        slim.Model(fn, fmt="NCWH").build(x)


def test_bad_padding_is_an_error():
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        slim.Model(lambda x: slim.conv2d(x, 4, 3, padding="FULL")).build(torch.zeros(1, 3, 5, 5))


def test_separable_conv2d():
    run_layer_test(
        slim.separable_conv2d,
        (2, 3, 8, 8),
        args=(5, 3),
        kwargs=dict(depth_multiplier=2, stride=2),
        expected_output_shape=(2, 5, 4, 4),
        expected_variables={
            "layer/depthwise_weights": (3, 2, 3, 3),
            "layer/pointwise_weights": (5, 6, 1, 1),
            "layer/biases": (5,),
        },
    )


def test_separable_conv2d_depthwise_only():
    run_layer_test(
        slim.separable_conv2d,
        (2, 3, 8, 8),
        args=(None, 3),
        kwargs=dict(depth_multiplier=2),
        expected_output_shape=(2, 6, 8, 8),
        expected_variables={"layer/depthwise_weights": (3, 2, 3, 3), "layer/biases": (6,)},
    )


def test_depthwise_channel_order_is_tf_order():
    """TF's depthwise output channel i * multiplier + m comes from input channel i and filter m."""

    def fn(x):
        return slim.separable_conv2d(
            x, None, 1, depth_multiplier=2, activation_fn=None, biases_initializer=None, scope="dw"
        )

    model = slim.Model(fn).build(torch.zeros(1, 3, 2, 2))
    weights = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]).reshape(3, 2, 1, 1)  # [in, mult, 1, 1]
    model.load_state_dict({"dw/depthwise_weights": weights})
    x = torch.ones(1, 3, 2, 2)
    assert model(x)[0, :, 0, 0].tolist() == [1.0, 10.0, 2.0, 20.0, 3.0, 30.0]


@pytest.mark.parametrize(
    "size, kernel, stride, padding, out",
    [(3, 3, 2, "SAME", 6), (3, 3, 2, "VALID", 7), (4, 2, 3, "VALID", 12), (4, 4, 2, "SAME", 8), (3, 2, 2, "VALID", 6)],
)
def test_conv2d_transpose_output_sizes(size, kernel, stride, padding, out):
    run_layer_test(
        slim.conv2d_transpose,
        (1, 3, size, size),
        args=(4, kernel),
        kwargs=dict(stride=stride, padding=padding),
        expected_output_shape=(1, 4, out, out),
        expected_variables={"layer/weights": (3, 4, kernel, kernel), "layer/biases": (4,)},
    )


def test_conv2d_in_plane():
    model = run_layer_test(
        slim.conv2d_in_plane,
        (2, 3, 6, 6),
        args=(3,),
        expected_output_shape=(2, 3, 6, 6),
        expected_variables={"layer/weights": (1, 1, 3, 3), "layer/biases": (3,)},
    )
    # The same filter on every channel: equal channels in, equal channels out.
    x = torch.randn(1, 1, 6, 6).repeat(1, 3, 1, 1)
    model.load_state_dict({**model.state_dict(), "layer/biases": torch.zeros(3)})
    y = model(x)
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])


def test_variables_collections_dict_and_trainable_false():
    def fn(x):
        return slim.conv2d(x, 2, 1, variables_collections={"weights": ["my_weights"]}, trainable=False, scope="c")

    model = slim.Model(fn).build(torch.zeros(1, 2, 3, 3))
    assert [v.op.name for v in slim.get_variables(collection="my_weights", model=model)] == ["c/weights"]
    assert list(dict(model.named_parameters())) == []
    assert slim.get_model_variables(model=model)[0].op.name == "c/weights"


def test_initializers_see_tf_fans():
    """xavier over the TF shape [kh, kw, in, out]: limit sqrt(6 / ((in + out) * kh * kw))."""
    model = slim.Model(lambda x: slim.conv2d(x, 64, 3)).build(torch.zeros(1, 32, 3, 3))
    limit = (6.0 / ((32 + 64) * 9)) ** 0.5
    weights = model.state_dict()["Conv/weights"]
    assert weights.abs().max() <= limit and weights.abs().max() > 0.95 * limit
