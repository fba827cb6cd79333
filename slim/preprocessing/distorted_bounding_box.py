"""``tf.image.sample_distorted_bounding_box``: TF's random-crop sampler, re-implemented from its documented algorithm.

Inception training crops each image with this sampler. The algorithm (TF's ``SampleDistortedBoundingBox`` kernel):

1. The object boxes (relative ``ymin, xmin, ymax, xmax`` in ``[0, 1]``) become pixel rectangles by truncating
   ``coordinate * size``; with no box and ``use_image_if_no_bounding_boxes`` the whole image is the object.
2. Up to ``max_attempts`` times: draw an aspect ratio (width / height) uniformly from ``aspect_ratio_range``; turn
   the area range into a height range ``[round(sqrt(min_area / ratio)), round(sqrt(max_area / ratio))]`` (the
   upper end lowered until ``round(height * ratio)`` fits the image width, and capped at the image height); draw
   the height uniformly from that closed range and set ``width = round(height * ratio)``; nudge the height by one
   if rounding took the area out of range, else reject the attempt; place the crop at ``y`` uniform in
   ``[0, H - height)`` and ``x`` uniform in ``[0, W - width)`` (0 when the crop spans the axis); accept it if it
   covers at least ``min_object_covered`` of the area of any object box.
3. If no attempt is accepted, the crop is the whole image.

The arithmetic is float32 with round-half-to-even as in the kernel, so the same draws give the same crops; the random
stream itself is torch's (through the optional ``generator``), not TF's Philox. One kernel quirk is kept on purpose:
the offsets are drawn from ``[0, H - height)``, so a crop smaller than the image never touches its bottom or right
edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from slim.preprocessing import _random

__all__ = ["SampledBox", "sample_distorted_bounding_box"]

_f32 = np.float32


class SampledBox(NamedTuple):
    """The sampled crop, in TF's three outputs.

    Attributes:
      begin: ``(offset_height, offset_width)`` of the crop in pixels (TF's ``begin`` without the channel entry).
      size: ``(target_height, target_width)`` in pixels (TF's ``size`` without the channel entry).
      bboxes: float32 ``[1, 1, 4]``: the crop as a relative ``(ymin, xmin, ymax, xmax)`` box.
    """

    begin: tuple[int, int]
    size: tuple[int, int]
    bboxes: torch.Tensor


def _round(value: np.float32) -> int:
    """``lrintf``: round half to even."""
    return int(np.rint(value))


def _box_rectangles(bounding_boxes: Any, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Relative boxes ``[..., 4]`` -> pixel rectangles ``(xmin, ymin, xmax, ymax)``; validates the coordinates."""
    if bounding_boxes is None:
        return []
    # numpy rather than torch: this runs once per training image on a handful of numbers, where each torch call's
    # overhead costs more than the work.
    if isinstance(bounding_boxes, torch.Tensor):
        bounding_boxes = bounding_boxes.detach().to("cpu", torch.float32).numpy()
    boxes = np.asarray(bounding_boxes, dtype=np.float32)
    if boxes.size == 0:
        return []
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            f"sample_distorted_bounding_box: bounding_boxes must have shape [..., 4] (ymin, xmin, ymax, xmax), "
            f"got {tuple(boxes.shape)}."
        )
    boxes = boxes.reshape(-1, 4)
    if ((boxes < 0) | (boxes > 1)).any():
        raise ValueError(
            f"sample_distorted_bounding_box: all bounding box coordinates must be in [0.0, 1.0], got {boxes.tolist()}."
        )
    h, w = _f32(height), _f32(width)
    return [(int(xmin * w), int(ymin * h), int(xmax * w), int(ymax * h)) for ymin, xmin, ymax, xmax in boxes]


def _area(rect: tuple[int, int, int, int]) -> float:
    return float((rect[2] - rect[0]) * (rect[3] - rect[1]))


def _covers(crop: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]], min_covered: float) -> bool:
    """Whether ``crop`` covers at least ``min_covered`` of the area of one of the (non-empty) boxes."""
    if _area(crop) < 1.0:
        return False
    for box in boxes:
        box_area = _area(box)
        if box_area < 1.0:
            continue
        left, top = max(crop[0], box[0]), max(crop[1], box[1])
        right, bottom = min(crop[2], box[2]), min(crop[3], box[3])
        inter = 0.0 if left > right or top > bottom else float((right - left) * (bottom - top))
        if _f32(inter) / _f32(box_area) >= _f32(min_covered):
            return True
    return False


def _random_crop(
    width: int,
    height: int,
    min_rel_area: float,
    max_rel_area: float,
    ratio: np.float32,
    generator: torch.Generator | None,
) -> tuple[int, int, int, int] | None:
    """One attempt of the kernel's crop generation; ``(xmin, ymin, xmax, ymax)`` or None when rejected."""
    if max_rel_area <= 0.0 or ratio <= 0.0 or width <= 0 or height <= 0 or min_rel_area > max_rel_area:
        return None
    min_area = _f32(min_rel_area) * _f32(width) * _f32(height)
    max_area = _f32(max_rel_area) * _f32(width) * _f32(height)
    crop_h = _round(np.sqrt(min_area / ratio))
    max_h = _round(np.sqrt(max_area / ratio))
    if _round(_f32(max_h) * ratio) > width:
        # The largest height whose rounded width still fits (double arithmetic, as the kernel).
        max_h = int((width + 0.5 - float(_f32(1e-7))) / float(ratio))
        if _round(_f32(max_h) * ratio) > width:
            max_h -= 1
    max_h = min(max_h, height)
    crop_h = min(crop_h, max_h)
    if crop_h < max_h:
        crop_h += _random.randint(0, max_h - crop_h + 1, generator)
    crop_w = _round(_f32(crop_h) * ratio)
    area = _f32(crop_w * crop_h)
    if area < min_area:
        crop_h += 1
        crop_w = _round(_f32(crop_h) * ratio)
        area = _f32(crop_w * crop_h)
    if area > max_area:
        crop_h -= 1
        crop_w = _round(_f32(crop_h) * ratio)
        area = _f32(crop_w * crop_h)
    if area < min_area or area > max_area or crop_w > width or crop_h > height or crop_w <= 0 or crop_h <= 0:
        return None
    y = _random.randint(0, height - crop_h, generator) if crop_h < height else 0
    x = _random.randint(0, width - crop_w, generator) if crop_w < width else 0
    return x, y, x + crop_w, y + crop_h


def sample_distorted_bounding_box(
    image_size: Sequence[int],
    bounding_boxes: Any = None,
    min_object_covered: float = 0.1,
    aspect_ratio_range: Sequence[float] = (0.75, 1.33),
    area_range: Sequence[float] = (0.05, 1.0),
    max_attempts: int = 100,
    use_image_if_no_bounding_boxes: bool = False,
    generator: torch.Generator | None = None,
) -> SampledBox:
    """Samples a random crop of an image that covers enough of one of its object boxes.

    Args:
      image_size: ``(height, width)`` or ``(height, width, channels)`` of the image (TF's order; the channel count
        is ignored).
      bounding_boxes: object boxes, relative ``(ymin, xmin, ymax, xmax)`` in ``[0, 1]``, shape ``[..., 4]``
        (TF's ``[batch, N, 4]`` works); None or empty for none.
      min_object_covered: the crop must contain at least this fraction of the area of some object box.
      aspect_ratio_range: range of the crop's width / height.
      area_range: range of the crop's area as a fraction of the image area, within ``(0, 1]``.
      max_attempts: attempts before falling back to the whole image.
      use_image_if_no_bounding_boxes: use the whole image as the object when no box is given (else an error).
      generator: the random generator for all draws (None: torch's global generator).

    Returns:
      A :class:`SampledBox` ``(begin, size, bboxes)``; crop a CHW image with
      ``image[:, top:top + h, left:left + w]`` where ``(top, left), (h, w) = begin, size``.

    Raises:
      ValueError: for invalid ranges, box coordinates outside ``[0, 1]``, or no boxes without
        ``use_image_if_no_bounding_boxes``.
    """
    if len(image_size) not in (2, 3):
        raise ValueError(
            f"sample_distorted_bounding_box: image_size must be (height, width[, channels]), got {tuple(image_size)}."
        )
    height, width = int(image_size[0]), int(image_size[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"sample_distorted_bounding_box: image_size must be positive, got {tuple(image_size)}.")
    if min_object_covered < 0:
        raise ValueError(f"sample_distorted_bounding_box: min_object_covered must be >= 0, got {min_object_covered}.")
    if len(aspect_ratio_range) != 2 or not (aspect_ratio_range[0] > 0 and aspect_ratio_range[1] > 0):
        raise ValueError(
            f"sample_distorted_bounding_box: aspect_ratio_range must be two positive numbers, got "
            f"{tuple(aspect_ratio_range)}."
        )
    if len(area_range) != 2 or not (0 < area_range[0] <= 1 and 0 < area_range[1] <= 1):
        raise ValueError(
            f"sample_distorted_bounding_box: area_range must be two numbers in (0, 1], got {tuple(area_range)}."
        )
    if max_attempts <= 0:
        raise ValueError(f"sample_distorted_bounding_box: max_attempts must be positive, got {max_attempts}.")

    boxes = _box_rectangles(bounding_boxes, height, width)
    image_rect = (0, 0, width, height)
    if not boxes:
        if not use_image_if_no_bounding_boxes:
            raise ValueError(
                "sample_distorted_bounding_box: no bounding boxes were given; pass some, or set "
                "use_image_if_no_bounding_boxes=True to use the whole image as the object."
            )
        boxes = [image_rect]

    low_ratio, high_ratio = _f32(aspect_ratio_range[0]), _f32(aspect_ratio_range[1])
    crop = None
    for _ in range(max_attempts):
        u = _f32(torch.rand((), generator=generator, dtype=torch.float32).item())
        ratio = _f32(u * (high_ratio - low_ratio) + low_ratio)
        candidate = _random_crop(width, height, area_range[0], area_range[1], ratio, generator)
        if candidate is not None and _covers(candidate, boxes, min_object_covered):
            crop = candidate
            break
    if crop is None:
        crop = image_rect

    xmin, ymin, xmax, ymax = crop
    bboxes = torch.tensor(
        [[[ymin / _f32(height), xmin / _f32(width), ymax / _f32(height), xmax / _f32(width)]]], dtype=torch.float32
    )
    return SampledBox((ymin, xmin), (ymax - ymin, xmax - xmin), bboxes)
