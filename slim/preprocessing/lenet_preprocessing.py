"""LeNet preprocessing (research/slim ``lenet_preprocessing``): centre crop or pad, then ``(x - 128) / 128``.

Used by LeNet (MNIST). Training and evaluation are the same; there is no randomness. Input: one decoded image, uint8
HWC (torch tensor or numpy array; MNIST's ``[28, 28, 1]``). Output: float32 CHW ``[C, height, width]`` in about
``[-1, 1]``.

TF-Slim called ``resize_image_with_crop_or_pad(image, output_width, output_height)``, swapping height and width, so
a non-square output came out transposed in shape; here the output is ``height x width`` as asked (square outputs,
the usual case, agree).
"""

from __future__ import annotations

from typing import Any

import torch

from slim.preprocessing import image_ops as ops
from slim.preprocessing.crop_ops import resize_image_with_crop_or_pad

__all__ = ["preprocess_image"]


def preprocess_image(
    image: Any,
    output_height: int,
    output_width: int,
    is_training: bool = False,
    use_grayscale: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """LeNet preprocessing of one image (TF-Slim's ``preprocess_image``).

    Args:
      image: decoded image, uint8 HWC.
      output_height, output_width: output size (centre crop and/or zero pad).
      is_training: accepted for the common signature; LeNet preprocessing is the same in training and evaluation.
      use_grayscale: convert an RGB image to one grey channel first.
      generator: accepted for the common signature; nothing here is random.

    Returns:
      float32 ``[C, output_height, output_width]``, ``(x - 128) / 128``.
    """
    del is_training, generator  # Same deterministic preprocessing for training and evaluation.
    image = ops.to_image_tensor(image).to(torch.float32)
    if use_grayscale:
        image = ops.rgb_to_grayscale(image)
    image = resize_image_with_crop_or_pad(image, output_height, output_width)
    return (image - 128.0) / 128.0
