"""TF's crop and pad ops (``central_crop``, ``resize_image_with_crop_or_pad``, ``random_crop``, ...) on CHW tensors.

Boxes and offsets are computed exactly as TF computes them (``central_crop`` in double precision with truncation,
``resize_image_with_crop_or_pad`` with floor division of the size difference), so crops land on the same pixels.
Crops are views of the input where possible (no copy). :func:`draw_bounding_boxes` is here for image summaries.
"""

from __future__ import annotations

import torch

from slim.preprocessing import _random

__all__ = [
    "central_crop_box",
    "central_crop",
    "crop_to_bounding_box",
    "pad_to_bounding_box",
    "resize_image_with_crop_or_pad",
    "random_crop",
    "draw_bounding_boxes",
]


def central_crop_box(height: int, width: int, central_fraction: float) -> tuple[int, int, int, int]:
    """The ``(top, left, crop_height, crop_width)`` that ``tf.image.central_crop`` keeps of a ``height x width`` image.

    TF computes the start as ``int((size - size * fraction) / 2)`` in double precision and keeps
    ``size - 2 * start`` pixels, so the crop is always centred (odd margins round towards a larger crop).

    Raises:
      ValueError: if ``central_fraction`` is not in ``(0, 1]``.
    """
    if not 0.0 < central_fraction <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be within (0, 1], got {central_fraction}.")
    if central_fraction == 1.0:
        return 0, 0, height, width
    top = int((float(height) - float(height) * central_fraction) / 2)
    left = int((float(width) - float(width) * central_fraction) / 2)
    return top, left, height - 2 * top, width - 2 * left


def central_crop(image: torch.Tensor, central_fraction: float) -> torch.Tensor:
    """``tf.image.central_crop`` of a ``[..., C, H, W]`` image: keeps the central ``central_fraction`` of H and W."""
    top, left, crop_height, crop_width = central_crop_box(image.shape[-2], image.shape[-1], central_fraction)
    return image[..., top : top + crop_height, left : left + crop_width]


def crop_to_bounding_box(
    image: torch.Tensor, offset_height: int, offset_width: int, target_height: int, target_width: int
) -> torch.Tensor:
    """``tf.image.crop_to_bounding_box``: the ``target_height x target_width`` window at the given offsets."""
    height, width = image.shape[-2], image.shape[-1]
    if offset_height < 0 or offset_width < 0:
        raise ValueError(f"crop_to_bounding_box: offsets must be >= 0, got ({offset_height}, {offset_width}).")
    if target_height <= 0 or target_width <= 0:
        raise ValueError(f"crop_to_bounding_box: target size must be > 0, got ({target_height}, {target_width}).")
    if offset_height + target_height > height or offset_width + target_width > width:
        raise ValueError(
            f"crop_to_bounding_box: the box ({offset_height}, {offset_width}) + ({target_height}, {target_width}) "
            f"does not fit in the {height}x{width} image."
        )
    return image[..., offset_height : offset_height + target_height, offset_width : offset_width + target_width]


def pad_to_bounding_box(
    image: torch.Tensor, offset_height: int, offset_width: int, target_height: int, target_width: int
) -> torch.Tensor:
    """``tf.image.pad_to_bounding_box``: zero-pads to ``target_height x target_width`` with the image at the offsets."""
    height, width = image.shape[-2], image.shape[-1]
    bottom, right = target_height - offset_height - height, target_width - offset_width - width
    if offset_height < 0 or offset_width < 0 or bottom < 0 or right < 0:
        raise ValueError(
            f"pad_to_bounding_box: a {height}x{width} image at offset ({offset_height}, {offset_width}) does not fit "
            f"in {target_height}x{target_width}."
        )
    return torch.nn.functional.pad(image, (offset_width, right, offset_height, bottom))


def resize_image_with_crop_or_pad(image: torch.Tensor, target_height: int, target_width: int) -> torch.Tensor:
    """``tf.image.resize_image_with_crop_or_pad``: centre-crops and/or zero-pads each of H and W to the target.

    A dimension larger than the target is cropped starting at ``(size - target) // 2``; a smaller one is padded with
    ``(target - size) // 2`` zeros before the image (the odd pixel goes after).
    """
    if target_height <= 0 or target_width <= 0:
        raise ValueError(
            f"resize_image_with_crop_or_pad: target size must be > 0, got ({target_height}, {target_width})."
        )
    height, width = image.shape[-2], image.shape[-1]
    crop_top, crop_left = max((height - target_height) // 2, 0), max((width - target_width) // 2, 0)
    pad_top, pad_left = max((target_height - height) // 2, 0), max((target_width - width) // 2, 0)
    cropped = crop_to_bounding_box(image, crop_top, crop_left, min(height, target_height), min(width, target_width))
    return pad_to_bounding_box(cropped, pad_top, pad_left, target_height, target_width)


def random_crop(image: torch.Tensor, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``tf.random_crop`` of the spatial axes: a ``height x width`` window at a uniform offset, all channels kept.

    Raises:
      ValueError: if the image is smaller than the crop.
    """
    image_height, image_width = image.shape[-2], image.shape[-1]
    if height > image_height or width > image_width:
        raise ValueError(
            f"random_crop: cannot take a {height}x{width} crop from a {image_height}x{image_width} image; "
            "the image must be at least as large as the crop."
        )
    top = _random.randint(0, image_height - height + 1, generator)
    left = _random.randint(0, image_width - width + 1, generator)
    return image[..., top : top + height, left : left + width]


def draw_bounding_boxes(
    images: torch.Tensor, boxes: torch.Tensor, color: tuple[float, ...] = (1.0, 1.0, 0.0)
) -> torch.Tensor:
    """``tf.image.draw_bounding_boxes`` for summaries: one-pixel box outlines on a copy of ``[N, C, H, W]`` images.

    Args:
      images: float images ``[N, C, H, W]``.
      boxes: ``[N, num_boxes, 4]`` boxes ``(ymin, xmin, ymax, xmax)`` relative to the image size, as TF.
      color: the outline colour, one value per channel (extra values are ignored; TF's first colour is yellow).

    Returns:
      The images with the outlines drawn (the inputs are not modified).
    """
    out = images.clone()
    num_channels, height, width = images.shape[-3:]
    fill = torch.tensor(color[:num_channels], dtype=images.dtype).view(-1, 1)
    for n in range(images.shape[0]):
        for ymin, xmin, ymax, xmax in boxes[n].tolist():
            top, bottom = int(ymin * (height - 1)), int(ymax * (height - 1))
            left, right = int(xmin * (width - 1)), int(xmax * (width - 1))
            if top > bottom or left > right or bottom < 0 or right < 0 or top >= height or left >= width:
                continue
            top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, height - 1), min(right, width - 1)
            out[n, : len(fill), top, left : right + 1] = fill
            out[n, : len(fill), bottom, left : right + 1] = fill
            out[n, : len(fill), top : bottom + 1, left] = fill
            out[n, : len(fill), top : bottom + 1, right] = fill
    return out
