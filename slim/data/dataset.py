"""The description of a dataset: where its records are, how to read and decode them (TF-Slim's ``dataset.Dataset``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slim.data.data_decoder import DataDecoder

__all__ = ["Dataset"]


class Dataset:
    """A plain record of a dataset's parts; every extra keyword becomes an attribute.

    Args:
      data_sources: A file pattern or list of files/patterns (see :func:`slim.data.parallel_reader.get_data_files`).
      reader: The reader class; records are read by :class:`slim.data.readers.TFRecordReader` unless another class
        with the same interface is given (``None`` means that default).
      decoder: A :class:`slim.data.data_decoder.DataDecoder` (usually a ``TFExampleDecoder``).
      num_samples: Number of records in the split.
      items_to_descriptions: ``{item name: human-readable description}``.
      **kwargs: Extra attributes, e.g. ``num_classes`` and ``labels_to_names`` as research/slim's datasets set.

    Example::

        dataset = Dataset(data_sources="/data/flowers_train_*.tfrecord", reader=None, decoder=decoder,
                          num_samples=3320, items_to_descriptions={"image": "A color image.", "label": "0-4"},
                          num_classes=5)
    """

    def __init__(
        self,
        data_sources: str | Sequence[str],
        reader: Any,
        decoder: DataDecoder,
        num_samples: int,
        items_to_descriptions: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        self.data_sources = data_sources
        self.reader = reader
        self.decoder = decoder
        self.num_samples = num_samples
        self.items_to_descriptions = items_to_descriptions
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"Dataset(data_sources={self.data_sources!r}, num_samples={self.num_samples!r})"
