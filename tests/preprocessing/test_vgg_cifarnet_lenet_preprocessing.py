"""VGG, CifarNet and LeNet preprocessing: training shapes, ranges and determinism, and the TF-Slim quirks we fixed.

Eval outputs are compared with real TF in test_preprocessing_tf_numerics.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slim.preprocessing import cifarnet_preprocessing, image_ops, lenet_preprocessing, vgg_preprocessing

RNG = np.random.RandomState(2)
IMAGE = RNG.randint(0, 256, size=(48, 64, 3)).astype(np.uint8)
SMALL = RNG.randint(0, 256, size=(32, 32, 3)).astype(np.uint8)
MEANS = torch.tensor([123.68, 116.78, 103.94]).view(3, 1, 1)


def seeded(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------------------- VGG
def vgg_train(seed, **kwargs):
    kwargs.setdefault("resize_side_min", 40)
    kwargs.setdefault("resize_side_max", 60)
    return vgg_preprocessing.preprocess_image(IMAGE, 32, 32, is_training=True, generator=seeded(seed), **kwargs)


def test_vgg_train_shape_range_and_determinism():
    for seed in range(6):
        out = vgg_train(seed)
        assert out.shape == (3, 32, 32) and out.dtype == torch.float32
        # Bilinear resizing stays within the input range, so values lie in [0, 255] - mean.
        assert (out + MEANS).min() >= 0 and (out + MEANS).max() <= 255
    torch.testing.assert_close(vgg_train(3), vgg_train(3), rtol=0, atol=0)
    assert not torch.equal(vgg_train(3), vgg_train(4))


def test_vgg_train_draws_the_smallest_side_from_the_closed_range(monkeypatch):
    sides = []
    real = vgg_preprocessing.smallest_size_at_least

    def record(height, width, side):
        sides.append(side)
        return real(height, width, side)

    monkeypatch.setattr(vgg_preprocessing, "smallest_size_at_least", record)
    for seed in range(80):
        vgg_train(seed, resize_side_min=33, resize_side_max=36)
    assert set(sides) == {33, 34, 35, 36}


def test_vgg_train_with_equal_sides_is_a_random_crop_of_the_eval_resize():
    # With resize_side_min == resize_side_max == S the train crop is some (possibly flipped) window of the image that
    # eval resizes to smallest side S.
    resized = vgg_preprocessing.aspect_preserving_resize(image_ops.to_image_tensor(IMAGE), 40) - MEANS
    out = vgg_preprocessing.preprocess_image(
        IMAGE, 32, 32, is_training=True, resize_side_min=40, resize_side_max=40, generator=seeded(0)
    )
    rows, cols = resized.shape[1] - 31, resized.shape[2] - 31
    windows = [resized[:, top : top + 32, left : left + 32] for top in range(rows) for left in range(cols)]
    assert any(torch.equal(out, w) or torch.equal(out, w.flip(-1)) for w in windows)


def test_vgg_grayscale_subtracts_the_mean_of_the_means():
    # TF-Slim raised here (three means, one channel); the documented choice is the mean of the three means.
    gray = vgg_preprocessing.preprocess_image(IMAGE, 32, 32, resize_side_min=40, use_grayscale=True)
    rgb = vgg_preprocessing.preprocess_image(IMAGE, 32, 32, resize_side_min=40)
    expected = image_ops.rgb_to_grayscale(rgb + MEANS) - (123.68 + 116.78 + 103.94) / 3
    assert gray.shape == (1, 32, 32)
    torch.testing.assert_close(gray, expected, rtol=0, atol=1e-4)
    train_gray = vgg_train(0, use_grayscale=True)
    assert train_gray.shape == (1, 32, 32)


def test_vgg_crop_larger_than_the_resized_image_raises():
    with pytest.raises(ValueError, match="resize_side_min"):
        vgg_preprocessing.preprocess_image(IMAGE, 64, 64, resize_side_min=40)
    with pytest.raises(ValueError, match="smallest side 20"):
        vgg_train(0, resize_side_min=20, resize_side_max=20)


# ------------------------------------------------------------------------------------------------------------- CifarNet
def cifar_train(seed, image=SMALL, height=32, width=32, **kwargs):
    return cifarnet_preprocessing.preprocess_image(
        image, height, width, is_training=True, generator=seeded(seed), **kwargs
    )


def test_cifarnet_train_is_standardized_and_deterministic():
    for seed in range(6):
        out = cifar_train(seed)
        assert out.shape == (3, 32, 32) and out.dtype == torch.float32
        assert abs(float(out.mean())) < 1e-4
        assert abs(float(out.std(correction=0)) - 1.0) < 1e-3
    torch.testing.assert_close(cifar_train(5), cifar_train(5), rtol=0, atol=0)
    assert not torch.equal(cifar_train(5), cifar_train(6))


def test_cifarnet_train_crops_from_the_padded_image():
    # Padding 4 around a constant image: some seeds shift the window into the zero border, so the standardized
    # output is not constant; without padding a constant image stays constant (and standardizes to zeros).
    constant = np.full((32, 32, 3), 200, dtype=np.uint8)
    shifted = [cifar_train(seed, image=constant) for seed in range(10)]
    assert any(float(out.max() - out.min()) > 0.5 for out in shifted)
    unpadded = cifarnet_preprocessing.preprocess_for_train(constant, 32, 32, padding=0, generator=seeded(0))
    torch.testing.assert_close(unpadded, torch.zeros(3, 32, 32), rtol=0, atol=1e-5)


def test_cifarnet_non_square_output_has_the_requested_shape():
    # TF-Slim's eval swapped width and height; ours returns height x width for eval and train alike.
    assert cifarnet_preprocessing.preprocess_image(IMAGE, 24, 40).shape == (3, 24, 40)
    assert cifar_train(0, image=IMAGE, height=24, width=40).shape == (3, 24, 40)


def test_cifarnet_grayscale_train_and_eval():
    # TF-Slim's training crop asked for 3 channels and failed with use_grayscale; ours keeps one channel.
    assert cifar_train(0, use_grayscale=True).shape == (1, 32, 32)
    assert cifarnet_preprocessing.preprocess_image(SMALL, 32, 32, use_grayscale=True).shape == (1, 32, 32)


def test_cifarnet_summaries():
    recorded = []
    cifar_train(0, image_summary_fn=lambda name, images: recorded.append((name, tuple(images.shape))))
    assert recorded == [("image", (1, 3, 32, 32)), ("distorted_image", (1, 3, 32, 32))]


# ------------------------------------------------------------------------------------------------------------- LeNet
def test_lenet_is_the_same_for_training_and_eval_and_pads_with_minus_one():
    mnist_like = RNG.randint(0, 256, size=(28, 28, 1)).astype(np.uint8)
    eval_out = lenet_preprocessing.preprocess_image(mnist_like, 32, 30)
    train_out = lenet_preprocessing.preprocess_image(mnist_like, 32, 30, is_training=True, generator=seeded(0))
    torch.testing.assert_close(eval_out, train_out, rtol=0, atol=0)
    assert eval_out.shape == (1, 32, 30)
    # 28 -> 32 rows: 2 padded rows on top (zeros -> -1); 28 -> 30 columns: 1 padded column on the left.
    assert torch.all(eval_out[:, :2] == -1) and torch.all(eval_out[:, :, 0] == -1)
    expected = (torch.from_numpy(mnist_like).permute(2, 0, 1).float() - 128) / 128
    torch.testing.assert_close(eval_out[:, 2:30, 1:29], expected, rtol=0, atol=0)


def test_lenet_grayscale_of_rgb():
    out = lenet_preprocessing.preprocess_image(SMALL, 28, 28, use_grayscale=True)
    assert out.shape == (1, 28, 28)
