"""Optimizers, schedules and the EMA against real TF (tests/fixtures/training/make_training_fixtures.py)."""

from pathlib import Path

import numpy as np
import pytest
import torch

import slim
from slim.optimizers import ExponentialMovingAverage, configure_learning_rate, exponential_decay, polynomial_decay
from slim.optimizers.factory import configure_optimizer

REF = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "training" / "training_reference.npz")

MAKERS = {
    "rmsprop": lambda p: configure_optimizer(
        "rmsprop", p, 0.1, rmsprop_decay=0.9, rmsprop_momentum=0.9, opt_epsilon=1.0
    ),
    "rmsprop_small_eps": lambda p: configure_optimizer("rmsprop", p, 0.1, rmsprop_momentum=0.0, opt_epsilon=1e-10),
    "momentum": lambda p: configure_optimizer("momentum", p, 0.1, momentum=0.9),
    "adam": lambda p: configure_optimizer("adam", p, 0.1, opt_epsilon=1.0),
    "adam_small_eps": lambda p: configure_optimizer("adam", p, 0.1, adam_beta1=0.8, adam_beta2=0.99, opt_epsilon=1e-8),
    "adagrad": lambda p: configure_optimizer("adagrad", p, 0.1, adagrad_initial_accumulator_value=0.1),
    "adadelta": lambda p: configure_optimizer("adadelta", p, 0.1, adadelta_rho=0.95, opt_epsilon=1.0),
    "ftrl": lambda p: configure_optimizer("ftrl", p, 0.1, ftrl_l1=0.01, ftrl_l2=0.02),
    "ftrl_plain": lambda p: configure_optimizer("ftrl", p, 0.1),
    "sgd": lambda p: configure_optimizer("sgd", p, 0.1),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_optimizer_matches_tf_over_several_steps(name):
    var = torch.nn.Parameter(torch.from_numpy(REF["opt_init"].copy()))
    optimizer = MAKERS[name]([var])
    for step, (grad, lr) in enumerate(zip(REF["opt_grads"], REF["opt_lrs"])):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        var.grad = torch.from_numpy(grad.copy())
        optimizer.step()
        expected = REF[f"opt_{name}"][step]
        assert np.allclose(var.detach().numpy(), expected, rtol=1e-5, atol=1e-6), (name, step)


def test_unknown_optimizer():
    with pytest.raises(ValueError, match=r"Optimizer \[lamb\] was not recognized"):
        configure_optimizer("lamb", [torch.nn.Parameter(torch.zeros(1))], 0.1)


def test_schedules_match_tf():
    steps = REF["lr_steps"]
    assert np.allclose([exponential_decay(0.01, int(s), 207, 0.94, True) for s in steps], REF["lr_exponential"])
    assert np.allclose([exponential_decay(0.01, int(s), 207, 0.94, False) for s in steps], REF["lr_exponential_smooth"])
    assert np.allclose([polynomial_decay(0.01, int(s), 207, 0.0001) for s in steps], REF["lr_polynomial"])
    assert np.allclose(
        [polynomial_decay(0.01, int(s), 207, 0.0001, power=2.0, cycle=True) for s in steps], REF["lr_polynomial_cycle"]
    )


def test_configure_learning_rate_flowers_example_and_warmup():
    schedule = configure_learning_rate(3320, 32, learning_rate=0.01, num_epochs_per_decay=2.0)
    # decay_steps = int(3320 / 32 * 2) = 207 (TF-Slim's flowers example)
    assert schedule(206) == pytest.approx(0.01) and schedule(207) == pytest.approx(0.0094)
    warm = configure_learning_rate(3200, 32, learning_rate=0.1, learning_rate_decay_type="fixed", warmup_epochs=2)
    assert warm(0) == 0.0 and warm(100) == pytest.approx(0.05) and warm(500) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"learning_rate_decay_type \[cosine\] was not recognized"):
        configure_learning_rate(100, 10, learning_rate_decay_type="cosine")


def test_exponential_moving_average_matches_tf():
    var = slim.variable("v", shape=[7], initializer=torch.from_numpy(REF["opt_init"].copy()))
    step = slim.get_or_create_global_step()
    ema = ExponentialMovingAverage(0.99, num_updates=step)
    handle = slim.get_variables("v")[0]
    ema.apply([handle])
    for values, expected in zip(REF["ema_values"], REF["ema_shadows"]):
        with torch.no_grad():
            var.copy_(torch.from_numpy(values.copy()))
        ema.update()
        step.add_(1)
        assert np.allclose(ema.shadows["v/ExponentialMovingAverage"].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert str(REF["ema_name"]) == ExponentialMovingAverage.average_name("Variable")  # TF named its var Variable
    assert ema.variables_to_restore() == {"v/ExponentialMovingAverage": handle}
