"""Regularizers: TF's values (l2 with the 1/2), zero scales, errors, apply_regularization."""

import pytest
import torch

import slim


def test_l1_l2_values():
    w = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    assert torch.allclose(slim.l1_regularizer(0.5)(w), torch.tensor(5.0))
    assert torch.allclose(slim.l2_regularizer(0.5)(w), torch.tensor(0.5 * 30 / 2))
    assert torch.allclose(slim.l1_l2_regularizer(0.5, 0.5)(w), torch.tensor(5.0 + 7.5))


def test_zero_scale_adds_nothing():
    w = torch.ones(3)
    assert slim.l2_regularizer(0.0)(w) is None
    assert slim.l1_regularizer(0.0)(w) is None
    model = slim.Model(lambda x: slim.fully_connected(x, 2, weights_regularizer=slim.l2_regularizer(0.0))).build(
        torch.zeros(1, 2)
    )
    assert model.regularization_losses() == []


def test_scale_errors():
    with pytest.raises(ValueError, match="integer"):
        slim.l2_regularizer(1)
    with pytest.raises(ValueError, match="less than 0"):
        slim.l1_regularizer(-0.1)


def test_sum_regularizer():
    w = torch.tensor([1.0, -1.0])
    reg = slim.sum_regularizer([slim.l1_regularizer(1.0), None, slim.l2_regularizer(1.0)])
    assert torch.allclose(reg(w), torch.tensor(2.0 + 1.0))
    assert slim.sum_regularizer([None]) is None


def test_apply_regularization_adds_to_collection():
    weights = [torch.ones(2), torch.full((3,), 2.0)]
    total = slim.apply_regularization(slim.l2_regularizer(1.0), weights)
    assert torch.allclose(total, torch.tensor(1.0 + 6.0))
    assert any(torch.equal(r, total) for r in slim.losses.get_regularization_losses())
    with pytest.raises(ValueError, match="No weights to regularize"):
        slim.apply_regularization(slim.l2_regularizer(1.0))


def test_regularization_loss_names():
    def fn(x):
        with slim.variable_scope("InceptionV3"):
            return slim.conv2d(x, 2, 1, scope="Conv2d_1a_3x3", weights_regularizer=slim.l2_regularizer(0.1))

    model = slim.Model(fn).build(torch.zeros(1, 2, 3, 3))
    names = [n for n, _ in model.store.regularization_losses()]
    assert names == ["InceptionV3/Conv2d_1a_3x3/weights/Regularizer/l2_regularizer"]
