"""Examples from a :class:`slim.data.dataset.Dataset` (TF-Slim's ``dataset_data_provider.DatasetDataProvider``).

TF-Slim's provider built queue-backed tensors; here the provider is a description of the example stream that makes
``torch.utils.data`` pipelines:

* :meth:`DatasetDataProvider.get` returns the requested items of the next example, eagerly (handy to inspect data);
  each call reads a new example, so ask for all the items you need in one call.
* :meth:`DatasetDataProvider.batch` returns an iterable of batches: threads (default) or DataLoader worker
  processes read, decode, preprocess (your ``transform``) and batch, the way ``provider.get`` + preprocessing +
  ``tf.train.batch`` did (see :mod:`slim.data.batching`).
* :meth:`DatasetDataProvider.make_dataset` returns the underlying ``IterableDataset``.

Example (training; TF-Slim's ``train_image_classifier`` data pipeline)::

    provider = DatasetDataProvider(dataset, num_readers=4, common_queue_capacity=20 * batch_size,
                                   common_queue_min=10 * batch_size, seed=0)
    loader = provider.batch(["image", "label"], batch_size=32, num_threads=4,
                            transform=lambda image, label: (preprocess(image, 224, 224), label))
    for images, labels in loader:
        ...

Example (evaluation: every record exactly once, across workers and ranks)::

    provider = DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    loader = provider.batch(["image", "label"], batch_size=100, num_threads=2, allow_smaller_final_batch=True, ...)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from slim.data.batching import batch as make_batches
from slim.data.data_provider import DataProvider
from slim.data.dataset import Dataset
from slim.data.parallel_reader import get_data_files
from slim.data.process_batching import ProcessBatchLoader
from slim.data.record_dataset import RecordDataset
from slim.data.thread_batching import ThreadBatchLoader

__all__ = ["DatasetDataProvider"]


class DatasetDataProvider(DataProvider):
    """Reads, decodes and shuffles the examples of a dataset; every decoder item plus ``record_key``.

    Args:
      dataset: The :class:`slim.data.dataset.Dataset`.
      num_readers: Files each worker reads at the same time (interleaved record by record).
      reader_kwargs: Keyword arguments for ``dataset.reader`` (e.g. ``{"skip_corrupt": True}``).
      shuffle: Shuffle the file order each epoch and the records through a buffer.
      num_epochs: Passes over the data; None repeats forever. With ``n``, each record is produced exactly ``n``
        times across all workers and ranks, then the stream ends (TF's OutOfRange).
      common_queue_capacity: Shuffle buffer size, in records.
      common_queue_min: Records kept in the buffer while input remains (TF's ``min_after_dequeue``).
      record_key: Item name of each record's key, ``"<file>:<record index>"``.
      seed: Makes the file order, the shuffling and (with :meth:`batch`) the workers' random generators reproducible.
      scope: Accepted for TF-Slim compatibility; there is no graph to name here.
      rank, world_size: This process's place among distributed readers (default: from ``torch.distributed``); give
        them to shard without an initialised process group.

    Raises:
      ValueError: ``record_key`` clashes with a decoder item, or ``dataset.data_sources`` names no files.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_readers: int = 1,
        reader_kwargs: dict[str, Any] | None = None,
        shuffle: bool = True,
        num_epochs: int | None = None,
        common_queue_capacity: int = 256,
        common_queue_min: int = 128,
        record_key: str = "record_key",
        seed: int | None = None,
        scope: str | None = None,
        *,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        del scope
        items = dataset.decoder.list_items()
        if record_key in items:
            raise ValueError(
                f"The item name used for `record_key` ({record_key!r}) is already a decoder item; pass another "
                "record_key."
            )
        data_files = get_data_files(dataset.data_sources)
        if all(os.path.getsize(path) == 0 for path in data_files):
            raise ValueError(f"All data files of {dataset.data_sources!r} are empty: {data_files}.")
        self.dataset = dataset
        self.data_files = data_files
        self._record_key = record_key
        self._options = dict(
            reader_class=dataset.reader,
            reader_kwargs=reader_kwargs,
            num_readers=num_readers,
            shuffle=shuffle,
            num_epochs=num_epochs,
            capacity=common_queue_capacity,
            min_after_dequeue=common_queue_min,
            seed=seed,
            record_key=record_key,
            rank=rank,
            world_size=world_size,
        )
        self._seed = seed
        # Validates the options now rather than at the first read.
        probe = self.make_dataset()
        self.rank, self.world_size = probe.rank, probe.world_size
        self._examples: Iterator[Any] | None = None
        super().__init__({item: None for item in [*items, record_key]}, dataset.num_samples)

    def make_dataset(
        self, items: Sequence[str] | None = None, transform: Callable[..., Any] | None = None
    ) -> RecordDataset:
        """The ``IterableDataset`` of examples: tuples of ``items`` (all items by default), after ``transform``.

        Args:
          items: Item names, in order; ``record_key`` may be one.
          transform: ``transform(*items) -> example`` run in the worker (preprocessing).
        """
        return RecordDataset(
            self.data_files, decoder=self.dataset.decoder, items=items, transform=transform, **self._options
        )

    def get(self, items: Sequence[str]) -> list[Any]:
        """The requested items of the next example, in order (read in this process, sharded by rank).

        Raises:
          ValueError: an item is unknown.
          StopIteration: ``num_epochs`` passes have been read.
        """
        if isinstance(items, str):
            raise ValueError(f"get() takes a list of item names, got the string {items!r}; use get([{items!r}]).")
        unknown = [item for item in items if item not in self.list_items()]
        if unknown:
            raise ValueError(f"Items {unknown} are not provided; the provider has {self.list_items()}.")
        if self._examples is None:
            self._examples = iter(self.make_dataset())
        example = dict(zip(self.list_items(), next(self._examples)))
        return [example[item] for item in items]

    def batch(
        self,
        items: Sequence[str],
        batch_size: int,
        num_threads: int = 1,
        transform: Callable[..., Any] | None = None,
        capacity: int | None = None,
        allow_smaller_final_batch: bool = False,
        **loader_kwargs: Any,
    ) -> ThreadBatchLoader | ProcessBatchLoader | torch.utils.data.DataLoader:
        """Batches of ``items`` (``tf.train.batch`` over ``provider.get(items)`` + preprocessing).

        Args:
          items: Item names; each batch is a list with one batched value per item (or whatever ``transform``
            returns, collated).
          batch_size: Examples per batch.
          num_threads: Threads (or worker processes) decoding, transforming and batching (0: the caller's thread).
          transform: ``transform(*items) -> example``, e.g. preprocessing; runs in the workers. With threads, a
            transform taking a ``generator`` keyword gets one seeded per example (reproducible with ``seed``).
          capacity: Examples to prefetch in total.
          allow_smaller_final_batch: Keep the last, smaller batch (exact single pass for evaluation).
          **loader_kwargs: Passed to :func:`slim.data.batching.batch` (``workers``, ``pin_memory``,
            ``collate_fn``, ...).
        """
        return make_batches(
            self.make_dataset(items, transform),
            batch_size,
            num_threads=num_threads,
            capacity=capacity,
            allow_smaller_final_batch=allow_smaller_final_batch,
            seed=self._seed,
            rank=self.rank,
            **loader_kwargs,
        )
