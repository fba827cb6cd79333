"""`Quantizer`: the fake quantization that ``create_training_graph`` / ``create_eval_graph`` attach to a model.

The convolution and dense layers call it (see :mod:`slim.quantize.hooks`): :meth:`Quantizer.quantize_layer` around
their linear op (weights, with batch-norm folding) and :meth:`Quantizer.quantize_activations` on their output. Its
state is variables of the model's store under TF's names, so checkpoints carry it:

- ``<layer>/weights_quant/min`` and ``/max``: the last range of the (folded) weights (TF's LastValueQuantize);
- ``<layer>/act_quant/min`` and ``/max``: zero-debiased moving averages (decay 0.999) of the output's range, with
  TF's helper variables ``.../min/biased``, ``.../min/local_step`` (and the same for ``max``);
- ``fake_quantization_step``: TF's counter of training passes, which ``quant_delay`` is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame
from slim.framework.store import VariableInfo, VariableStore
from slim.quantize.fake_quant import fake_quant_with_min_max_vars, zero_debiased_ema_update

__all__ = ["QuantizeConfig", "LayerQuantization", "Quantizer", "QUANTIZATION_STEP"]

QUANTIZATION_STEP = "fake_quantization_step"


@dataclass(frozen=True)
class QuantizeConfig:
    """How a model is fake-quantized (TF's ``experimental_create_*_graph`` arguments).

    Attributes:
      is_training: None follows the model's ``train()``/``eval()`` mode (the training graph); False never updates
        the ranges (the eval graph).
      quant_delay: quantize from this training pass on (TF's ``fake_quantization_step >= quant_delay``); None or 0
        quantizes from the start. Before it the ranges are tracked and values pass through unchanged.
      weight_bits, activation_bits: bits of the weights (narrow range: ``2**bits - 1`` levels) and activations.
      ema_decay: decay of the activation ranges' moving averages.
      scope: only layers whose scope starts with it are quantized (None: all).
    """

    is_training: bool | None = None
    quant_delay: int | None = None
    weight_bits: int = 8
    activation_bits: int = 8
    ema_decay: float = 0.999
    scope: str | None = None


@dataclass(frozen=True)
class LayerQuantization:
    """One quantized layer: its scope and the batch norm folded into its weights (None: no folding)."""

    scope: str
    folded_batch_norm: str | None = None


def _range_variables(prefix: str, moving_average: bool) -> list[str]:
    names = [f"{prefix}/min", f"{prefix}/max"]
    if moving_average:
        names += [f"{prefix}/{end}/{helper}" for end in ("min", "max") for helper in ("biased", "local_step")]
    return names


class Quantizer:
    """Fake quantization of a model's conv/dense weights and outputs; see the module docstring."""

    def __init__(self, store: VariableStore, config: QuantizeConfig, batch_norm_fn: Callable) -> None:
        self.store = store
        self.config = config
        self.layers: dict[str, LayerQuantization] = {}
        self.discovering = False
        self._batch_norm_fn = batch_norm_fn
        self._counts_passes = False
        self._first_layer: str | None = None

    # --- variables ---------------------------------------------------------------------------------------------------

    def _create(self, name: str, value: float, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        if name in self.store:
            return
        info = VariableInfo(name, False, (GraphKeys.GLOBAL_VARIABLES,))
        self.store.create(info, torch.tensor(value, dtype=dtype, device=device))

    def create_step_variable(self, device: torch.device) -> None:
        """TF's ``fake_quantization_step`` (int64, starts at 0), created when ``quant_delay > 0``; it counts training
        passes at the first quantized layer (the layers are known by then)."""
        self._create(QUANTIZATION_STEP, 0, device, torch.int64)
        self._first_layer = next(iter(self.layers))
        self._counts_passes = True

    def _discover_layer(self, scope: str, weights: torch.Tensor, normalizer_fn: Callable | None, params: dict) -> None:
        folded = None
        if normalizer_fn is self._batch_norm_fn:
            bn_scope = f"{scope}/{params.get('scope') or 'BatchNorm'}"
            if f"{bn_scope}/moving_variance" in self.store:
                folded = bn_scope
        self.layers[scope] = LayerQuantization(scope, folded)
        device = weights.device
        self._create(f"{scope}/weights_quant/min", -6.0, device)
        self._create(f"{scope}/weights_quant/max", 6.0, device)

    def _discover_activations(self, scope: str, outputs: torch.Tensor) -> None:
        names = _range_variables(f"{scope}/act_quant", moving_average=True)
        for name, value in zip(names, (0.0, 6.0, 0.0, 0.0, 0.0, 0.0)):
            self._create(name, value, outputs.device)

    # --- running -----------------------------------------------------------------------------------------------------

    def _training(self) -> bool:
        frame = current_frame()
        if frame.building or self.discovering:
            return False
        return frame.training if self.config.is_training is None else bool(self.config.is_training)

    def _selected(self, scope: str) -> bool:
        return self.config.scope is None or scope.startswith(self.config.scope)

    def _quantize(self, prefix: str, inputs: torch.Tensor, moving_average: bool, num_bits: int, narrow: bool):
        lookup = self.store.lookup
        min_var, max_var = lookup(f"{prefix}/min"), lookup(f"{prefix}/max")
        if self._training():
            with torch.no_grad():
                # TF includes 0.0 in every range.
                batch_min = inputs.detach().amin().float().clamp(max=0.0)
                batch_max = inputs.detach().amax().float().clamp(min=0.0)
                if moving_average:
                    decay = self.config.ema_decay
                    zero_debiased_ema_update(
                        min_var, lookup(f"{prefix}/min/biased"), lookup(f"{prefix}/min/local_step"), batch_min, decay
                    )
                    zero_debiased_ema_update(
                        max_var, lookup(f"{prefix}/max/biased"), lookup(f"{prefix}/max/local_step"), batch_max, decay
                    )
                else:
                    min_var.copy_(batch_min)
                    max_var.copy_(batch_max)
        quantized = fake_quant_with_min_max_vars(inputs, min_var, max_var, num_bits, narrow)
        delay = self.config.quant_delay
        if delay is not None and delay > 0:
            return torch.where(lookup(QUANTIZATION_STEP) >= delay, quantized, inputs)
        return quantized

    def _fold_factor(self, layer: LayerQuantization, params: dict) -> torch.Tensor:
        """``gamma / sqrt(moving_variance + epsilon)`` of the folded batch norm, per output channel."""
        from slim.framework.arg_scope import arg_scope_func_key, current_arg_scope

        epsilon = params.get("epsilon")
        if epsilon is None:
            epsilon = current_arg_scope().get(arg_scope_func_key(self._batch_norm_fn), {}).get("epsilon", 0.001)
        bn = layer.folded_batch_norm
        factor = torch.rsqrt(self.store.lookup(f"{bn}/moving_variance") + epsilon)
        gamma = self.store.lookup(f"{bn}/gamma")
        return factor * gamma if gamma is not None else factor

    def quantize_layer(
        self,
        scope: str,
        linear_op: Callable[[torch.Tensor], torch.Tensor],
        weights: torch.Tensor,
        normalizer_fn: Callable | None,
        normalizer_params: dict | None,
        channel_axis: int,
    ) -> torch.Tensor:
        """``linear_op`` (a conv or matmul of ``weights``) with fake-quantized weights.

        A following ``slim.batch_norm`` is folded as TF's FoldBatchNorms does at inference: the weights scaled by
        ``gamma / sqrt(moving_variance + epsilon)`` are quantized, and the output is divided by the same factor so the
        batch norm that follows still sees (and, training, normalises with batch statistics) the unfolded output.
        In eval mode the result equals the folded layer TF exports.
        """
        params = normalizer_params or {}
        if not self._selected(scope):
            return linear_op(weights)
        if self.discovering:
            self._discover_layer(scope, weights, normalizer_fn, params)
            return linear_op(weights)
        layer = self.layers.get(scope)
        if layer is None:  # not run when the model was quantized: it has no ranges
            return linear_op(weights)
        if self._counts_passes and scope == self._first_layer and self._training():
            # TF's fake_quantization_step: +1 per training pass, before any layer compares it with quant_delay. Counted
            # here, at the first quantized layer, rather than in a forward pre-hook, which breaks torch.compile graphs.
            with torch.no_grad():
                self.store.lookup(QUANTIZATION_STEP).add_(1)
        factor = None
        if layer.folded_batch_norm is not None and normalizer_fn is self._batch_norm_fn:
            factor = self._fold_factor(layer, params)
            weights = weights * factor.reshape([-1] + [1] * (weights.dim() - 1))
        weights = self._quantize(
            f"{scope}/weights_quant", weights, moving_average=False, num_bits=self.config.weight_bits, narrow=True
        )
        outputs = linear_op(weights)
        if factor is not None:
            shape = [1] * outputs.dim()
            shape[channel_axis] = -1
            outputs = outputs / factor.reshape(shape)
        return outputs

    def quantize_activations(self, scope: str, outputs: torch.Tensor) -> torch.Tensor:
        """The layer's output (after normalizer and activation) fake-quantized with its moving-average range."""
        if not self._selected(scope):
            return outputs
        if self.discovering:
            if scope in self.layers:
                self._discover_activations(scope, outputs)
            return outputs
        if scope not in self.layers:
            return outputs
        return self._quantize(
            f"{scope}/act_quant", outputs, moving_average=True, num_bits=self.config.activation_bits, narrow=False
        )

    def variable_names(self) -> list[str]:
        """The names of the quantization variables, in creation order."""
        names = [QUANTIZATION_STEP] if QUANTIZATION_STEP in self.store else []
        for scope in self.layers:
            names += _range_variables(f"{scope}/weights_quant", moving_average=False)
            names += _range_variables(f"{scope}/act_quant", moving_average=True)
        return [name for name in names if name in self.store]

    def __repr__(self) -> str:
        return f"Quantizer({len(self.layers)} layers, {self.config})"
