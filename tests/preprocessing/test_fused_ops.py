"""The fused training-preprocessing kernel (numba) against the torch ops it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slim.preprocessing import fused_ops, image_ops, inception_preprocessing, resize_ops

pytest.importorskip("numba")

ORDERS = [fused_ops.NO_COLOUR, fused_ops.BRIGHTNESS_THEN_SATURATION, fused_ops.SATURATION_THEN_BRIGHTNESS]


def torch_ops(image, crop, size, flip, colour_order, delta, factor):
    """The same steps with slim's torch ops, as preprocess_for_train runs them."""
    top, left, height, width = crop
    x = resize_ops.resize_images(image.permute(2, 0, 1)[:, top : top + height, left : left + width], size, exact=False)
    x = image_ops.convert_image_dtype(x, torch.float32) if x.dtype == torch.uint8 else x * (1.0 / 255.0)
    x = x.flip(-1) if flip else x
    if colour_order == fused_ops.BRIGHTNESS_THEN_SATURATION:
        x = image_ops.adjust_saturation(image_ops.adjust_brightness(x, delta), factor).clamp(0.0, 1.0)
    elif colour_order == fused_ops.SATURATION_THEN_BRIGHTNESS:
        x = image_ops.adjust_brightness(image_ops.adjust_saturation(x, factor), delta).clamp(0.0, 1.0)
    return (x - 0.5) * 2.0


@pytest.mark.parametrize(
    "crop, size",
    [
        ((10, 20, 70, 90), (24, 32)),  # downscale
        ((5, 7, 60, 40), (224, 224)),  # upscale
        ((3, 4, 29, 33), (29, 33)),  # same size: a copy
        ((0, 0, 90, 120), (17, 5)),  # whole image, odd sizes
        ((89, 119, 1, 1), (4, 6)),  # one pixel at the corner
    ],
)
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("colour_order", ORDERS)
def test_kernel_equals_the_torch_ops(crop, size, flip, colour_order):
    generator = torch.Generator().manual_seed(sum(crop) + 7 * colour_order + flip)
    image = torch.randint(0, 256, (90, 120, 3), dtype=torch.uint8, generator=generator)
    for delta, factor in [(0.07, 1.3), (-0.12, 0.55), (0.0, 0.0)]:
        ours = fused_ops.crop_resize_distort(
            image, crop, size, flip=flip, colour_order=colour_order, brightness_delta=delta, saturation_factor=factor
        )
        assert ours.shape == (3, *size) and ours.dtype == torch.float32 and ours.is_contiguous()
        # Measured up to 2.4e-7 on [-1, 1] (an ulp or two: torch's vectorized lerp rounds differently).
        torch.testing.assert_close(
            ours, torch_ops(image, crop, size, flip, colour_order, delta, factor), rtol=0, atol=1e-6
        )


def test_kernel_reads_a_numpy_backed_image_in_place():
    array = np.random.RandomState(0).randint(0, 256, size=(40, 50, 3)).astype(np.uint8)
    ours = fused_ops.crop_resize_distort(torch.from_numpy(array), (1, 2, 30, 40), (16, 16))
    torch.testing.assert_close(
        ours, torch_ops(torch.from_numpy(array), (1, 2, 30, 40), (16, 16), False, 0, 0.0, 1.0), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("random_crop", [True, False])
@pytest.mark.parametrize("bbox", [None, [[[0.1, 0.2, 0.5, 0.9]]]])
def test_preprocess_for_train_is_the_same_with_and_without_the_kernel(monkeypatch, random_crop, bbox):
    """Same seed, same draws, same crop, flip and strengths: outputs equal to float rounding."""
    image = np.random.RandomState(3).randint(0, 256, size=(75, 100, 3)).astype(np.uint8)
    box = None if bbox is None else torch.tensor(bbox)
    for seed in range(8):

        def run(seed=seed):
            generator = torch.Generator().manual_seed(seed)
            out = inception_preprocessing.preprocess_for_train(
                image, 32, 40, box, random_crop=random_crop, generator=generator
            )
            return out, torch.rand((), generator=generator)  # the generator ends in the same state

        monkeypatch.delenv("SLIM_DISABLE_FUSED_PREPROCESSING", raising=False)
        fused, after_fused = run()
        monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")
        plain, after_plain = run()
        torch.testing.assert_close(fused, plain, rtol=0, atol=1e-6)
        assert after_fused == after_plain


def test_preprocess_for_train_uses_the_kernel_only_where_it_applies(monkeypatch):
    calls = []
    real = fused_ops.crop_resize_distort
    monkeypatch.setattr(fused_ops, "crop_resize_distort", lambda *a, **k: calls.append(1) or real(*a, **k))
    image = np.random.RandomState(4).randint(0, 256, size=(30, 40, 3)).astype(np.uint8)
    summaries = []
    train = inception_preprocessing.preprocess_for_train
    train(image, 8, 8)
    assert len(calls) == 1
    train(image, 8, 8, fast_mode=False)  # random resize methods and four colour orderings: the torch ops
    train(image, 8, 8, use_grayscale=True)
    train(image, 8, 8, image_summary_fn=lambda name, img: summaries.append(name))
    train(image.astype(np.float32) / 255.0, 8, 8)  # a float image
    assert len(calls) == 1 and summaries
    monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")
    assert not fused_ops.available()
    train(image, 8, 8)
    assert len(calls) == 1


def test_kernel_rejects_bad_input():
    image = torch.zeros(10, 12, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        fused_ops.crop_resize_distort(image.float(), (0, 0, 5, 5), (4, 4))
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        fused_ops.crop_resize_distort(image.permute(2, 0, 1), (0, 0, 3, 3), (4, 4))
    with pytest.raises(ValueError, match="does not lie inside"):
        fused_ops.crop_resize_distort(image, (6, 0, 5, 5), (4, 4))
    with pytest.raises(ValueError, match="size must be positive"):
        fused_ops.crop_resize_distort(image, (0, 0, 5, 5), (0, 4))
    with pytest.raises(ValueError, match="colour_order"):
        fused_ops.crop_resize_distort(image, (0, 0, 5, 5), (4, 4), colour_order=7)
