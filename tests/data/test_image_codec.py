"""Image decoding: every format, channel conversions, raw buffers, the Pillow fallback and clear errors."""

import io

import numpy as np
import pytest
from PIL import Image

from slim.data import image_codec


def _encode(array, fmt, **kwargs):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


RGB = (np.arange(6 * 8 * 3).reshape(6, 8, 3) * 5 % 256).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "JPEG"])
def test_formats_and_channels(fmt):
    data = _encode(RGB, fmt)
    assert image_codec.sniff_image_format(data) == {"PNG": "png", "GIF": "gif", "BMP": "bmp", "JPEG": "jpeg"}[fmt]
    for channels, depth in ((0, 3), (1, 1), (3, 3)):
        image = image_codec.decode_image(data, channels)
        assert image.shape == (6, 8, depth) and image.dtype == np.uint8 and image.flags.writeable
    if fmt in ("PNG", "BMP"):  # lossless, and no palette
        assert np.array_equal(image_codec.decode_image(data, 3), RGB)


def test_grayscale_and_alpha_sources():
    gray = RGB[:, :, 0]
    assert image_codec.decode_image(_encode(gray, "PNG"), 0).shape == (6, 8, 1)
    assert np.array_equal(image_codec.decode_image(_encode(gray, "PNG"), 3), np.repeat(gray[:, :, None], 3, 2))
    rgba = np.concatenate([RGB, np.full((6, 8, 1), 7, np.uint8)], axis=-1)
    data = _encode(rgba, "PNG")
    assert np.array_equal(image_codec.decode_image(data, 0), rgba)
    assert np.array_equal(image_codec.decode_image(data, 3), RGB)  # alpha dropped, as TensorFlow does
    assert np.array_equal(image_codec.decode_image(_encode(RGB, "PNG"), 4)[:, :, 3], np.full((6, 8), 255))
    jpeg_gray = _encode(gray, "JPEG", quality=95)
    assert image_codec.decode_image(jpeg_gray, 0).shape == (6, 8, 1)  # a grayscale JPEG keeps 1 channel
    with pytest.raises(ValueError, match="JPEG images have no alpha"):
        image_codec.decode_image(jpeg_gray, 4)


def test_sixteen_bit_png_scales_to_eight_bits():
    wide = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)  # 257 * v maps exactly to v
    image = image_codec.decode_image(_encode(wide, "PNG"), 0)
    assert image[:, :, 0].tolist() == [[0, 1, 255, 128]]


def test_pillow_fallback_for_jpeg(monkeypatch):
    data = _encode(RGB, "JPEG", quality=95)
    with_turbo = image_codec.decode_jpeg(data, 3, dct_method="INTEGER_ACCURATE")
    monkeypatch.setattr(image_codec, "simplejpeg", None)
    with_pillow = image_codec.decode_jpeg(data, 3)
    assert with_pillow.shape == (6, 8, 3)
    np.testing.assert_array_equal(with_pillow, with_turbo)  # both: accurate DCT, fancy upsampling


def test_dct_methods():
    data = _encode(RGB, "JPEG", quality=95)
    assert np.array_equal(image_codec.decode_jpeg(data, 3, ""), image_codec.decode_jpeg(data, 3, "INTEGER_FAST"))
    with pytest.raises(ValueError, match="dct_method='FLOAT' is not supported"):
        image_codec.decode_jpeg(data, 3, "FLOAT")


def test_errors_name_the_record():
    with pytest.raises(image_codec.ImageDecodeError, match=r"for record 7 \(5 bytes, starting b'hello'\)"):
        image_codec.decode_image(b"hello", 3, name="record 7")
    truncated = _encode(RGB, "PNG")[:30]
    with pytest.raises(image_codec.ImageDecodeError, match="for rec"):
        image_codec.decode_image(truncated, 3, name="rec")
    with pytest.raises(ValueError, match="channels=2"):
        image_codec.decode_image(_encode(RGB, "PNG"), 2)


def test_decode_raw():
    values = np.array([1.5, -2.0], dtype="<f4")
    out = image_codec.decode_raw(values.tobytes(), np.float32)
    assert out.tolist() == [1.5, -2.0] and out.flags.writeable
    with pytest.raises(ValueError, match="not a multiple of the 4-byte float32"):
        image_codec.decode_raw(b"abc", np.float32)
