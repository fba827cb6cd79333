"""CifarNet preprocessing (research/slim ``cifarnet_preprocessing``): pad-and-crop, flips, brightness/contrast jitter
and per-image standardization.

Used by CifarNet (and, here, NASNet-CIFAR). Input: one decoded image, uint8 HWC (torch tensor or numpy array).
Output: float32 CHW ``[3, height, width]``, standardized per image (zero mean, unit variance).

- Train: to float (0-255 scale); zero-pad 4 pixels on each side; random ``height x width`` crop; random left-right
  flip; random brightness (delta up to 63); random contrast (factor 0.2..1.8); per-image standardization.
- Eval: to float; centre crop or zero-pad to ``height x width`` (``resize_image_with_crop_or_pad``); per-image
  standardization.

Two TF-Slim quirks, fixed here:

- TF-Slim's eval called ``resize_image_with_crop_or_pad(image, output_width, output_height)``, swapping height and
  width, so a non-square output came out transposed in shape. Here the output is ``height x width`` as asked (for
  square outputs, the usual case, both agree).
- With ``use_grayscale``, TF-Slim's training crop still asked for 3 channels and failed; here the crop keeps the
  image's channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from slim.preprocessing import image_ops as ops
from slim.preprocessing.crop_ops import random_crop, resize_image_with_crop_or_pad

__all__ = ["preprocess_for_train", "preprocess_for_eval", "preprocess_image"]

_PADDING = 4

ImageSummaryFn = Callable[[str, torch.Tensor], Any]


def preprocess_for_train(
    image: Any,
    output_height: int,
    output_width: int,
    padding: int = _PADDING,
    add_image_summaries: bool = True,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
    image_summary_fn: ImageSummaryFn | None = None,
) -> torch.Tensor:
    """Pad, random crop, flip, brightness and contrast jitter, then per-image standardization.

    Args:
      image: decoded image, uint8 HWC.
      output_height, output_width: output size (the padded image must be at least this large).
      padding: zero padding added on every side before the random crop.
      add_image_summaries: send ``image`` and ``distorted_image`` (0-255 scale divided by 255) to
        ``image_summary_fn``.
      use_grayscale: convert to one grey channel first.
      generator: random generator (None: torch's global generator).
      image_summary_fn: ``fn(name, images)`` for ``[1, C, H, W]`` float summary images.

    Returns:
      float32 ``[C, output_height, output_width]``.
    """
    if padding < 0:
        raise ValueError(f"cifarnet_preprocessing: padding must be >= 0, got {padding}.")
    image = ops.to_image_tensor(image)
    summarize = add_image_summaries and image_summary_fn is not None
    if summarize:
        image_summary_fn("image", ops.convert_image_dtype(image, torch.float32).unsqueeze(0))
    image = image.to(torch.float32)
    if use_grayscale:
        image = ops.rgb_to_grayscale(image)
    if padding > 0:
        image = torch.nn.functional.pad(image, (padding, padding, padding, padding))
    distorted = random_crop(image, output_height, output_width, generator=generator)
    distorted = ops.random_flip_left_right(distorted, generator=generator)
    if summarize:
        image_summary_fn("distorted_image", (distorted / 255.0).unsqueeze(0))
    distorted = ops.random_brightness(distorted, max_delta=63, generator=generator)
    distorted = ops.random_contrast(distorted, lower=0.2, upper=1.8, generator=generator)
    return ops.per_image_standardization(distorted)


def preprocess_for_eval(
    image: Any, output_height: int, output_width: int, add_image_summaries: bool = True, use_grayscale: bool = False
) -> torch.Tensor:
    """Centre crop or pad to ``output_height x output_width``, then per-image standardization.

    ``add_image_summaries`` is accepted for TF-Slim's signature; TF-Slim's eval records no summary either.
    """
    image = ops.to_image_tensor(image).to(torch.float32)
    if use_grayscale:
        image = ops.rgb_to_grayscale(image)
    image = resize_image_with_crop_or_pad(image, output_height, output_width)
    return ops.per_image_standardization(image)


def preprocess_image(
    image: Any,
    output_height: int,
    output_width: int,
    is_training: bool = False,
    add_image_summaries: bool = True,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
    image_summary_fn: ImageSummaryFn | None = None,
) -> torch.Tensor:
    """CifarNet preprocessing of one image, for training or evaluation (TF-Slim's ``preprocess_image``).

    Args:
      image: decoded image, uint8 HWC (torch tensor or numpy array).
      output_height, output_width: output size.
      is_training: random pad-crop/flip/jitter (True) or the evaluation crop-or-pad (False).
      add_image_summaries: training only: send summary images to ``image_summary_fn``.
      use_grayscale: output one grey channel.
      generator: training only: random generator.
      image_summary_fn: ``fn(name, images)`` for summary images.

    Returns:
      float32 ``[C, output_height, output_width]``, standardized.
    """
    if is_training:
        return preprocess_for_train(
            image,
            output_height,
            output_width,
            add_image_summaries=add_image_summaries,
            use_grayscale=use_grayscale,
            generator=generator,
            image_summary_fn=image_summary_fn,
        )
    return preprocess_for_eval(image, output_height, output_width, add_image_summaries, use_grayscale)
