"""TensorFlow's padding, in the one place that knows it.

TF 'SAME': output size ``ceil(n / stride)``; the total padding ``(out - 1) * stride + k_eff - n`` (never negative,
``k_eff = (k - 1) * rate + 1``) is split with the smaller half before and the extra pixel after (bottom/right).
Symmetric cases are left to the conv/pool op's own padding argument; asymmetric ones get an explicit pad.

The arithmetic is branch-free integer math (``k_eff - 1 - (n - 1) % stride``, which equals the formula above
whenever ``k_eff >= stride`` or ``k_eff == 1``), so it stays exact and traceable when ``n`` is a symbolic size in an
exported graph with dynamic height and width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["same_padding_amounts", "pad_same", "normalize_padding", "effective_kernel"]


def normalize_padding(padding: str, what: str) -> str:
    """Upper-cases and validates a TF padding name."""
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{what}: padding must be 'SAME' or 'VALID', got {padding!r}.")
    return padding.upper()


def effective_kernel(kernel: int, rate: int) -> int:
    """The extent of a dilated kernel."""
    return (kernel - 1) * rate + 1


def same_padding_amounts(size, kernel: int, stride: int, rate: int = 1) -> tuple:
    """``(before, after)`` of TF SAME padding along one spatial dim of length ``size`` (int or SymInt)."""
    k_eff = effective_kernel(kernel, rate)
    if k_eff == 1:
        return 0, 0
    if stride == 1:
        total = k_eff - 1
    elif isinstance(size, int):
        total = max((-(-size // stride) - 1) * stride + k_eff - size, 0)
    elif k_eff >= stride:
        total = k_eff - 1 - (size - 1) % stride
    else:
        raise ValueError(
            f"TF SAME padding with kernel extent {k_eff} smaller than stride {stride} needs static spatial sizes."
        )
    before = total // 2
    return before, total - before


def pad_same(
    inputs: torch.Tensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    rate: Sequence[int],
    value: float = 0.0,
) -> tuple[torch.Tensor, list[int]]:
    """Applies TF SAME padding to the trailing spatial dims of an NC... tensor.

    Returns:
      ``(tensor, symmetric_padding)``: where the padding of a dim is symmetric it is not applied but returned, for
      the op's own ``padding=`` argument (cheaper, and PyTorch pools then exclude it correctly); asymmetric dims are
      padded here with ``value``, and their entry is 0.
    """
    spatial = inputs.shape[2:]
    symmetric: list[int] = []
    explicit: list[int] = []  # F.pad order: last dim first
    needs_pad = False
    for size, k, s, r in zip(spatial, kernel, stride, rate):
        before, after = same_padding_amounts(size, k, s, r)
        if isinstance(before, int) and isinstance(after, int) and before == after:
            symmetric.append(before)
            explicit = [0, 0] + explicit
        else:
            symmetric.append(0)
            explicit = [before, after] + explicit
            needs_pad = True
    if needs_pad:
        inputs = F.pad(inputs, explicit, value=value)
    return inputs, symmetric
