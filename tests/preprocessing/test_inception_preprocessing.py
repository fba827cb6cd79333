"""Inception training preprocessing: shapes, ranges, determinism, the random choices it makes, and summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slim.preprocessing import _random, image_ops, inception_preprocessing

RNG = np.random.RandomState(1)
IMAGE = RNG.randint(0, 256, size=(45, 61, 3)).astype(np.uint8)


def train(seed, image=IMAGE, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    return inception_preprocessing.preprocess_image(image, 29, 33, is_training=True, generator=generator, **kwargs)


@pytest.mark.parametrize("fast_mode", [True, False])
@pytest.mark.parametrize("crop_image", [True, False])
def test_train_output_shape_dtype_and_range(fast_mode, crop_image):
    for seed in range(8):
        out = train(seed, fast_mode=fast_mode, crop_image=crop_image)
        assert out.shape == (3, 29, 33) and out.dtype == torch.float32
        assert out.min() >= -1.0 and out.max() <= 1.0


def test_train_grayscale_has_one_channel():
    out = train(0, use_grayscale=True)
    assert out.shape == (1, 29, 33)
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_train_is_deterministic_with_a_seeded_generator():
    torch.testing.assert_close(train(7, fast_mode=False), train(7, fast_mode=False), rtol=0, atol=0)
    assert not torch.equal(train(7), train(8))


def test_float_input_in_unit_range_equals_uint8_input():
    as_float = torch.from_numpy(IMAGE).float() / 255.0
    torch.testing.assert_close(train(3, image=as_float), train(3), rtol=0, atol=1e-6)


def test_gray_input_stays_gray():
    # Brightness shifts all channels alike and saturation scales a zero saturation: a grey image stays grey.
    gray = np.full((40, 50, 3), 90, dtype=np.uint8)
    for seed in range(5):
        out = train(seed, image=gray)
        torch.testing.assert_close(out[0], out[1], rtol=0, atol=1e-6)
        torch.testing.assert_close(out[0], out[2], rtol=0, atol=1e-6)
        assert float(out.max() - out.min()) < 1e-5


def test_train_accepts_an_object_bbox():
    out = train(0, bbox=torch.tensor([[[0.1, 0.2, 0.5, 0.9]]]))
    assert out.shape == (3, 29, 33)


def _record_selections(monkeypatch, fast_mode):
    methods, orderings = [], []
    real_resize, real_distort = inception_preprocessing.resize_images, inception_preprocessing.distort_color

    def resize(x, size, method, **kwargs):
        methods.append(int(method))
        return real_resize(x, size, method, **kwargs)

    def distort(x, ordering, fast, **kwargs):
        orderings.append(ordering)
        return real_distort(x, ordering, fast, **kwargs)

    monkeypatch.setattr(inception_preprocessing, "resize_images", resize)
    monkeypatch.setattr(inception_preprocessing, "distort_color", distort)
    # The torch ops (the fused kernel makes the same draws: tests/preprocessing/test_fused_ops.py).
    monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")
    for seed in range(60):
        train(seed, fast_mode=fast_mode)
    return set(methods), set(orderings)


def test_fast_mode_uses_bilinear_and_the_first_ordering(monkeypatch):
    assert _record_selections(monkeypatch, fast_mode=True) == ({0}, {0})


def test_full_mode_uses_all_resize_methods_and_orderings(monkeypatch):
    assert _record_selections(monkeypatch, fast_mode=False) == ({0, 1, 2, 3}, {0, 1, 2, 3})


# TF-Slim's orderings (reference §2.3), as (op, argument range) in application order.
B = ("brightness", -32 / 255, 32 / 255)
S = ("saturation", 0.5, 1.5)
H = ("hue", -0.2, 0.2)
C = ("contrast", 0.5, 1.5)
ORDERINGS = {
    (True, 0): (B, S),
    (True, 1): (S, B),
    (False, 0): (B, S, H, C),
    (False, 1): (S, B, C, H),
    (False, 2): (C, H, B, S),
    (False, 3): (H, S, C, B),
}


@pytest.mark.parametrize("fast_mode, ordering", list(ORDERINGS))
def test_distort_color_applies_tf_slims_ordering(fast_mode, ordering):
    x = image_ops.convert_image_dtype(torch.from_numpy(IMAGE[:10, :12]).permute(2, 0, 1), torch.float32)
    ours = inception_preprocessing.distort_color(x, ordering, fast_mode, generator=torch.Generator().manual_seed(5))
    # The same draws from an identically seeded generator, applied in the expected order.
    generator = torch.Generator().manual_seed(5)
    expected = x
    for op, low, high in ORDERINGS[(fast_mode, ordering)]:
        expected = getattr(image_ops, f"adjust_{op}")(expected, _random.uniform(low, high, generator))
    torch.testing.assert_close(ours, expected.clamp(0, 1), rtol=0, atol=0)
    assert ours.min() >= 0 and ours.max() <= 1


def test_distort_color_rejects_unknown_orderings():
    x = torch.rand(3, 4, 4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inception_preprocessing.distort_color(x, 2, fast_mode=True)
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        inception_preprocessing.distort_color(x, 4, fast_mode=False)


def test_apply_with_random_selector_covers_all_cases():
    generator = torch.Generator().manual_seed(0)
    select = inception_preprocessing.apply_with_random_selector
    seen = {select(None, lambda _, case: case, 3, generator=generator) for _ in range(100)}
    assert seen == {0, 1, 2}


def test_image_summaries_go_to_the_callback():
    recorded = []
    train(0, image_summary_fn=lambda name, images: recorded.append((name, tuple(images.shape))))
    assert [name for name, _ in recorded] == [
        "image_with_bounding_boxes",
        "images_with_distorted_bounding_box",
        "cropped_resized_image",
        "final_distorted_image",
    ]
    assert recorded[0][1] == (1, 3, 45, 61) and recorded[-1][1] == (1, 3, 29, 33)

    recorded.clear()
    train(0, crop_image=False, image_summary_fn=lambda name, images: recorded.append(name))
    assert recorded == ["image_with_bounding_boxes", "resized_image", "final_distorted_image"]

    recorded.clear()
    train(0, add_image_summaries=False, image_summary_fn=lambda name, images: recorded.append(name))
    assert recorded == []


def test_summaries_do_not_change_the_output(monkeypatch):
    with_summaries = train(4, image_summary_fn=lambda name, images: None)
    # Summaries need the torch ops' intermediate images; without them the fused kernel (if numba is installed) runs,
    # equal to float rounding. With the torch ops both ways, the outputs are identical.
    torch.testing.assert_close(with_summaries, train(4), rtol=0, atol=1e-6)
    monkeypatch.setenv("SLIM_DISABLE_FUSED_PREPROCESSING", "1")
    torch.testing.assert_close(with_summaries, train(4), rtol=0, atol=0)


def test_eval_ignores_the_generator_and_is_deterministic():
    first = inception_preprocessing.preprocess_image(IMAGE, 29, 33, generator=torch.Generator().manual_seed(1))
    second = inception_preprocessing.preprocess_image(IMAGE, 29, 33)
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_channels_first_input_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match="channels-first"):
        inception_preprocessing.preprocess_image(torch.zeros(3, 40, 50, dtype=torch.uint8), 29, 29)
