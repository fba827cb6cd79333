"""The fast ops of the training preprocessing against the exact ops and against real TensorFlow.

Training preprocessing trades bit-exactness with TF for speed in three places: the bilinear resize
(``resize_bilinear_fast``), resizing the integer crop before the float conversion, and the direct saturation
formula. Each must stay within float rounding of TF: tolerances here are stated on the scale of the values compared
(``[0, 1]`` images, ``[-1, 1]`` outputs, or ``0..255`` for integer pixels). Fixtures: tests/fixtures/preprocessing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from slim.preprocessing import _random, fused_ops, image_ops, inception_preprocessing, resize_ops
from slim.preprocessing.distorted_bounding_box import sample_distorted_bounding_box

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "preprocessing" / "preprocessing_reference.npz"
REF = dict(np.load(FIXTURE))


def chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).permute(2, 0, 1)


def max_error(ours: torch.Tensor, expected: np.ndarray) -> float:
    got = ours.permute(1, 2, 0).numpy()
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max())


# ------------------------------------------------------------------------------------------------ resize_bilinear_fast
@pytest.mark.parametrize("key", sorted(k for k in REF if k.startswith("resize_bilinear/")))
def test_fast_bilinear_matches_tf_to_float_rounding(key):
    pixels = chw(REF["image_a"][:20, :26])
    uint8 = "uint8" in key
    source = pixels if uint8 else image_ops.convert_image_dtype(pixels, torch.float32)
    size = tuple(int(v) for v in key.split("/")[1].split("_")[-1].split("x"))
    ours = resize_ops.resize_bilinear_fast(source, size)
    assert ours.dtype == torch.float32 and ours.is_contiguous()
    # Measured: 1.2e-7 on [0, 1] (two ulps), 1.6e-5 on 0..255 pixels; TF's exact kernel is resize_bilinear's job.
    assert max_error(ours, REF[key]) <= (5e-5 if uint8 else 3e-7)


SIZES = [(375, 500, 224, 224), (120, 150, 224, 224), (224, 224, 224, 224), (61, 80, 29, 33), (1, 1, 5, 7), (3, 1, 2, 9)]


@pytest.mark.parametrize("height, width, new_height, new_width", SIZES)
def test_fast_bilinear_matches_the_exact_kernel(height, width, new_height, new_width):
    generator = torch.Generator().manual_seed(height * 1000 + width)
    decoded = torch.randint(0, 256, (height + 7, width + 5, 3), dtype=torch.uint8, generator=generator)
    crop = decoded.permute(2, 0, 1)[:, 3 : 3 + height, 2 : 2 + width]  # a crop of an HWC image, as training has it
    size = (new_height, new_width)
    assert (resize_ops.resize_bilinear_fast(crop, size) - resize_ops.resize_bilinear(crop, size)).abs().max() <= 1e-4
    as_float = image_ops.convert_image_dtype(crop, torch.float32).contiguous()  # and a plain CHW float image
    fast, exact = resize_ops.resize_bilinear_fast(as_float, size), resize_ops.resize_bilinear(as_float, size)
    assert (fast - exact).abs().max() <= 3e-7
    if (height, width) == size:
        assert torch.equal(fast, as_float)


def test_fast_bilinear_takes_batches_and_validates():
    batch = torch.rand(2, 3, 30, 40)
    fast = resize_ops.resize_bilinear_fast(batch, (17, 23))
    assert fast.shape == (2, 3, 17, 23)
    torch.testing.assert_close(fast, resize_ops.resize_bilinear(batch, (17, 23)), rtol=0, atol=3e-7)
    torch.testing.assert_close(fast[1], resize_ops.resize_bilinear_fast(batch[1], (17, 23)), rtol=0, atol=0)
    with pytest.raises(ValueError, match="size must be positive"):
        resize_ops.resize_bilinear_fast(batch, (0, 5))
    with pytest.raises(ValueError, match=r"expected an image \[..., C, H, W\]"):
        resize_ops.resize_bilinear_fast(torch.rand(30, 40), (5, 5))


def test_resize_images_exact_false_only_changes_bilinear():
    image = image_ops.convert_image_dtype(chw(REF["image_a"][:20, :26]), torch.float32)
    fast = resize_ops.resize_images(image, (13, 13), resize_ops.ResizeMethod.BILINEAR, exact=False)
    torch.testing.assert_close(fast, resize_ops.resize_bilinear_fast(image, (13, 13)), rtol=0, atol=0)
    for method in (1, 2, 3):  # nearest neighbour, bicubic, area: always exact
        exact = resize_ops.resize_images(image, (13, 13), method)
        assert torch.equal(resize_ops.resize_images(image, (13, 13), method, exact=False), exact)
    assert resize_ops.resize_images(image, (20, 26), exact=False) is image


# ------------------------------------------------------------------------------------------------ adjust_saturation
def _saturation_by_hsv_round_trip(image: torch.Tensor, factor: float) -> torch.Tensor:
    """The textbook formulation (and TF's GPU kernel): to HSV, scale and clamp the saturation, back to RGB."""
    hue, saturation, value = image_ops.rgb_to_hsv(image).unbind(-3)
    return image_ops.hsv_to_rgb(torch.stack((hue, (saturation * factor).clamp(0.0, 1.0), value), dim=-3))


SHIFTED_SATURATION = sorted(k for k in REF if k.startswith("adjust_saturation_shifted/") and "input" not in k)


@pytest.mark.parametrize("key", SHIFTED_SATURATION)
def test_saturation_matches_tf_outside_the_unit_range(key):
    # After a brightness change pixels leave [0, 1] (value <= 0, saturation > 1): TF's kernel still defines them.
    delta, factor = key.split("/")[1].split("_")
    image = chw(REF[f"adjust_saturation_shifted/input_{delta}"])
    assert max_error(image_ops.adjust_saturation(image, float(factor)), REF[key]) <= 1e-6  # measured 5.4e-7


@pytest.mark.parametrize("factor", [0.0, 0.5, 0.9, 1.0, 1.5, 3.0])
def test_saturation_equals_the_hsv_round_trip(factor):
    image = torch.rand(3, 64, 80, generator=torch.Generator().manual_seed(0)) * 1.3 - 0.15
    image[:, 0, :4] = torch.tensor([[0.0, 0.4, -0.1, 1.0], [0.0, 0.4, -0.1, 1.0], [0.0, 0.4, -0.1, 1.0]])  # greys
    ours = image_ops.adjust_saturation(image, factor)
    assert not ours.isnan().any()
    torch.testing.assert_close(ours, _saturation_by_hsv_round_trip(image, factor), rtol=0, atol=1e-6)
    torch.testing.assert_close(ours[:, 0, :4], image[:, 0, :4], rtol=0, atol=0)  # grey (and black) pixels stay


def test_negative_saturation_factor_gives_grey_as_tf():
    image = torch.rand(3, 8, 8)
    grey = image_ops.adjust_saturation(image, -0.5)
    torch.testing.assert_close(grey, image.amax(0, keepdim=True).expand_as(image), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------ random draws
def test_uniform_draw_equals_the_float32_tensor_formula():
    ours, reference = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    rng = np.random.RandomState(0)
    for _ in range(5000):
        low, high = sorted(rng.uniform(-3, 3, size=2))
        u = torch.rand((), generator=reference, dtype=torch.float32)
        assert _random.uniform(low, high, ours) == float(u * (high - low) + low)


# ------------------------------------------------------------------------------------------------ training pipeline
@pytest.mark.parametrize("case", range(len(REF["inception_train_fixed/params"])))
def test_train_preprocessing_with_fixed_choices_matches_tf(monkeypatch, case):
    """``preprocess_for_train``'s torch ops, their random choices replaced by the fixture's, against TF's ops."""
    monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")  # the fused kernel: the test below
    row = REF["inception_train_fixed/params"][case]
    image_index, top, left, crop_h, crop_w, height, width, flip = (int(v) for v in row[:8])
    delta, factor = float(row[8]), float(row[9])

    def crop(image, bbox, generator=None):
        return image[..., top : top + crop_h, left : left + crop_w], None

    def brightness(image, max_delta, generator=None):
        assert max_delta == 32.0 / 255.0
        return image_ops.adjust_brightness(image, delta)

    def saturation(image, lower, upper, generator=None):
        assert (lower, upper) == (0.5, 1.5)
        return image_ops.adjust_saturation(image, factor)

    monkeypatch.setattr(inception_preprocessing, "distorted_bounding_box_crop", crop)
    monkeypatch.setattr(image_ops, "random_flip_left_right", lambda x, generator=None: x.flip(-1) if flip else x)
    monkeypatch.setattr(image_ops, "random_brightness", brightness)
    monkeypatch.setattr(image_ops, "random_saturation", saturation)
    image = REF["image_" + "abc"[image_index]]
    ours = inception_preprocessing.preprocess_for_train(image, height, width, fast_mode=True)
    # Measured up to 7e-7 on [-1, 1]: float rounding of the fast resize, the late float conversion and saturation.
    assert max_error(ours, REF[f"inception_train_fixed/{case}"]) <= 2e-6


@pytest.mark.parametrize("case", range(len(REF["inception_train_fixed/params"])))
def test_fused_kernel_with_fixed_choices_matches_tf(case):
    """The fused kernel (fused_ops) with the fixture's crop, flip and strengths, against TF's ops."""
    pytest.importorskip("numba")
    row = REF["inception_train_fixed/params"][case]
    image_index, top, left, crop_h, crop_w, height, width, flip = (int(v) for v in row[:8])
    ours = fused_ops.crop_resize_distort(
        torch.from_numpy(REF["image_" + "abc"[image_index]]),
        (top, left, crop_h, crop_w),
        (height, width),
        flip=bool(flip),
        colour_order=fused_ops.BRIGHTNESS_THEN_SATURATION,
        brightness_delta=float(row[8]),
        saturation_factor=float(row[9]),
    )
    assert max_error(ours, REF[f"inception_train_fixed/{case}"]) <= 2e-6


def _exact_train(image: np.ndarray, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """TF-Slim's fast-mode training steps with the exact ops, drawing in preprocess_for_train's order."""
    x = image_ops.convert_image_dtype(chw(image), torch.float32)
    (top, left), (crop_h, crop_w), _ = sample_distorted_bounding_box(
        tuple(x.shape[1:]), torch.tensor([[[0.0, 0.0, 1.0, 1.0]]]), 0.1, (0.75, 1.33), (0.05, 1.0), 100, True, generator
    )
    assert _random.randint(0, 1, generator) == 0  # the resize selector (one method in fast mode)
    x = resize_ops.resize_images(x[:, top : top + crop_h, left : left + crop_w], (height, width))
    x = x.flip(-1) if _random.coin(generator) else x
    assert _random.randint(0, 1, generator) == 0  # the colour-ordering selector
    x = image_ops.adjust_brightness(x, _random.uniform(-32.0 / 255.0, 32.0 / 255.0, generator))
    x = _saturation_by_hsv_round_trip(x, _random.uniform(0.5, 1.5, generator))
    return (x.clamp(0.0, 1.0) - 0.5) * 2.0


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("shape", [(45, 61), (375, 500)])
def test_train_preprocessing_equals_the_exact_ops_with_the_same_draws(monkeypatch, shape, fused):
    if fused:
        pytest.importorskip("numba")
    else:
        monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")
    image = np.random.RandomState(shape[0]).randint(0, 256, size=(*shape, 3)).astype(np.uint8)
    for seed in range(6):
        ours = inception_preprocessing.preprocess_for_train(
            image, 29, 33, fast_mode=True, generator=torch.Generator().manual_seed(seed)
        )
        exact = _exact_train(image, 29, 33, torch.Generator().manual_seed(seed))
        torch.testing.assert_close(ours, exact, rtol=0, atol=2e-6)
