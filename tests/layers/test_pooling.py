"""Pooling layers: shapes, TF SAME padding, names."""

import pytest
import torch

import slim
from slim.testing import run_layer_test


@pytest.mark.parametrize("layer", [slim.max_pool2d, slim.avg_pool2d])
@pytest.mark.parametrize(
    "size, kernel, stride, padding, out",
    [(7, 3, 2, "SAME", 4), (8, 3, 2, "SAME", 4), (8, 2, 2, "VALID", 4), (7, 3, 1, "SAME", 7), (7, 2, 1, "SAME", 7)],
)
def test_pool2d_shapes(layer, size, kernel, stride, padding, out):
    run_layer_test(
        layer,
        (2, 3, size, size),
        args=(kernel,),
        kwargs=dict(stride=stride, padding=padding),
        expected_output_shape=(2, 3, out, out),
        expected_variables={},
    )


def test_avg_pool_same_excludes_padding_from_the_divisor():
    x = torch.ones(1, 1, 4, 4)
    y = slim.Model(lambda t: slim.avg_pool2d(t, 3, stride=2, padding="SAME")).build(x)(x)
    assert torch.equal(y, torch.ones(1, 1, 2, 2))  # every window averages only real ones
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y = slim.Model(lambda t: slim.avg_pool2d(t, 2, stride=1, padding="SAME")).build(x)(x)
    # Bottom-right corner: the extra pixel is padded after, so the last window holds one real cell.
    assert y[0, 0, 3, 3] == 15.0 and y[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4


def test_max_pool_same_pads_with_minus_infinity():
    x = -torch.ones(1, 1, 4, 4)
    y = slim.Model(lambda t: slim.max_pool2d(t, 2, stride=1, padding="SAME")).build(x)(x)
    assert torch.equal(y, -torch.ones(1, 1, 4, 4))


def test_pool3d_and_generic_pool():
    run_layer_test(slim.max_pool3d, (1, 2, 4, 6, 6), args=(2,), expected_output_shape=(1, 2, 2, 3, 3))
    run_layer_test(
        slim.avg_pool3d,
        (1, 2, 5, 6, 6),
        args=([1, 3, 3],),
        kwargs=dict(stride=[1, 2, 2], padding="SAME"),
        expected_output_shape=(1, 2, 5, 3, 3),
    )
    run_layer_test(
        slim.pool,
        (1, 2, 7, 7),
        args=(3, "MAX"),
        kwargs=dict(padding="SAME", dilation_rate=2),
        expected_output_shape=(1, 2, 7, 7),
    )
    with pytest.raises(ValueError, match="pooling_type"):
        slim.Model(lambda t: slim.pool(t, 3, "MIN")).build(torch.zeros(1, 1, 4, 4))


def test_pool_end_point_names():
    def fn(x):
        coll = "eps"
        x = slim.max_pool2d(x, 2, outputs_collections=coll)
        x = slim.max_pool2d(x, 2, outputs_collections=coll)
        with slim.variable_scope("net"):
            x = slim.avg_pool2d(x, 1, scope="pool3", outputs_collections=coll)
        return slim.utils.convert_collection_to_dict(coll)

    end_points = slim.Model(fn).build(torch.zeros(1, 1, 8, 8))(torch.zeros(1, 1, 8, 8))
    assert list(end_points) == ["MaxPool2D", "MaxPool2D_1", "net/pool3"]
