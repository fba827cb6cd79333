"""VGG preprocessing (research/slim ``vgg_preprocessing``): aspect-preserving resize, crop, RGB mean subtraction.

Used by VGG and ResNet (and, here, AlexNet and OverFeat). Input: one decoded image, uint8 HWC (torch tensor or numpy
array). Output: float32 CHW ``[3, height, width]`` on the 0-255 scale minus the ImageNet RGB means
``(123.68, 116.78, 103.94)`` (no division).

- Train: smallest side ``S`` uniform in ``[resize_side_min, resize_side_max]`` (256..512); TF1 bilinear resize so
  the smaller side is ``S`` (sizes rounded as TF: float32 scale, round half to even); random ``height x width``
  crop; random left-right flip; mean subtraction.
- Eval: smallest side ``resize_side_min`` (256); central crop with offsets ``(H - height) // 2``,
  ``(W - width) // 2``; mean subtraction. Matches TF-Slim's output to float rounding.

``use_grayscale``: the image becomes one grey channel (TF's weights) and the mean of the three channel means
(114.8) is subtracted. TF-Slim raised an error there instead (it subtracted three means from one channel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from slim.preprocessing import _random
from slim.preprocessing import image_ops as ops
from slim.preprocessing.resize_ops import resize_bilinear

__all__ = [
    "preprocess_for_train",
    "preprocess_for_eval",
    "preprocess_image",
    "smallest_size_at_least",
    "aspect_preserving_resize",
    "mean_image_subtraction",
]

_R_MEAN = 123.68
_G_MEAN = 116.78
_B_MEAN = 103.94
_RESIZE_SIDE_MIN = 256
_RESIZE_SIDE_MAX = 512


def smallest_size_at_least(height: int, width: int, smallest_side: int) -> tuple[int, int]:
    """The size that makes the smaller of ``height``/``width`` equal ``smallest_side``, keeping the aspect ratio.

    Computed as TF-Slim does: a float32 scale ``smallest_side / min_side`` and sizes ``rint(side * scale)``
    (round half to even), so the resized shapes agree with TF-Slim's.
    """
    h, w, side = np.float32(height), np.float32(width), np.float32(smallest_side)
    scale = side / w if h > w else side / h
    return int(np.rint(h * scale)), int(np.rint(w * scale))


def aspect_preserving_resize(image: torch.Tensor, smallest_side: int) -> torch.Tensor:
    """TF1-bilinear resize of ``[C, H, W]`` so that its smaller side is ``smallest_side``; returns float32."""
    new_height, new_width = smallest_size_at_least(image.shape[-2], image.shape[-1], smallest_side)
    return resize_bilinear(image, (new_height, new_width))


def mean_image_subtraction(image: torch.Tensor, means: tuple[float, ...] = (_R_MEAN, _G_MEAN, _B_MEAN)) -> torch.Tensor:
    """Subtracts one mean per channel of ``[C, H, W]``; a one-channel image gets the mean of the means.

    Raises:
      ValueError: if the channel count is neither ``len(means)`` nor 1.
    """
    num_channels = image.shape[-3]
    if num_channels == len(means):
        values = torch.tensor(means, dtype=torch.float32)
    elif num_channels == 1:
        values = torch.tensor([sum(means) / len(means)], dtype=torch.float32)
    else:
        raise ValueError(
            f"mean_image_subtraction: the image has {num_channels} channels but {len(means)} means were given."
        )
    return image - values.view(-1, 1, 1)


def _resize_and_crop(
    image: torch.Tensor, resize_side: int, height: int, width: int, generator: torch.Generator | None, random: bool
) -> torch.Tensor:
    """Aspect-preserving resize to ``resize_side`` followed by a central or random ``height x width`` crop.

    Only the cropped window of the resized image is computed (bilinear output pixels are independent), which gives
    exactly TF-Slim's resize-then-crop result at a fraction of the cost when the resized image is large.
    """
    new_height, new_width = smallest_size_at_least(image.shape[-2], image.shape[-1], resize_side)
    if height > new_height or width > new_width:
        raise ValueError(
            f"vgg_preprocessing: cannot take a {height}x{width} crop from the image resized to "
            f"{new_height}x{new_width} (smallest side {resize_side}); raise resize_side_min or lower the output size."
        )
    if random:
        top = _random.randint(0, new_height - height + 1, generator)
        left = _random.randint(0, new_width - width + 1, generator)
    else:
        top, left = (new_height - height) // 2, (new_width - width) // 2
    return resize_bilinear(image, (new_height, new_width), window=(top, left, height, width))


def preprocess_for_train(
    image: Any,
    output_height: int,
    output_width: int,
    resize_side_min: int = _RESIZE_SIDE_MIN,
    resize_side_max: int = _RESIZE_SIDE_MAX,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random rescale, random crop, random flip and mean subtraction of one image (float32 ``[C, h, w]``)."""
    if resize_side_max < resize_side_min:
        raise ValueError(
            f"vgg_preprocessing: resize_side_max ({resize_side_max}) must be >= resize_side_min ({resize_side_min})."
        )
    image = ops.to_image_tensor(image)
    resize_side = _random.randint(resize_side_min, resize_side_max + 1, generator)
    image = _resize_and_crop(image, resize_side, output_height, output_width, generator, random=True)
    if use_grayscale:
        image = ops.rgb_to_grayscale(image)
    image = ops.random_flip_left_right(image, generator=generator)
    return mean_image_subtraction(image)


def preprocess_for_eval(
    image: Any, output_height: int, output_width: int, resize_side: int = _RESIZE_SIDE_MIN, use_grayscale: bool = False
) -> torch.Tensor:
    """Rescale (smallest side ``resize_side``), central crop and mean subtraction of one image."""
    image = ops.to_image_tensor(image)
    image = _resize_and_crop(image, resize_side, output_height, output_width, None, random=False)
    if use_grayscale:
        image = ops.rgb_to_grayscale(image)
    return mean_image_subtraction(image)


def preprocess_image(
    image: Any,
    output_height: int,
    output_width: int,
    is_training: bool = False,
    resize_side_min: int = _RESIZE_SIDE_MIN,
    resize_side_max: int = _RESIZE_SIDE_MAX,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """VGG preprocessing of one image, for training or evaluation (TF-Slim's ``preprocess_image``).

    Args:
      image: decoded image, uint8 HWC (torch tensor or numpy array).
      output_height, output_width: output size.
      is_training: random rescale/crop/flip (True) or the deterministic evaluation crop (False).
      resize_side_min: smallest side after rescaling (evaluation), or the lower end of the random range.
      resize_side_max: training only: upper end (inclusive) of the random smallest side.
      use_grayscale: output one grey channel (minus the mean of the three means).
      generator: training only: random generator (None: torch's global generator).

    Returns:
      float32 ``[C, output_height, output_width]``, mean-subtracted on the 0-255 scale.
    """
    if is_training:
        return preprocess_for_train(
            image, output_height, output_width, resize_side_min, resize_side_max, use_grayscale, generator=generator
        )
    return preprocess_for_eval(image, output_height, output_width, resize_side_min, use_grayscale)
