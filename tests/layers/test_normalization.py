"""Normalization layers: variables, modes and update rules (TF numerics are in test_tf_numerics.py)."""

import pytest
import torch

import slim
from slim.testing import run_layer_test


def test_batch_norm_defaults_have_no_gamma():
    run_layer_test(
        slim.batch_norm,
        (4, 3, 5, 5),
        train_eval_differ=True,
        expected_variables={"layer/beta": (3,), "layer/moving_mean": (3,), "layer/moving_variance": (3,)},
    )


def test_batch_norm_scale_and_center():
    run_layer_test(
        slim.batch_norm,
        (4, 3),
        kwargs=dict(scale=True, center=False),
        train_eval_differ=True,
        expected_variables={"layer/gamma": (3,), "layer/moving_mean": (3,), "layer/moving_variance": (3,)},
    )


def test_batch_norm_update_rule_and_unbiased_variance():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4) * 2 + 1
    model = slim.Model(lambda t: slim.batch_norm(t, decay=0.9, is_training=True, scope="bn")).build(x)
    y = model(x)
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=True)
    state = model.state_dict()
    assert torch.allclose(state["bn/moving_mean"], 0.1 * mean, atol=1e-6)
    assert torch.allclose(state["bn/moving_variance"], 0.9 + 0.1 * var, atol=1e-5)
    expected = (x - mean[None, :, None, None]) / torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + 0.001)[
        None, :, None, None
    ]
    assert torch.allclose(y, expected, atol=1e-5)


def test_batch_norm_non_fused_uses_biased_variance():
    x = torch.randn(8, 3) * 3
    model = slim.Model(lambda t: slim.batch_norm(t, decay=0.5, fused=False, is_training=True, scope="bn")).build(x)
    model(x)
    assert torch.allclose(model.state_dict()["bn/moving_variance"], 0.5 + 0.5 * x.var(0, unbiased=False), atol=1e-5)


def test_batch_norm_zero_debias():
    x = torch.randn(8, 3) + 5
    model = slim.Model(
        lambda t: slim.batch_norm(t, decay=0.9, zero_debias_moving_mean=True, is_training=True, scope="bn")
    ).build(x)
    assert sorted(model.state_dict()) == [
        "bn/beta",
        "bn/moving_mean",
        "bn/moving_mean/biased",
        "bn/moving_mean/local_step",
        "bn/moving_variance",
    ]
    model(x)
    # After one update the debiased mean equals the batch mean exactly.
    assert torch.allclose(model.state_dict()["bn/moving_mean"], x.mean(0), atol=1e-5)


def test_batch_norm_batch_weights():
    x = torch.tensor([[1.0], [3.0], [100.0]])
    model = slim.Model(
        lambda t, w: slim.batch_norm(t, decay=0.0, batch_weights=w, is_training=True, scope="bn"),
        w=torch.tensor([1.0, 1.0, 0.0]),
    ).build(x)
    model(x)
    assert torch.allclose(model.state_dict()["bn/moving_mean"], torch.tensor([2.0]))
    assert torch.allclose(model.state_dict()["bn/moving_variance"], torch.tensor([1.0]))


def test_batch_norm_channels_last_and_errors():
    x = torch.randn(4, 5, 5, 3)
    model = run_layer_test(slim.batch_norm, (4, 5, 5, 3), kwargs=dict(data_format="NHWC"), train_eval_differ=True)
    assert model.state_dict()["layer/beta"].shape == (3,)
    with pytest.raises(ValueError, match="renorm"):
        slim.Model(lambda t: slim.batch_norm(t, renorm=True)).build(x)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['gama'\]"):
        slim.Model(lambda t: slim.batch_norm(t, param_initializers={"gama": slim.ones_initializer()})).build(x)


def test_batch_norm_param_initializers_and_regularizers():
    x = torch.randn(2, 3)
    model = slim.Model(
        lambda t: slim.batch_norm(
            t,
            scale=True,
            param_initializers={"gamma": slim.constant_initializer(2.0)},
            param_regularizers={"gamma": slim.l2_regularizer(1.0)},
            scope="bn",
        )
    ).build(x)
    assert torch.equal(model.state_dict()["bn/gamma"], torch.full((3,), 2.0))
    assert [n for n, _ in model.store.regularization_losses()] == ["bn/gamma/Regularizer/l2_regularizer"]


def test_layer_norm():
    model = run_layer_test(slim.layer_norm, (4, 6), expected_variables={"layer/beta": (6,), "layer/gamma": (6,)})
    x = torch.randn(4, 6)
    y = model(x)
    assert torch.allclose(y.mean(-1), torch.zeros(4), atol=1e-5)
    run_layer_test(
        slim.layer_norm,
        (2, 3, 4, 5),
        kwargs=dict(begin_norm_axis=1, begin_params_axis=1),
        expected_variables={"layer/beta": (3, 4, 5), "layer/gamma": (3, 4, 5)},
    )


def test_group_and_instance_norm():
    model = run_layer_test(
        slim.group_norm,
        (2, 8, 4, 4),
        kwargs=dict(groups=2),
        expected_variables={"layer/beta": (8,), "layer/gamma": (8,)},
    )
    x = torch.randn(2, 8, 4, 4)
    y = model(x).reshape(2, 2, -1)
    assert torch.allclose(y.mean(-1), torch.zeros(2, 2), atol=1e-5)
    with pytest.raises(ValueError, match="not divisible"):
        slim.Model(lambda t: slim.group_norm(t, groups=3)).build(x)
    model = run_layer_test(
        slim.instance_norm, (2, 3, 4, 4), expected_variables={"layer/beta": (3,), "layer/gamma": (3,)}
    )
    assert torch.allclose(model(torch.randn(2, 3, 4, 4)).mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5)
