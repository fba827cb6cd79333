"""repeat and stack: TF-Slim's scope naming."""

import pytest
import torch

import slim


def test_repeat_names():
    model = slim.Model(lambda x: slim.repeat(x, 3, slim.conv2d, 4, [3, 3], scope="conv3")).build(
        torch.zeros(1, 4, 5, 5)
    )
    weights = [n for n in model.state_dict() if n.endswith("weights")]
    assert weights == ["conv3/conv3_1/weights", "conv3/conv3_2/weights", "conv3/conv3_3/weights"]


def test_repeat_default_names():
    model = slim.Model(lambda x: slim.repeat(x, 2, slim.conv2d, 4, [1, 1])).build(torch.zeros(1, 4, 5, 5))
    assert [n for n in model.state_dict() if n.endswith("weights")] == [
        "Repeat/convolution2d_1/weights",
        "Repeat/convolution2d_2/weights",
    ]


def test_stack_names_and_tuple_args():
    model = slim.Model(lambda x: slim.stack(x, slim.fully_connected, [32, 64, 128], scope="fc")).build(
        torch.zeros(1, 8)
    )
    assert [tuple(v.shape) for k, v in model.state_dict().items() if k.endswith("weights")] == [
        (32, 8),
        (64, 32),
        (128, 64),
    ]
    assert "fc/fc_3/weights" in model.state_dict()
    model = slim.Model(lambda x: slim.stack(x, slim.conv2d, [(4, [3, 3]), (8, [1, 1])], scope="c")).build(
        torch.zeros(1, 2, 5, 5)
    )
    assert tuple(model.state_dict()["c/c_2/weights"].shape) == (8, 4, 1, 1)
    with pytest.raises(ValueError, match="stack_args need to be a list or tuple"):
        slim.Model(lambda x: slim.stack(x, slim.fully_connected, 3)).build(torch.zeros(1, 2))
