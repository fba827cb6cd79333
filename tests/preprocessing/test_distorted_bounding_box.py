"""Properties of sample_distorted_bounding_box (TF's sampler re-implemented; TF's random stream is not reproduced).

The constraints checked are the ones the algorithm guarantees for every accepted crop: the area fraction lies in
area_range, width = round(height * aspect) with the aspect in aspect_ratio_range, the crop lies inside the image and
covers at least min_object_covered of an object box; when nothing can be sampled the whole image comes back.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slim.preprocessing.distorted_bounding_box import sample_distorted_bounding_box

WHOLE = [[[0.0, 0.0, 1.0, 1.0]]]


def draws(image_size, boxes=WHOLE, n=300, seed=0, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    kwargs.setdefault("use_image_if_no_bounding_boxes", True)
    return [sample_distorted_bounding_box(image_size, boxes, generator=generator, **kwargs) for _ in range(n)]


@pytest.mark.parametrize("size", [(37, 53), (64, 48), (100, 100), (224, 331), (7, 5)])
def test_inception_defaults_respect_area_aspect_and_bounds(size):
    height, width = size
    whole_image_fallbacks = 0
    for begin, crop, bboxes in draws(size, min_object_covered=0.1):
        (top, left), (h, w) = begin, crop
        assert 0 <= top and 0 <= left and top + h <= height and left + w <= width
        if (h, w) == (height, width):
            whole_image_fallbacks += 1
            continue
        area = h * w / (height * width)
        # The kernel accepts area >= max(0.05, 0.1 coverage of the whole-image object) and <= 1.
        assert 0.1 - 1e-6 <= area <= 1.0
        # width = round(height * aspect) with aspect in [0.75, 1.33]: the aspect lies within half a pixel of the range.
        assert 0.75 * h - 0.5 <= w <= 1.33 * h + 0.5
        # The kernel draws offsets from [0, size - crop), so a smaller crop never touches the far edge.
        if h < height:
            assert top + h < height
        if w < width:
            assert left + w < width
        expected = [top / height, left / width, (top + h) / height, (left + w) / width]
        np.testing.assert_allclose(bboxes.reshape(4).numpy(), expected, rtol=0, atol=1e-6)
        assert bboxes.shape == (1, 1, 4) and bboxes.dtype == torch.float32
    assert whole_image_fallbacks < 300  # the sampler does produce real crops


def test_crops_cover_the_object_box():
    box = [0.2, 0.3, 0.6, 0.9]  # ymin, xmin, ymax, xmax
    height, width = 80, 120
    oy0, ox0, oy1, ox1 = int(box[0] * height), int(box[1] * width), int(box[2] * height), int(box[3] * width)
    object_area = (oy1 - oy0) * (ox1 - ox0)
    for (top, left), (h, w), _ in draws((height, width), [[box]], min_object_covered=0.5, area_range=(0.05, 1.0)):
        inter_h = max(0, min(top + h, oy1) - max(top, oy0))
        inter_w = max(0, min(left + w, ox1) - max(left, ox0))
        covered = inter_h * inter_w / object_area
        assert covered >= 0.5 or (h, w) == (height, width)


def test_area_range_is_respected_in_distribution():
    sizes = [h * w / (100 * 100) for _, (h, w), _ in draws((100, 100), min_object_covered=0.0, area_range=(0.3, 0.4))]
    assert min(sizes) >= 0.3 and max(sizes) <= 0.4


def test_impossible_constraints_fall_back_to_the_whole_image():
    # An aspect ratio of 10 cannot fit a 20x20 image with at least half its area: every attempt is rejected.
    for begin, size, bboxes in draws((20, 20), aspect_ratio_range=(10.0, 11.0), area_range=(0.5, 1.0), n=5):
        assert begin == (0, 0) and size == (20, 20)
        assert bboxes.reshape(4).tolist() == [0.0, 0.0, 1.0, 1.0]
    # No crop can cover more than 100 % of an object, so min_object_covered above 1 rejects every attempt.
    for begin, size, _ in draws((30, 30), min_object_covered=1.5, n=3):
        assert begin == (0, 0) and size == (30, 30)


def test_no_boxes_uses_the_whole_image_or_raises():
    for boxes in (None, torch.zeros(1, 0, 4)):
        result = sample_distorted_bounding_box((40, 50), boxes, use_image_if_no_bounding_boxes=True)
        assert result.size[0] <= 40 and result.size[1] <= 50
        with pytest.raises(ValueError, match="use_image_if_no_bounding_boxes"):
            sample_distorted_bounding_box((40, 50), boxes)


def test_seeded_generator_is_deterministic_and_seeds_differ():
    first = [(b, s) for b, s, _ in draws((64, 48), seed=3, n=20)]
    again = [(b, s) for b, s, _ in draws((64, 48), seed=3, n=20)]
    other = [(b, s) for b, s, _ in draws((64, 48), seed=4, n=20)]
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"area_range": (0.0, 1.0)}, "area_range"),
        ({"area_range": (0.5, 1.5)}, "area_range"),
        ({"aspect_ratio_range": (0.0, 1.0)}, "aspect_ratio_range"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"min_object_covered": -0.1}, "min_object_covered"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_distorted_bounding_box((10, 10), WHOLE, use_image_if_no_bounding_boxes=True, **kwargs)


def test_box_coordinates_outside_unit_range_raise():
    with pytest.raises(ValueError, match=r"in \[0.0, 1.0\]"):
        sample_distorted_bounding_box((10, 10), [[[0.0, 0.0, 1.2, 1.0]]])
    with pytest.raises(ValueError, match=r"\[\.\.\., 4\]"):
        sample_distorted_bounding_box((10, 10), [[0.0, 0.0, 1.0]])
