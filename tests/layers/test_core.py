"""Core layers: fully_connected and partials, bias_add, dropout, flatten, one_hot_encoding, softmax, unit_norm,
maxout, scale_gradient."""

import pytest
import torch

import slim
from slim.testing import run_layer_test


def test_fully_connected():
    run_layer_test(
        slim.fully_connected,
        (4, 6),
        args=(3,),
        expected_output_shape=(4, 3),
        expected_variables={"layer/weights": (3, 6), "layer/biases": (3,)},
    )


def test_fully_connected_rank3_applies_on_last_dim():
    run_layer_test(slim.fully_connected, (2, 5, 6), args=(3,), expected_output_shape=(2, 5, 3))


def test_fully_connected_with_normalizer():
    run_layer_test(
        slim.fully_connected,
        (4, 6),
        args=(3,),
        kwargs=dict(normalizer_fn=slim.batch_norm),
        expected_variables={
            "layer/weights": (3, 6),
            "layer/BatchNorm/beta": (3,),
            "layer/BatchNorm/moving_mean": (3,),
            "layer/BatchNorm/moving_variance": (3,),
        },
        train_eval_differ=True,
    )


def test_partials_activation():
    model = slim.Model(
        lambda x: (slim.linear(x, 3, scope="l"), slim.relu(x, 3, scope="r"), slim.relu6(x, 3, scope="r6"))
    ).build(torch.zeros(1, 4))
    lin, rel, rel6 = model(torch.randn(8, 4) * 10)
    assert (lin < 0).any() and (rel >= 0).all() and (rel6 <= 6).all()
    assert slim.Model(lambda x: slim.fully_connected(x, 2)).build(torch.zeros(1, 2)).store.names() == [
        "fully_connected/weights",
        "fully_connected/biases",
    ]
    with pytest.raises(ValueError, match="num_outputs must be an int"):
        slim.Model(lambda x: slim.fully_connected(x, 2.5)).build(torch.zeros(1, 2))


def test_bias_add():
    run_layer_test(
        slim.bias_add, (2, 3, 4, 4), expected_variables={"layer/biases": (3,)}, expected_output_shape=(2, 3, 4, 4)
    )
    run_layer_test(
        slim.bias_add, (2, 4, 4, 3), kwargs=dict(data_format="NHWC"), expected_variables={"layer/biases": (3,)}
    )


def test_dropout_train_and_eval():
    run_layer_test(slim.dropout, (4, 100), kwargs=dict(keep_prob=0.5), train_eval_differ=True)
    x = torch.ones(1000)
    model = slim.Model(lambda t: slim.dropout(t, 0.8)).build(x)
    model.train()
    y = model(x)
    assert set(torch.unique(y).tolist()) <= {0.0, 1.25}
    assert 0.7 < (y > 0).float().mean() < 0.9
    model.eval()
    assert torch.equal(model(x), x)
    with pytest.raises(ValueError, match="keep_prob must be in"):
        slim.Model(lambda t: slim.dropout(t, 0.0)).build(x)


def test_dropout_noise_shape_and_seed():
    x = torch.ones(2, 8, 3, 3)
    model = slim.Model(lambda t: slim.dropout(t, 0.5, noise_shape=[2, 8, 1, 1], seed=3, is_training=True)).build(x)
    y = model(x)
    assert torch.equal(y, model(x))  # seeded
    per_channel = y.flatten(2)
    assert torch.all(per_channel.max(-1).values == per_channel.min(-1).values)  # whole channels kept or dropped


def test_flatten_uses_tf_channels_last_order():
    x = torch.arange(2 * 3 * 2 * 2.0).reshape(2, 3, 2, 2)  # NCHW
    y = slim.Model(lambda t: slim.flatten(t)).build(x)(x)
    assert torch.equal(y, x.permute(0, 2, 3, 1).reshape(2, -1))
    assert slim.Model(lambda t: slim.flatten(t)).build(torch.zeros(2, 5))(torch.ones(2, 5)).shape == (2, 5)


def test_one_hot_encoding_and_softmax():
    labels = torch.tensor([0, 2])
    hot = slim.one_hot_encoding(labels, 3)
    assert torch.equal(hot, torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))
    assert torch.equal(slim.one_hot_encoding(labels, 3, on_value=2.0, off_value=-1.0)[0], torch.tensor([2.0, -1, -1]))
    logits = torch.randn(2, 5, 1, 1)
    assert torch.allclose(slim.softmax(logits).sum(1), torch.ones(2, 1, 1))
    assert torch.allclose(slim.softmax(torch.randn(3, 4)).sum(-1), torch.ones(3))


def test_unit_norm_and_maxout():
    x = torch.tensor([[3.0, 4.0]])
    assert torch.allclose(slim.unit_norm(x, 1), torch.tensor([[0.6, 0.8]]), atol=1e-6)
    y = slim.maxout(torch.tensor([[1.0, 5.0, 2.0, 0.0]]), 2)
    assert torch.equal(y, torch.tensor([[5.0, 2.0]]))
    with pytest.raises(ValueError, match="not a multiple"):
        slim.maxout(torch.zeros(1, 5), 2)


def test_scale_gradient():
    x = torch.ones(3, requires_grad=True)
    y = slim.scale_gradient(x, 0.25)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 0.25))
