"""The numba kernel behind :func:`slim.preprocessing.fused_ops.crop_resize_distort` (imported on first use, so
that numba's import time is only paid by pipelines that use it). See that module for what and why."""

import numba
import numpy as np

from slim.preprocessing.fused_ops import BRIGHTNESS_THEN_SATURATION, NO_COLOUR, SATURATION_THEN_BRIGHTNESS

_UINT8_SCALE = np.float32(1.0 / 255.0)
_TINY = np.float32(np.finfo(np.float32).tiny)


@numba.njit(inline="always", cache=True)
def _lerp(start, end, weight):
    """``torch.lerp`` for one float32 value: exact at both ends, the form switching at ``weight = 0.5``."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (np.float32(1.0) - weight)


@numba.njit(nogil=True, cache=True)
def _taps(in_size, out_size, start):
    """TF1's legacy bilinear taps (``align_corners=False``, no half-pixel centres) along one axis of a window that
    begins at ``start`` of the image: source indices below and above, and the float32 fraction."""
    scale = np.float32(in_size) / np.float32(out_size)
    lower = np.empty(out_size, np.int64)
    upper = np.empty(out_size, np.int64)
    fraction = np.empty(out_size, np.float32)
    for i in range(out_size):
        position = np.float32(i) * scale
        floor = np.float32(np.floor(position))
        lower[i] = start + max(int(floor), 0)
        upper[i] = start + min(int(np.ceil(position)), in_size - 1)
        fraction[i] = position - floor
    return lower, upper, fraction


@numba.njit(nogil=True, cache=True)
def crop_resize_distort(image, top, left, crop_height, crop_width, out, flip, colour_order, delta, factor):
    """Fills ``out`` (float32 ``[3, H, W]``) from a crop window of ``image`` (uint8 ``[rows, cols * 3]``).

    Row by row: the two source rows are interpolated along y over the window's width (contiguous, vectorized), the
    result along x into the three planes of the output row (mirrored if ``flip``), and the colour steps run over
    that output row while it is in cache.
    """
    height, width = out.shape[1], out.shape[2]
    row_low, row_high, row_fraction = _taps(crop_height, height, top)
    col_low, col_high, col_fraction = _taps(crop_width, width, 0)
    span = crop_width * 3
    first = left * 3
    window_row = np.empty(span, np.float32)
    for i in range(height):
        source_top = image[row_low[i], first : first + span]
        source_bottom = image[row_high[i], first : first + span]
        dy = row_fraction[i]
        for k in range(span):
            window_row[k] = _lerp(np.float32(source_top[k]), np.float32(source_bottom[k]), dy)
        red, green, blue = out[0, i], out[1, i], out[2, i]
        for j in range(width):
            column = width - 1 - j if flip else j
            x0, x1, dx = col_low[j] * 3, col_high[j] * 3, col_fraction[j]
            red[column] = _lerp(window_row[x0], window_row[x1], dx)
            green[column] = _lerp(window_row[x0 + 1], window_row[x1 + 1], dx)
            blue[column] = _lerp(window_row[x0 + 2], window_row[x1 + 2], dx)
        for j in range(width):
            r, g, b = red[j] * _UINT8_SCALE, green[j] * _UINT8_SCALE, blue[j] * _UINT8_SCALE
            if colour_order == BRIGHTNESS_THEN_SATURATION:
                r, g, b = r + delta, g + delta, b + delta
            if colour_order != NO_COLOUR:
                value = max(max(r, g), b)
                chroma = max(value - min(min(r, g), b), _TINY)
                ratio = min(max(value / chroma, np.float32(0.0)), factor)
                r, g, b = _lerp(value, r, ratio), _lerp(value, g, ratio), _lerp(value, b, ratio)
            if colour_order == SATURATION_THEN_BRIGHTNESS:
                r, g, b = r + delta, g + delta, b + delta
            if colour_order != NO_COLOUR:
                r = min(max(r, np.float32(0.0)), np.float32(1.0))
                g = min(max(g, np.float32(0.0)), np.float32(1.0))
                b = min(max(b, np.float32(0.0)), np.float32(1.0))
            red[j] = (r - np.float32(0.5)) * np.float32(2.0)
            green[j] = (g - np.float32(0.5)) * np.float32(2.0)
            blue[j] = (b - np.float32(0.5)) * np.float32(2.0)
