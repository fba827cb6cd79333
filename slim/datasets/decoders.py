"""The record decoders of the datasets, built from one table each (TF-Slim wrote them out per dataset module).

Classification records (flowers, cifar10, mnist, image_folder) hold ``image/encoded``, ``image/format`` and
``image/class/label``; detection-style records (imagenet, visualwakewords) add ``image/object/bbox/*``.
"""

from __future__ import annotations

from collections.abc import Sequence

from slim.data import tfexample_decoder
from slim.data.parsing import FixedLenFeature, VarLenFeature

__all__ = ["classification_decoder", "bbox_features", "BBOX_KEYS"]

# TF-Slim's order of the box coordinates in an object/bbox item: [ymin, xmin, ymax, xmax].
BBOX_KEYS = ["ymin", "xmin", "ymax", "xmax"]


def classification_decoder(
    default_format: str,
    image_shape: Sequence[int] | None = None,
    channels: int = 3,
    label_shape: Sequence[int] | None = None,
    label_feature_shape: Sequence[int] = (),
    label_default: int = 0,
) -> tfexample_decoder.TFExampleDecoder:
    """An ``image`` + ``label`` decoder.

    Args:
      default_format: the ``image/format`` used when a record has none ('png' for flowers and cifar10, 'raw' for
        mnist, as TF-Slim; the converters always write one).
      image_shape: the static image shape, if fixed ([32, 32, 3] for cifar10).
      channels: channels to decode to.
      label_shape: reshape the label to this (mnist: [] from a [1] feature).
      label_feature_shape: the shape of ``image/class/label`` in the record.
      label_default: the label of a record without one.
    """
    keys_to_features = {
        "image/encoded": FixedLenFeature((), "string", default_value=b""),
        "image/format": FixedLenFeature((), "string", default_value=default_format.encode()),
        "image/class/label": FixedLenFeature(list(label_feature_shape), "int64", default_value=label_default),
    }
    image_kwargs = {"channels": channels}
    if image_shape is not None:
        image_kwargs["shape"] = list(image_shape)
    label_kwargs = {} if label_shape is None else {"shape": list(label_shape)}
    items_to_handlers = {
        "image": tfexample_decoder.Image(**image_kwargs),
        "label": tfexample_decoder.Tensor("image/class/label", **label_kwargs),
    }
    return tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)


def bbox_features(prefix: str = "image/object/bbox/") -> dict[str, VarLenFeature]:
    """The four ``VarLenFeature('float32')`` box coordinates under ``prefix``."""
    return {prefix + key: VarLenFeature("float32") for key in ("xmin", "ymin", "xmax", "ymax")}
