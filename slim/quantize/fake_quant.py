"""Fake quantization with TF's numerics, on PyTorch's fake-quantize op.

TF's ``fake_quant_with_min_max_vars`` first *nudges* the range so that 0.0 is exactly representable (the zero point
is rounded to an integer level), clamps the input to the nudged range and snaps it to one of ``2**num_bits`` evenly
spaced levels (``2**num_bits - 1`` with ``narrow_range``, which drops the lowest level). The gradient is passed
straight through inside the nudged range and is zero outside it.

Here the nudging is written out (TF rounds the zero point half away from zero; PyTorch's observers round half to
even) and the snapping is ``torch.fake_quantize_per_tensor_affine``, always with the 8-bit level range ``[0, 255]``:
clamping to the nudged range first makes fewer bits and ``narrow_range`` come out of the same op, gives exactly TF's
gradient mask, and keeps the op one that ``torch.export`` and the ONNX exporter turn into QuantizeLinear /
DequantizeLinear (ONNX only knows the 8-bit ranges).
"""

from __future__ import annotations

import torch

__all__ = ["nudged_quantization_params", "fake_quant_with_min_max_vars", "zero_debiased_ema_update"]

_OP_QUANT_MIN, _OP_QUANT_MAX = 0, 255

_CACHEMASK_OP = "_fake_quantize_per_tensor_affine_cachemask_tensor_qparams"
_meta_library: torch.library.Library | None = None


def _register_cachemask_meta() -> None:
    """Gives the kernel behind ``fake_quantize_per_tensor_affine`` (tensor qparams) the shape function it lacks.

    torch 2.13 has no Meta/fake kernel for it, so ``torch.export`` (and ``torch.compile`` with dynamic shapes) fail
    as soon as a size is symbolic (a dynamic batch). The outputs are the input's shape: the fake-quantized values and
    the boolean gradient mask. Registered once, only where torch has none.
    """
    global _meta_library
    if _meta_library is not None or torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{_CACHEMASK_OP}", "Meta"):
        return

    def meta(inputs, scale, zero_point, fake_quant_enabled, quant_min, quant_max):
        return torch.empty_like(inputs), torch.empty_like(inputs, dtype=torch.bool)

    _meta_library = torch.library.Library("aten", "IMPL")
    _meta_library.impl(_CACHEMASK_OP, meta, "Meta")


_register_cachemask_meta()


def nudged_quantization_params(
    min_value: torch.Tensor, max_value: torch.Tensor, num_bits: int = 8, narrow_range: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """TF's ``Nudge``: ``(scale, zero_point, nudged_min, nudged_max)`` of the range ``[min_value, max_value]``.

    ``zero_point`` is an int32 level in ``[quant_min, quant_max]`` (``quant_min`` is 1 with ``narrow_range``, else
    0; ``quant_max`` is ``2**num_bits - 1``), so ``nudged_min = (quant_min - zero_point) * scale`` and 0.0 is a level.
    A degenerate range (``max == min``) gets the smallest positive scale instead of TF's division by zero.
    """
    if not 2 <= num_bits <= 8:
        raise ValueError(f"num_bits must be between 2 and 8 (ONNX and the fake-quant op are 8-bit), got {num_bits}.")
    quant_min = 1 if narrow_range else 0
    quant_max = (1 << num_bits) - 1
    min_value = min_value.float()
    max_value = max_value.float()
    scale = ((max_value - min_value) / (quant_max - quant_min)).clamp(min=torch.finfo(torch.float32).eps)
    zero_point_from_min = quant_min - min_value / scale
    # TF's std::round (half away from zero); the value is >= quant_min >= 0 whenever min <= 0.
    zero_point = torch.where(
        zero_point_from_min >= 0, torch.floor(zero_point_from_min + 0.5), torch.ceil(zero_point_from_min - 0.5)
    ).clamp(quant_min, quant_max)
    nudged_min = (quant_min - zero_point) * scale
    nudged_max = (quant_max - zero_point) * scale
    return scale, zero_point.to(torch.int32), nudged_min, nudged_max


def fake_quant_with_min_max_vars(
    inputs: torch.Tensor,
    min_value: torch.Tensor,
    max_value: torch.Tensor,
    num_bits: int = 8,
    narrow_range: bool = False,
) -> torch.Tensor:
    """``tf.quantization.fake_quant_with_min_max_vars`` (per tensor): the input snapped to the nudged range's levels.

    Gradients reach ``inputs`` straight through inside the nudged range (zero outside); ``min_value`` and
    ``max_value`` are treated as constants (TF's quantization ranges are not trained either).
    """
    scale, zero_point, nudged_min, nudged_max = nudged_quantization_params(
        min_value.detach(), max_value.detach(), num_bits, narrow_range
    )
    dtype = inputs.dtype
    clamped = torch.clamp(inputs.float(), nudged_min, nudged_max)
    outputs = torch.fake_quantize_per_tensor_affine(clamped, scale, zero_point, _OP_QUANT_MIN, _OP_QUANT_MAX)
    return outputs.to(dtype)


@torch.no_grad()
def zero_debiased_ema_update(
    variable: torch.Tensor, biased: torch.Tensor, local_step: torch.Tensor, value: torch.Tensor, decay: float
) -> None:
    """TF's ``assign_moving_average(variable, value, decay)`` (zero_debias=True), in place.

    ``biased`` starts at 0 and ``local_step`` at 0 (TF's ``<variable>/biased`` and ``<variable>/local_step``), so
    the first update sets ``variable`` to ``value`` exactly and later ones to the bias-corrected average of all values
    seen: the first batch does not dominate as it does in PyTorch's MovingAverageMinMaxObserver.
    """
    biased.sub_((biased - value) * (1.0 - decay))
    local_step.add_(1.0)
    variable.copy_(biased / (1.0 - decay**local_step))
