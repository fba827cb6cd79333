"""Optimizers with TensorFlow 1.x's update rules, where PyTorch's differ.

TF-Slim's recipes (``--optimizer=rmsprop --opt_epsilon=1.0``) were tuned for TF's rules; these reproduce them:

- :class:`RMSPropTF`: the mean-square slot starts at 1.0 (PyTorch: 0) and epsilon is inside the square root
  (PyTorch: outside); momentum accumulates ``lr * g / sqrt(ms + eps)``, so learning-rate changes apply to new
  gradients only.
- :class:`AdamTF`: ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)`` and ``w -= lr_t * m / (sqrt(v) + eps)`` (TF's
  "epsilon hat"; PyTorch adds eps to the bias-corrected root).
- :class:`FtrlTF`: FTRL-proximal with ``learning_rate_power``, ``initial_accumulator_value``, l1 and l2 as TF's
  ``ApplyFtrl`` (PyTorch has no FTRL).

TF's momentum, adagrad (with ``eps=0``), adadelta and plain SGD equal PyTorch's (see :func:`make_optimizer`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["RMSPropTF", "AdamTF", "FtrlTF"]


class RMSPropTF(torch.optim.Optimizer):
    """TF's RMSProp: ``ms = decay*ms + (1-decay)*g^2`` (ms starts at 1), ``mom = momentum*mom + lr*g/sqrt(ms+eps)``,
    ``w -= mom``; ``centered`` also tracks the mean gradient and uses ``ms - mg^2``."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 0.001,
        decay: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-10,
        centered: bool = False,
    ) -> None:
        if lr < 0 or epsilon < 0 or not 0.0 <= decay <= 1.0 or momentum < 0:
            raise ValueError(
                f"RMSPropTF: invalid hyper-parameters lr={lr}, decay={decay}, momentum={momentum}, epsilon={epsilon}."
            )
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, epsilon=epsilon, centered=centered))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, decay, momentum, eps = group["lr"], group["decay"], group["momentum"], group["epsilon"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if not state:
                    state["ms"] = torch.ones_like(p)
                    state["mom"] = torch.zeros_like(p)
                    if group["centered"]:
                        state["mg"] = torch.zeros_like(p)
                ms, mom = state["ms"], state["mom"]
                ms.mul_(decay).addcmul_(grad, grad, value=1.0 - decay)
                if group["centered"]:
                    mg = state["mg"]
                    mg.mul_(decay).add_(grad, alpha=1.0 - decay)
                    denom = (ms - mg * mg).add_(eps).sqrt_()
                else:
                    denom = ms.add(eps).sqrt_()
                mom.mul_(momentum).addcdiv_(grad, denom, value=lr)
                p.sub_(mom)
        return loss


class AdamTF(torch.optim.Optimizer):
    """TF's Adam (epsilon added after the square root, to the un-corrected ``sqrt(v)``)."""

    def __init__(
        self, params: Iterable, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8
    ) -> None:
        if lr < 0 or epsilon < 0 or not 0.0 <= beta1 < 1.0 or not 0.0 <= beta2 < 1.0:
            raise ValueError(
                f"AdamTF: invalid hyper-parameters lr={lr}, beta1={beta1}, beta2={beta2}, epsilon={epsilon}."
            )
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, b1, b2, eps = group["lr"], group["beta1"], group["beta2"], group["epsilon"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t = float(state["step"])
                lr_t = lr * (1.0 - b2**t) ** 0.5 / (1.0 - b1**t)
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(grad, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-lr_t)
        return loss


class FtrlTF(torch.optim.Optimizer):
    """TF's FTRL-proximal (``ApplyFtrl``): per-coordinate rates from the accumulated squared gradients, with
    l1 (sparsity) and l2 regularization applied in closed form."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
    ) -> None:
        if lr <= 0 or learning_rate_power > 0 or initial_accumulator_value < 0:
            raise ValueError(
                f"FtrlTF: invalid hyper-parameters lr={lr}, learning_rate_power={learning_rate_power}, "
                f"initial_accumulator_value={initial_accumulator_value}."
            )
        if l1_regularization_strength < 0 or l2_regularization_strength < 0:
            raise ValueError("FtrlTF: regularization strengths must be >= 0.")
        super().__init__(
            params,
            dict(
                lr=lr,
                learning_rate_power=learning_rate_power,
                initial_accumulator_value=initial_accumulator_value,
                l1=l1_regularization_strength,
                l2=l2_regularization_strength,
            ),
        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, power, l1, l2 = group["lr"], group["learning_rate_power"], group["l1"], group["l2"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if not state:
                    state["accum"] = torch.full_like(p, group["initial_accumulator_value"])
                    state["linear"] = torch.zeros_like(p)
                accum, linear = state["accum"], state["linear"]
                new_accum = accum + grad * grad
                sigma = (new_accum.pow(-power) - accum.pow(-power)) / lr
                linear.add_(grad - sigma * p)
                quadratic = new_accum.pow(-power) / lr + 2.0 * l2
                shrunk = torch.sign(linear) * l1 - linear
                p.copy_(torch.where(linear.abs() > l1, shrunk / quadratic, torch.zeros_like(p)))
                accum.copy_(new_accum)
        return loss
