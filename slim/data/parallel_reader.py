"""Finding data files and reading their records in parallel (TF-Slim's ``parallel_reader``).

``parallel_read`` and ``single_pass_read`` return iterables of ``(key, record)`` where TF-Slim returned queue-backed
tensors; both are :class:`slim.data.record_dataset.RecordDataset` streams (so they can also feed a DataLoader).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

from slim.data.record_dataset import RecordDataset

__all__ = ["get_data_files", "parallel_read", "single_pass_read"]

_GLOB_CHARS = ("*", "?", "[")


def get_data_files(data_sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The data files named by ``data_sources``.

    A list or tuple is the concatenation of its entries' files. A string containing ``*``, ``?`` or ``[`` is a glob
    pattern (matches sorted); any other string is one file, which must exist.

    Raises:
      ValueError: no data files were found (the message names the pattern); never an empty list.
    """
    if isinstance(data_sources, (list, tuple)):
        data_files = []
        for source in data_sources:
            data_files += get_data_files(source)
        if not data_files:
            raise ValueError(f"No data files found in {data_sources!r}: the list is empty.")
        return data_files
    source = os.fspath(data_sources)
    if any(char in source for char in _GLOB_CHARS):
        data_files = sorted(path for path in glob.glob(source) if os.path.isfile(path))
        if not data_files:
            raise ValueError(
                f"No data files found in {source!r}: the pattern matches no files. Check --dataset_dir and that the "
                "dataset was converted (download_and_convert_data)."
            )
        return data_files
    if not os.path.isfile(source):
        problem = "it is a directory (give a file pattern)" if os.path.isdir(source) else "no such file"
        raise ValueError(f"No data files found in {source!r}: {problem}.")
    return [source]


def parallel_read(
    data_sources: str | Sequence[str],
    reader_class: type | None = None,
    num_epochs: int | None = None,
    num_readers: int = 4,
    reader_kwargs: dict[str, Any] | None = None,
    shuffle: bool = True,
    capacity: int = 256,
    min_after_dequeue: int = 128,
    seed: int | None = None,
    scope: str | None = None,
) -> RecordDataset:
    """``(key, record)`` pairs from ``data_sources``, ``num_readers`` files at a time, shuffled through a buffer.

    Args:
      data_sources: File(s) or pattern(s); see :func:`get_data_files`.
      reader_class: Record reader (default :class:`slim.data.tfrecord.TFRecordReader`).
      num_epochs: Passes over the data; None repeats forever.
      num_readers: Files read at the same time (interleaved).
      reader_kwargs: Keyword arguments for ``reader_class``.
      shuffle: Shuffle the file order each epoch and the records through a buffer.
      capacity: Shuffle buffer size.
      min_after_dequeue: Records kept in the buffer while input remains.
      seed: Makes the order reproducible.
      scope: Accepted for TF-Slim compatibility; there is no graph to name here.

    Returns:
      An iterable of ``(key, record bytes)``; keys are ``"<file>:<record index>"``. Under ``torch.distributed`` (or
      inside DataLoader workers) each process reads only its shard.
    """
    del scope
    return RecordDataset(
        get_data_files(data_sources),
        reader_class=reader_class,
        reader_kwargs=reader_kwargs,
        num_readers=num_readers,
        shuffle=shuffle,
        num_epochs=num_epochs,
        capacity=capacity,
        min_after_dequeue=min_after_dequeue,
        seed=seed,
    )


def single_pass_read(
    data_sources: str | Sequence[str],
    reader_class: type | None = None,
    reader_kwargs: dict[str, Any] | None = None,
    scope: str | None = None,
) -> RecordDataset:
    """Every record of ``data_sources`` exactly once, in file order: ``(key, record)`` pairs (no shuffling).

    Under ``torch.distributed`` (or inside DataLoader workers) each process reads only its shard; together they read
    every record once.
    """
    del scope
    return RecordDataset(
        get_data_files(data_sources),
        reader_class=reader_class,
        reader_kwargs=reader_kwargs,
        num_readers=1,
        shuffle=False,
        num_epochs=1,
    )
