"""Inception training preprocessing (fast mode) in one compiled kernel: crop → TF1 bilinear resize → flip →
brightness → saturation → clip → ``[-1, 1]``, with numba.

Why: the torch ops of one image are about twenty small calls. Each releases and re-takes the GIL, so with two or
more preprocessing threads (``--num_preprocessing_threads``) the threads mostly wait for each other (measured: two
threads preprocessed no faster than one; docs/performance.md), and each call allocates and faults in a fresh
intermediate image. This kernel is one call that holds no GIL, reads the decoded uint8 image where it lies, keeps
one window row of intermediates, and writes only the output tensor: about 0.3 ms per 224 x 224 image against about
0.65 ms for the torch ops on one thread, and it scales with threads.

Numerics are the torch path's, not a new approximation: the same TF1 sample positions and weights, interpolated as
:func:`~slim.preprocessing.resize_ops.resize_bilinear_fast` does (y, then x, ``torch.lerp``'s two-sided form), and
the formulas of :func:`~slim.preprocessing.image_ops.adjust_brightness` and
:func:`~slim.preprocessing.image_ops.adjust_saturation`. Outputs agree with the torch ops to float rounding (about
2e-7, tested); the caller draws the random choices exactly as the torch path does, so a seeded stream picks the
same crops, flips and strengths either way.

numba is optional (``pip install 'torch-slim[fast]'``); without it :func:`available` is False and preprocessing runs
the torch ops. ``SLIM_DISABLE_FUSED_PREPROCESSING=1`` in the environment forces the torch ops (to compare). The
compiled kernel is cached on disk by numba (first use compiles for about two seconds).
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import torch

__all__ = [
    "available",
    "crop_resize_distort",
    "NO_COLOUR",
    "BRIGHTNESS_THEN_SATURATION",
    "SATURATION_THEN_BRIGHTNESS",
]

# Colour steps (``colour_order``): which of brightness and saturation run, and in which order.
NO_COLOUR = 0
BRIGHTNESS_THEN_SATURATION = 1
SATURATION_THEN_BRIGHTNESS = 2


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def available() -> bool:
    """Whether the fused kernel can run (numba installed and not disabled by the environment)."""
    return _numba_installed() and os.environ.get("SLIM_DISABLE_FUSED_PREPROCESSING", "") in ("", "0")


def crop_resize_distort(
    image: torch.Tensor,
    crop: tuple[int, int, int, int],
    size: tuple[int, int],
    *,
    flip: bool = False,
    colour_order: int = NO_COLOUR,
    brightness_delta: float = 0.0,
    saturation_factor: float = 1.0,
) -> torch.Tensor:
    """The ``crop`` window ``(top, left, height, width)`` of a uint8 HWC RGB ``image``, as float32 CHW ``size``.

    Steps, as the torch ops would do them: TF1 bilinear resize to ``size`` (the crop's own size copies it); scale
    to float ``[0, 1]``; mirror left-right if ``flip``; ``colour_order`` (:data:`BRIGHTNESS_THEN_SATURATION` or
    :data:`SATURATION_THEN_BRIGHTNESS`: add ``brightness_delta``, scale the saturation by ``saturation_factor``,
    then clip to ``[0, 1]``; :data:`NO_COLOUR`: none of these); ``(x - 0.5) * 2``.

    Raises:
      RuntimeError: if numba is not installed (check :func:`available` first).
      ValueError: for an image that is not uint8 ``[H, W, 3]`` or a crop outside it.
    """
    if not _numba_installed():
        raise RuntimeError("crop_resize_distort needs numba: pip install 'torch-slim[fast]'.")
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"crop_resize_distort: expected a uint8 [H, W, 3] image, got {image.dtype} {tuple(image.shape)}."
        )
    top, left, crop_height, crop_width = (int(v) for v in crop)
    if (
        top < 0
        or left < 0
        or crop_height <= 0
        or crop_width <= 0
        or top + crop_height > image.shape[0]
        or (left + crop_width > image.shape[1])
    ):
        raise ValueError(f"crop_resize_distort: crop {crop} does not lie inside the {tuple(image.shape[:2])} image.")
    height, width = (int(v) for v in size)
    if height <= 0 or width <= 0:
        raise ValueError(f"crop_resize_distort: size must be positive, got {size!r}.")
    if colour_order not in (NO_COLOUR, BRIGHTNESS_THEN_SATURATION, SATURATION_THEN_BRIGHTNESS):
        raise ValueError(f"crop_resize_distort: unknown colour_order {colour_order!r}.")
    from slim.preprocessing import _fused_kernels

    out = torch.empty(3, height, width, dtype=torch.float32)
    _fused_kernels.crop_resize_distort(
        image.contiguous().numpy().reshape(image.shape[0], -1),
        top,
        left,
        crop_height,
        crop_width,
        out.numpy(),
        bool(flip),
        int(colour_order),
        np.float32(brightness_delta),
        np.float32(max(float(saturation_factor), 0.0)),
    )
    return out
