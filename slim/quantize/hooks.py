"""The one lookup the convolution and dense layers make: the quantizer attached to the running model, if any.

It lives on the model's variable store (TF keeps the rewritten graph there too), so a layer finds it through the
current frame without any global state. This module imports nothing heavy: the layers import it.
"""

from __future__ import annotations

from typing import Any

from slim.framework.context import current_frame

__all__ = ["QUANTIZER_ATTRIBUTE", "active_quantizer"]

QUANTIZER_ATTRIBUTE = "quantizer"


def active_quantizer() -> Any:
    """The :class:`slim.quantize.quantizer.Quantizer` of the running model, or None (no fake quantization)."""
    return getattr(current_frame().store, QUANTIZER_ATTRIBUTE, None)
