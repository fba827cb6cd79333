"""Initializers: TF's fan computations and distributions."""

import math

import pytest
import torch

import slim


def test_xavier_uniform_limit_uses_tf_fans():
    torch.manual_seed(0)
    w = slim.xavier_initializer()([3, 3, 64, 128], torch.float32)
    limit = math.sqrt(6.0 / (9 * 64 + 9 * 128))
    assert w.abs().max() <= limit and w.abs().max() > 0.99 * limit
    assert abs(w.std().item() - limit / math.sqrt(3)) < 0.01 * limit


def test_variance_scaling_truncated_normal_has_the_1_3_factor():
    torch.manual_seed(0)
    w = slim.variance_scaling_initializer(factor=2.0, mode="FAN_IN")([3, 3, 100, 200], torch.float32)
    sigma = math.sqrt(1.3 * 2.0 / 900)
    assert w.abs().max() <= 2 * sigma + 1e-6
    # A normal truncated at 2 sigma has std 0.8796 sigma, so 1.3 makes the variance close to factor / n.
    assert abs(w.std().item() - 0.8796 * sigma) < 0.01 * sigma
    assert abs(w.var().item() - 2.0 / 900) < 0.03 * 2.0 / 900


def test_variance_scaling_modes_and_errors():
    torch.manual_seed(0)
    w = slim.variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=True)([200, 300], torch.float32)
    assert w.abs().max() <= math.sqrt(3.0 / 250)
    with pytest.raises(TypeError, match="Unknown mode"):
        slim.variance_scaling_initializer(mode="FAN_MAX")
    with pytest.raises(TypeError):
        slim.variance_scaling_initializer(dtype=torch.int32)


def test_simple_initializers():
    assert torch.equal(slim.zeros_initializer()([2], torch.float32), torch.zeros(2))
    assert torch.equal(slim.ones_initializer()([2], torch.float32), torch.ones(2))
    assert torch.equal(slim.constant_initializer(0.1)([2], torch.float32), torch.full((2,), 0.1))
    t = slim.truncated_normal_initializer(mean=1.0, stddev=0.5, seed=1)([1000], torch.float32)
    assert (t - 1.0).abs().max() <= 1.0 and abs(t.mean().item() - 1.0) < 0.05
    assert torch.equal(t, slim.truncated_normal_initializer(mean=1.0, stddev=0.5, seed=1)([1000], torch.float32))
