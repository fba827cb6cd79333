"""Image facts the converters need: the real format of encoded bytes (by content, not by file name), the size, and
re-encoding of the images TF's JPEG decoder cannot read (CMYK JPEGs, PNGs named ``.JPEG``) to RGB JPEG."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageInfo", "NotAnImageError", "sniff_format", "inspect_image", "encode_jpeg", "encode_png"]

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


class NotAnImageError(ValueError):
    """The bytes are not an image Pillow can read; ``reason`` says why without the file name."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} is {reason}.")
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    """What a converter records about one image: its format by content, size, and Pillow mode."""

    format: str  # 'jpeg', 'png', 'gif', 'bmp', or Pillow's lower-case format name ('webp', 'tiff', ...)
    height: int
    width: int
    mode: str  # Pillow's mode: 'RGB', 'L', 'CMYK', 'P', 'RGBA', ...


def sniff_format(data: bytes) -> str | None:
    """The image format of ``data`` from its first bytes ('jpeg', 'png', 'gif', 'bmp'), or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def inspect_image(data: bytes, name: str = "<bytes>", verify: bool = True) -> ImageInfo:
    """Reads the format, size and mode of an encoded image.

    Args:
      data: the encoded bytes.
      name: the file name, for the error message.
      verify: decode the whole image, so that a truncated or corrupt file is caught here and not mid-training.

    Raises:
      NotAnImageError: ``data`` is not an image, or (with ``verify``) does not decode.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            info = ImageInfo(
                format=sniff_format(data) or (image.format or "unknown").lower(),
                height=image.height,
                width=image.width,
                mode=image.mode,
            )
            if verify:
                image.load()
    except UnidentifiedImageError as error:
        raise NotAnImageError(name, "not an image (not a format Pillow recognises)") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise NotAnImageError(name, f"a truncated or corrupt image ({error})") from error
    return info


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent pixels over white, as browsers show them, rather than whatever colour they happen to hold.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def encode_jpeg(data: bytes, quality: int = 100) -> bytes:
    """Decodes any image Pillow reads (CMYK JPEG, PNG, ...) and re-encodes it as an RGB JPEG.

    ImageNet's builder uses quality 100, as TF-Slim's ``build_imagenet_data.py`` did.
    """
    with Image.open(io.BytesIO(data)) as image:
        rgb = _to_rgb(image)
        out = io.BytesIO()
        rgb.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 ``[height, width]``, ``[height, width, 1]`` or ``[height, width, 3]`` array."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"encode_png expects a uint8 array, got {array.dtype}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"encode_png expects [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got shape {array.shape}.")
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(out, format="PNG")
    return out.getvalue()
