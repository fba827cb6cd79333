"""Decoding encoded images (JPEG, PNG, GIF, BMP) and raw pixel buffers into HWC numpy arrays, as TensorFlow does.

JPEG goes through simplejpeg (libjpeg-turbo) when it is installed, with TensorFlow's default ``decode_jpeg`` settings
(fast integer DCT, fancy upsampling), which reproduce TensorFlow's pixels exactly. Pillow decodes everything else,
and JPEG when simplejpeg is missing or cannot handle a file (CMYK, for one); Pillow always uses the accurate DCT, so
its JPEG pixels can differ from TensorFlow's by a few levels.

``channels`` follows ``tf.io.decode_image``: 0 keeps the file's channels, 1 converts to grayscale (with TensorFlow's
fixed-point luma), 3 to RGB, 4 to RGBA. GIFs give their first frame (TF-Slim's handler would get a 4-D animation).
Unlike TensorFlow, GIF and BMP also convert to 1 channel instead of failing. The result is always rank 3 (HWC) uint8.
"""

from __future__ import annotations

import io

import numpy as np

try:  # libjpeg-turbo; optional (the ``fast`` extra)
    import simplejpeg
except ImportError:  # pragma: no cover - exercised only where simplejpeg is absent
    simplejpeg = None

__all__ = [
    "ImageDecodeError",
    "HAVE_SIMPLEJPEG",
    "sniff_image_format",
    "decode_image",
    "decode_jpeg",
    "decode_raw",
]

HAVE_SIMPLEJPEG = simplejpeg is not None

# TensorFlow's decode_jpeg maps dct_method "" to libjpeg's fast integer DCT (JDCT_IFAST), not the accurate one;
# with it simplejpeg's output equals TensorFlow's bit for bit (tests/fixtures/data).
_DCT_METHODS = {"": True, "INTEGER_ACCURATE": False, "INTEGER_FAST": True}
_PIL_MODE_FOR_CHANNELS = {1: "L", 3: "RGB", 4: "RGBA"}


class ImageDecodeError(ValueError):
    """Bytes that should hold an image could not be decoded."""


def sniff_image_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"``, ``"gif"`` or ``"bmp"`` from the leading magic bytes, else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return None


def _check_channels(channels: int, where: str) -> None:
    if channels not in (0, 1, 3, 4):
        raise ValueError(f"channels={channels!r}{where} must be 0 (as stored), 1 (grayscale), 3 (RGB) or 4 (RGBA).")


def _where(name: str) -> str:
    return f" for {name}" if name else ""


def _not_an_image(data: bytes, name: str, detail: str) -> ImageDecodeError:
    return ImageDecodeError(
        f"Could not decode the image{_where(name)} ({len(data)} bytes, starting {bytes(data[:8])!r}): {detail}. "
        "Expected JPEG, PNG, GIF or BMP bytes (or image/format 'raw' with a shape)."
    )


def decode_jpeg(data: bytes, channels: int = 0, dct_method: str = "", name: str = "") -> np.ndarray:
    """Decodes JPEG bytes to ``[H, W, C]`` uint8 (``tf.io.decode_jpeg``; ``channels`` 0, 1 or 3).

    Args:
      data: The JPEG file's bytes.
      channels: 0 keeps the file's channels (1 or 3), 1 gives grayscale, 3 gives RGB.
      dct_method: ``""`` (TensorFlow's default, which is the fast DCT), ``"INTEGER_FAST"`` or ``"INTEGER_ACCURATE"``.
      name: Names the record/key in error messages.
    """
    if channels not in (0, 1, 3):
        raise ValueError(f"channels={channels!r}{_where(name)}: JPEG images decode to 0 (as stored), 1 or 3 channels.")
    if dct_method not in _DCT_METHODS:
        raise ValueError(
            f"dct_method={dct_method!r}{_where(name)} is not supported; use '', 'INTEGER_ACCURATE' or 'INTEGER_FAST'."
        )
    if simplejpeg is not None:
        try:
            if channels == 0:
                colorspace = simplejpeg.decode_jpeg_header(data, strict=False)[2]
                gray = colorspace.lower() == "gray"
            else:
                gray = channels == 1
            return simplejpeg.decode_jpeg(
                data, colorspace="GRAY" if gray else "RGB", fastdct=_DCT_METHODS[dct_method], strict=False
            )
        except (ValueError, RuntimeError):
            pass  # e.g. CMYK or Adobe-transform files: Pillow handles them, and reports real corruption
    return _decode_with_pillow(data, channels, name)


def _rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """``[H, W, 1]`` luma of ``[H, W, 3]`` uint8 as TensorFlow's PNG decoder computes it: ITU-R 601 weights in 15-bit
    fixed point, truncated (Pillow's ``convert('L')`` rounds instead, which differs by one level on some pixels)."""
    wide = rgb.astype(np.uint32)
    gray = (wide[..., 0] * 9798 + wide[..., 1] * 19235 + wide[..., 2] * 3735) >> 15
    return gray.astype(np.uint8)[:, :, None]


def _decode_with_pillow(data: bytes, channels: int, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)  # first frame of an animation
            image.load()
            mode = image.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16-bit grayscale: scale to 8 bits as TensorFlow's uint8 decode does.
                wide = np.asarray(image, dtype=np.uint32)
                image = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), mode="L")
                mode = "L"
            if channels == 0:
                if mode in ("L", "RGB", "RGBA"):
                    target = mode
                elif mode == "LA":
                    target = "LA"
                elif mode in ("1", "P") and "transparency" in image.info and image.format != "GIF":
                    # A PNG palette with transparency expands to RGBA (TensorFlow's libpng does the same); GIF
                    # decodes to RGB in TensorFlow whatever its palette holds.
                    target = "RGBA"
                elif mode == "1":
                    target = "L"
                else:
                    target = "RGB"
            elif channels == 1 and mode not in ("L", "LA", "1"):
                return _rgb_to_gray(np.asarray(image.convert("RGB") if mode != "RGB" else image, dtype=np.uint8))
            else:
                target = _PIL_MODE_FOR_CHANNELS[channels]
            if mode != target:
                image = image.convert(target)
            array = np.array(image, dtype=np.uint8)  # a writable copy, so torch.from_numpy can share it
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _not_an_image(data, name, str(error)) from error
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def decode_image(data: bytes, channels: int = 0, dct_method: str = "", name: str = "") -> np.ndarray:
    """Decodes JPEG, PNG, GIF (first frame) or BMP bytes to ``[H, W, C]`` uint8 (``tf.io.decode_image``).

    Args:
      data: The encoded image.
      channels: 0 keeps the file's channels, 1 grayscale, 3 RGB, 4 RGBA (not for JPEG).
      dct_method: JPEG only; see :func:`decode_jpeg`.
      name: Names the record/key in error messages.

    Raises:
      ImageDecodeError: the bytes are not an image this function can decode.
    """
    _check_channels(channels, _where(name))
    data = bytes(data) if not isinstance(data, bytes) else data
    image_format = sniff_image_format(data)
    if image_format is None:
        raise _not_an_image(data, name, "unrecognised format")
    if image_format == "jpeg":
        if channels == 4:
            raise ValueError(f"channels=4{_where(name)}: JPEG images have no alpha channel; use 0, 1 or 3.")
        return decode_jpeg(data, channels, dct_method, name)
    return _decode_with_pillow(data, channels, name)


def decode_raw(data: bytes, dtype: np.dtype | type, name: str = "") -> np.ndarray:
    """The bytes as a flat little-endian array of ``dtype`` (``tf.io.decode_raw``)."""
    dtype = np.dtype(dtype).newbyteorder("<")
    if len(data) % dtype.itemsize:
        raise ValueError(
            f"Raw image{_where(name)} has {len(data)} bytes, not a multiple of the {dtype.itemsize}-byte {dtype.name}; "
            "check the handler's dtype."
        )
    # A copy: the record's bytes are immutable, and callers hand the array to torch.
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))
