"""`ExponentialMovingAverage` with TF's semantics and variable names.

``shadow -= (1 - d) * (shadow - value)`` with ``d = min(decay, (1 + n) / (10 + n))`` when ``num_updates`` (the global
step) is given. Shadows are named ``<variable>/ExponentialMovingAverage`` as in TF, so they are saved into (and
restored from) checkpoints under the names TF-Slim's ``variables_to_restore()`` maps onto the model variables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

from slim.framework.variables import Variable

__all__ = ["ExponentialMovingAverage"]

SUFFIX = "ExponentialMovingAverage"


class ExponentialMovingAverage:
    """Shadow copies of variables, updated by :meth:`update` (TF's ``apply``).

    Args:
      decay: the decay (e.g. 0.9999).
      num_updates: a 0-d tensor (the global step) that makes the decay ramp up as TF does; None: fixed decay.
    """

    def __init__(self, decay: float, num_updates: torch.Tensor | None = None) -> None:
        self.decay = decay
        self.num_updates = num_updates
        self.shadows: dict[str, torch.Tensor] = {}
        self._variables: dict[str, Variable] = {}

    @staticmethod
    def average_name(var: Variable | str) -> str:
        """``'<name>/ExponentialMovingAverage'``."""
        name = var.op.name if isinstance(var, Variable) else var
        return f"{name}/{SUFFIX}"

    def apply(self, var_list: Iterable[Variable]) -> None:
        """Creates shadows (initialised to the current values) for ``var_list``."""
        for var in var_list:
            if not isinstance(var, Variable):
                raise TypeError("ExponentialMovingAverage.apply takes slim variable handles (slim.get_variables()).")
            value = var.value()
            if not value.is_floating_point():
                raise TypeError(f"Variable {var.op.name} is not a floating point variable: no moving average.")
            self._variables[var.op.name] = var
            self.shadows[self.average_name(var)] = value.detach().clone()

    def effective_decay(self) -> float:
        if self.num_updates is None:
            return self.decay
        n = float(self.num_updates)
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self) -> None:
        """One moving-average step for every shadow (run after each optimizer step)."""
        decay = self.effective_decay()
        for name, var in self._variables.items():
            shadow = self.shadows[self.average_name(name)]
            value = var.value().detach()
            if shadow.device != value.device:
                shadow = self.shadows[self.average_name(name)] = shadow.to(value.device)
            shadow.sub_((shadow - value) * (1.0 - decay))

    __call__ = update

    def variables_to_restore(self) -> dict[str, Variable]:
        """``{shadow name: variable}``: restore averaged values into the model variables (evaluation)."""
        return {self.average_name(name): var for name, var in self._variables.items()}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The shadows by TF name, for a checkpoint."""
        return dict(self.shadows)

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Takes the shadows back from a checkpoint (missing shadows keep their current values)."""
        for name in self.shadows:
            if name in tensors:
                self.shadows[name] = tensors[name].to(self.shadows[name].device).clone()
