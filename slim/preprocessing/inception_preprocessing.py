"""Inception preprocessing (research/slim ``inception_preprocessing``): random crops and colour distortion for
training, a central crop for evaluation; outputs in ``[-1, 1]``.

Used by the Inception, Inception-ResNet, MobileNet and NASNet/PNASNet families. Input: one decoded image, uint8 HWC
(torch tensor or numpy array; a float image is taken to be in ``[0, 1]`` already). Output: float32 CHW
``[3, height, width]`` (``[1, height, width]`` with ``use_grayscale``).

- Eval: to float ``[0, 1]``; optional grayscale; ``tf.image.central_crop`` of 87.5 %; TF1 bilinear resize
  (``align_corners=False``, no half-pixel centres, no antialiasing; see :mod:`resize_ops`); ``(x - 0.5) * 2``.
  Matches TF-Slim's output to float rounding.
- Train: to float; a random crop from :func:`sample_distorted_bounding_box` (at least 10 % of the object box,
  aspect 3/4..4/3, 5-100 % of the area); resize with a random TF1 method (``fast_mode``: bilinear only); random
  left-right flip; random colour distortion in one of TF-Slim's orderings; clip to ``[0, 1]``; optional grayscale;
  ``(x - 0.5) * 2``. All randomness goes through ``generator``. The random choices and their ranges are TF-Slim's;
  the arithmetic is TF's up to float rounding (about 1e-6), not bit for bit: the crop is resized before the float
  conversion, and bilinearly with :func:`~slim.preprocessing.resize_ops.resize_bilinear_fast`, which is several
  times faster than the exact kernel.

Image summaries: TF-Slim writes ``image_with_bounding_boxes``, ``images_with_distorted_bounding_box``,
``cropped_resized_image`` (or ``resized_image``) and ``final_distorted_image`` when ``add_image_summaries``. Here
they go to ``image_summary_fn(name, images)`` (``images``: float ``[1, C, H, W]``), e.g.
``lambda name, img: slim.summaries.add_image_summary(img, name=name)``; without a function nothing is recorded.

TF-Slim's ``scope`` arguments are not taken (there are no name scopes here); arguments after the ones TF-Slim takes
positionally are keyword-only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from slim.preprocessing import _random, crop_ops, fused_ops
from slim.preprocessing import image_ops as ops
from slim.preprocessing.crop_ops import draw_bounding_boxes
from slim.preprocessing.distorted_bounding_box import sample_distorted_bounding_box
from slim.preprocessing.resize_ops import resize_bilinear, resize_images

__all__ = [
    "apply_with_random_selector",
    "distort_color",
    "distorted_bounding_box_crop",
    "preprocess_for_train",
    "preprocess_for_eval",
    "preprocess_image",
]

ImageSummaryFn = Callable[[str, torch.Tensor], Any]

_NUM_RESIZE_METHODS = 4  # bilinear, nearest neighbour, bicubic, area (TF1 ResizeMethod codes 0..3)
_NUM_COLOR_ORDERINGS = 4
_MAX_BRIGHTNESS_DELTA = 32.0 / 255.0
_SATURATION_RANGE = (0.5, 1.5)
_HUE_MAX_DELTA = 0.2
_CONTRAST_RANGE = (0.5, 1.5)


def apply_with_random_selector(
    x: torch.Tensor,
    func: Callable[[torch.Tensor, int], torch.Tensor],
    num_cases: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Calls ``func(x, sel)`` with ``sel`` drawn uniformly from ``range(num_cases)``.

    TF-Slim builds all ``num_cases`` branches into the graph and selects one at run time; here only the selected
    branch runs.
    """
    if num_cases < 1:
        raise ValueError(f"apply_with_random_selector: num_cases must be >= 1, got {num_cases}.")
    return func(x, _random.randint(0, num_cases, generator))


def distort_color(
    image: torch.Tensor, color_ordering: int = 0, fast_mode: bool = True, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random brightness, saturation, hue and contrast in one of TF-Slim's orderings, then clip to ``[0, 1]``.

    Args:
      image: float RGB ``[3, H, W]`` in ``[0, 1]``.
      color_ordering: which ordering (fast mode: 0 or 1; full: 0..3).
      fast_mode: only brightness and saturation (the cheap ops).
      generator: random generator for the distortion strengths.

    Returns:
      The distorted image, clipped to ``[0, 1]``.

    Raises:
      ValueError: for an ordering outside the allowed range.
    """
    brightness = lambda x: ops.random_brightness(x, _MAX_BRIGHTNESS_DELTA, generator=generator)
    saturation = lambda x: ops.random_saturation(x, *_SATURATION_RANGE, generator=generator)
    hue = lambda x: ops.random_hue(x, _HUE_MAX_DELTA, generator=generator)
    contrast = lambda x: ops.random_contrast(x, *_CONTRAST_RANGE, generator=generator)
    if fast_mode:
        orderings = ((brightness, saturation), (saturation, brightness))
    else:
        orderings = (
            (brightness, saturation, hue, contrast),
            (saturation, brightness, contrast, hue),
            (contrast, hue, brightness, saturation),
            (hue, saturation, contrast, brightness),
        )
    if not 0 <= color_ordering < len(orderings):
        raise ValueError(
            f"distort_color: color_ordering must be in [0, {len(orderings) - 1}] with fast_mode={fast_mode}, "
            f"got {color_ordering}."
        )
    for op in orderings[color_ordering]:
        image = op(image)
    return image.clamp_(0.0, 1.0)  # in place: every op above returned a new tensor


def distorted_bounding_box_crop(
    image: torch.Tensor,
    bbox: Any,
    min_object_covered: float = 0.1,
    aspect_ratio_range: Sequence[float] = (0.75, 1.33),
    area_range: Sequence[float] = (0.05, 1.0),
    max_attempts: int = 100,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops ``image`` ``[C, H, W]`` with :func:`sample_distorted_bounding_box`; returns ``(crop, crop_bbox)``.

    ``crop_bbox`` is the crop as a relative ``[1, 1, 4]`` box (for summaries).
    """
    begin, size, crop_bbox = sample_distorted_bounding_box(
        (image.shape[-2], image.shape[-1]),
        bbox,
        min_object_covered=min_object_covered,
        aspect_ratio_range=aspect_ratio_range,
        area_range=area_range,
        max_attempts=max_attempts,
        use_image_if_no_bounding_boxes=True,
        generator=generator,
    )
    (top, left), (height, width) = begin, size
    return image[..., top : top + height, left : left + width], crop_bbox


def _to_float01(image: Any) -> torch.Tensor:
    return ops.convert_image_dtype(ops.to_image_tensor(image), torch.float32)


def _resized_to_unit_range(resized: torch.Tensor, source_dtype: torch.dtype) -> torch.Tensor:
    """The resized crop as float in ``[0, 1]``, from a crop that was resized in its own dtype (``source_dtype``).

    TF-Slim converts the image to float ``[0, 1]`` first and resizes that. Every resize method is linear in the pixel
    values (nearest neighbour and the same-size case copy pixels, and stay integer), so resizing the integer crop
    and scaling afterwards gives TF's values up to float rounding, while converting only ``height * width`` pixels
    instead of the whole crop, and letting the resize gather bytes instead of floats.
    """
    if not resized.dtype.is_floating_point:
        return ops.convert_image_dtype(resized, torch.float32)
    if source_dtype.is_floating_point:
        return resized.to(torch.float32)
    return resized.mul_(1.0 / torch.iinfo(source_dtype).max)


def preprocess_for_train(
    image: Any,
    height: int,
    width: int,
    bbox: Any = None,
    fast_mode: bool = True,
    *,
    add_image_summaries: bool = True,
    random_crop: bool = True,
    use_grayscale: bool = False,
    generator: torch.Generator | None = None,
    image_summary_fn: ImageSummaryFn | None = None,
) -> torch.Tensor:
    """Distorts one image for training (see the module docstring for the steps).

    Args:
      image: decoded image, uint8 HWC (or float in ``[0, 1]``).
      height, width: output size.
      bbox: object boxes ``[..., 4]`` (relative ``ymin, xmin, ymax, xmax``); None: the whole image.
      fast_mode: bilinear resize only and the cheap colour distortion (brightness, saturation).
      add_image_summaries: send summary images to ``image_summary_fn`` (ignored without one).
      random_crop: take the distorted bounding-box crop (False: resize the whole image).
      use_grayscale: convert to one grey channel after the colour distortion.
      generator: random generator for every random choice (None: torch's global generator).
      image_summary_fn: ``fn(name, images)`` receiving float ``[1, C, H, W]`` summary images.

    Returns:
      float32 ``[C, height, width]`` in ``[-1, 1]``.
    """
    summarize = add_image_summaries and image_summary_fn is not None
    # The pixels keep their dtype through crop and resize (see _resized_to_unit_range); only the summaries, which
    # draw on the whole image, need it in float.
    image = ops.to_image_tensor(image)
    if bbox is None:
        bbox = torch.tensor([0.0, 0.0, 1.0, 1.0]).view(1, 1, 4)
    if fast_mode and not summarize and not use_grayscale and _fused_kernel_applies(image):
        return _fast_mode_in_one_kernel(image, height, width, bbox, random_crop, generator)
    summary_image = ops.convert_image_dtype(image, torch.float32).unsqueeze(0) if summarize else None
    if summarize:
        boxes = torch.as_tensor(bbox, dtype=torch.float32).reshape(1, -1, 4)
        image_summary_fn("image_with_bounding_boxes", draw_bounding_boxes(summary_image, boxes))
    if random_crop:
        distorted, distorted_bbox = distorted_bounding_box_crop(image, bbox, generator=generator)
        if summarize:
            image_summary_fn("images_with_distorted_bounding_box", draw_bounding_boxes(summary_image, distorted_bbox))
    else:
        distorted = image
    num_resize_cases = 1 if fast_mode else _NUM_RESIZE_METHODS
    resized = apply_with_random_selector(
        distorted,
        lambda x, method: resize_images(x, (height, width), method, exact=False),
        num_resize_cases,
        generator=generator,
    )
    distorted = _resized_to_unit_range(resized, distorted.dtype)
    if summarize:
        image_summary_fn(("cropped_" if random_crop else "") + "resized_image", distorted.unsqueeze(0))
    distorted = ops.random_flip_left_right(distorted, generator=generator)
    num_distort_cases = 1 if fast_mode else _NUM_COLOR_ORDERINGS
    distorted = apply_with_random_selector(
        distorted,
        lambda x, ordering: distort_color(x, ordering, fast_mode, generator=generator),
        num_distort_cases,
        generator=generator,
    )
    if use_grayscale:
        distorted = ops.rgb_to_grayscale(distorted)
    if summarize:
        image_summary_fn("final_distorted_image", distorted.unsqueeze(0))
    return (distorted - 0.5).mul_(2.0)


def _fused_kernel_applies(image: torch.Tensor) -> bool:
    """Whether :mod:`fused_ops` can do the fast-mode training steps (numba installed; a uint8 RGB image)."""
    return image.dtype == torch.uint8 and image.shape[0] == 3 and fused_ops.available()


def _fast_mode_in_one_kernel(
    image: torch.Tensor, height: int, width: int, bbox: Any, random_crop: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """:func:`preprocess_for_train`'s fast mode (no summaries, RGB out) as one :mod:`fused_ops` call.

    Draws the same random numbers, in the same order, as the torch ops of :func:`preprocess_for_train` (crop,
    resize-method selector, flip, colour-ordering selector, brightness, saturation), so a seeded generator gives
    the same crop, flip and strengths either way, and values equal to float rounding (tested).
    """
    image_height, image_width = image.shape[-2], image.shape[-1]
    if random_crop:
        (top, left), (crop_height, crop_width), _ = sample_distorted_bounding_box(
            (image_height, image_width), bbox, use_image_if_no_bounding_boxes=True, generator=generator
        )
    else:
        top, left, crop_height, crop_width = 0, 0, image_height, image_width
    _random.randint(0, 1, generator)  # the resize-method selector: one method (bilinear) in fast mode
    flip = _random.coin(generator)
    _random.randint(0, 1, generator)  # the colour-ordering selector: one ordering in fast mode
    brightness_delta = _random.uniform(-_MAX_BRIGHTNESS_DELTA, _MAX_BRIGHTNESS_DELTA, generator)
    saturation_factor = _random.uniform(*_SATURATION_RANGE, generator)
    return fused_ops.crop_resize_distort(
        image.permute(1, 2, 0),
        (top, left, crop_height, crop_width),
        (height, width),
        flip=flip,
        colour_order=fused_ops.BRIGHTNESS_THEN_SATURATION,
        brightness_delta=brightness_delta,
        saturation_factor=saturation_factor,
    )


def preprocess_for_eval(
    image: Any,
    height: int | None,
    width: int | None,
    central_fraction: float | None = 0.875,
    *,
    central_crop: bool = True,
    use_grayscale: bool = False,
) -> torch.Tensor:
    """Prepares one image for evaluation: central crop, TF1 bilinear resize, scale to ``[-1, 1]``.

    Args:
      image: decoded image, uint8 HWC (or float in ``[0, 1]``).
      height, width: output size; if either is None/0 the image is not resized (as TF-Slim).
      central_fraction: fraction of height and width kept by the central crop; None/0 skips the crop.
      central_crop: whether to crop at all.
      use_grayscale: convert to one grey channel.

    Returns:
      float32 ``[C, height, width]`` in ``[-1, 1]``.
    """
    x = _to_float01(image)
    if use_grayscale:
        x = ops.rgb_to_grayscale(x)
    if central_crop and central_fraction:
        x = crop_ops.central_crop(x, central_fraction)
    if height and width:
        x = resize_bilinear(x, (height, width))
    return (x - 0.5) * 2.0


def preprocess_image(
    image: Any,
    height: int,
    width: int,
    is_training: bool = False,
    bbox: Any = None,
    fast_mode: bool = True,
    add_image_summaries: bool = True,
    crop_image: bool = True,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
    image_summary_fn: ImageSummaryFn | None = None,
) -> torch.Tensor:
    """Inception preprocessing of one image, for training or evaluation (TF-Slim's ``preprocess_image``).

    Args:
      image: decoded image, uint8 HWC (torch tensor or numpy array).
      height, width: output size.
      is_training: training distortions (True) or the evaluation crop (False).
      bbox: training only: object boxes ``[..., 4]``; None for the whole image.
      fast_mode: training only: bilinear resize only and brightness/saturation distortion only.
      add_image_summaries: training only: send summary images to ``image_summary_fn``.
      crop_image: training: take a random crop; evaluation: take the central crop.
      use_grayscale: output one grey channel.
      generator: training only: random generator (None: torch's global generator).
      image_summary_fn: ``fn(name, images)`` for summary images (``[1, C, H, W]`` float).

    Returns:
      float32 ``[C, height, width]`` in ``[-1, 1]``.
    """
    if is_training:
        return preprocess_for_train(
            image,
            height,
            width,
            bbox,
            fast_mode,
            add_image_summaries=add_image_summaries,
            random_crop=crop_image,
            use_grayscale=use_grayscale,
            generator=generator,
            image_summary_fn=image_summary_fn,
        )
    return preprocess_for_eval(image, height, width, central_crop=crop_image, use_grayscale=use_grayscale)
