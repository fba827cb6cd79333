"""The record stream behind every provider: sharded reading, a shuffle buffer, decoding and a per-example transform.

:class:`RecordDataset` is a ``torch.utils.data.IterableDataset``. Inside each DataLoader worker (or the main process)
it works out its shard from the worker id and the distributed rank (:mod:`slim.data.sharding`), reads its records
``num_readers`` files at a time, shuffles them through a buffer of ``capacity`` records (TF-Slim's
``RandomShuffleQueue`` with ``min_after_dequeue``), decodes them with the dataset's decoder and applies the transform
(preprocessing). All of that happens in the workers, so the main process only receives finished examples or batches.

Per epoch the shards partition the records, so with ``num_epochs=n`` every record is produced exactly ``n`` times
overall; ``num_epochs=None`` repeats forever. Given a ``seed`` the stream is the same on every run.
"""

from __future__ import annotations

import collections
import inspect
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from slim.data.data_decoder import DataDecoder
from slim.data.sharding import (
    WorkUnit,
    derive_seed,
    distributed_rank_and_world_size,
    epoch_file_order,
    plan_shard,
)
from slim.data.tfrecord import TFRecordReader

__all__ = ["RecordDataset", "shuffle_buffer"]


def shuffle_buffer(source: Iterator[Any], capacity: int, min_after_dequeue: int, rng: random.Random) -> Iterator[Any]:
    """Yields the items of ``source`` in random order through a bounded buffer (a ``RandomShuffleQueue``).

    Output starts once the buffer holds ``min_after_dequeue + 1`` items; after that two items are read per item
    yielded until the buffer holds ``capacity`` (as TF's reader threads fill the queue faster than it is drained),
    and at least ``min_after_dequeue`` items stay in the buffer until the source is exhausted.
    """
    buffer: list[Any] = []
    for item in source:
        buffer.append(item)
        if len(buffer) > min_after_dequeue:
            break
    randrange = rng.randrange
    while buffer:
        index = randrange(len(buffer))
        buffer[index], buffer[-1] = buffer[-1], buffer[index]
        yield buffer.pop()
        for _ in range(2 if len(buffer) + 2 <= capacity else 1):
            item = next(source, None)
            if item is None:
                break
            buffer.append(item)


def _interleave(reader: Any, units: Sequence[WorkUnit], cycle_length: int) -> Iterator[tuple[str, bytes]]:
    """``(record key, record)`` from ``units``, ``cycle_length`` files at a time, one record from each in turn."""
    if cycle_length == 1:
        for unit in units:
            path = unit.path
            for index, record in reader.read(path, unit.start, unit.stride):
                yield f"{path}:{index}", record
        return
    pending = iter(units)
    active: collections.deque = collections.deque()

    def open_next() -> None:
        unit = next(pending, None)
        if unit is not None:
            active.append((unit.path, reader.read(unit.path, unit.start, unit.stride)))

    for _ in range(cycle_length):
        open_next()
    while active:
        path, records = active.popleft()
        entry = next(records, None)
        if entry is None:
            open_next()
            continue
        active.append((path, records))
        yield f"{path}:{entry[0]}", entry[1]


def _accepts_generator(function: Callable[..., Any] | None) -> bool:
    """Whether ``function`` takes a ``generator`` keyword argument (explicitly or through ``**kwargs``)."""
    if function is None:
        return False
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD
        or (parameter.name == "generator" and parameter.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for parameter in parameters
    )


class RecordDataset(torch.utils.data.IterableDataset):
    """Records of ``data_files``, sharded across DataLoader workers and distributed ranks, optionally decoded.

    Args:
      data_files: The files (already expanded, see :func:`slim.data.parallel_reader.get_data_files`).
      reader_class: Reader with ``read(path, start, stride)`` (default :class:`slim.data.tfrecord.TFRecordReader`).
      reader_kwargs: Keyword arguments for ``reader_class``.
      decoder: Decodes each record into ``items``; None yields ``(record key, record bytes)``.
      items: Item names to produce, in order (default: all of the decoder's). ``record_key`` may be one of them.
      transform: ``transform(*items) -> example``, applied in the worker (preprocessing); must be picklable when
        workers are processes that are not forked. If it accepts a ``generator`` keyword, thread pools
        (:mod:`slim.data.thread_batching`) pass a ``torch.Generator`` seeded for each example, which makes random
        preprocessing reproducible whatever the thread timing.
      num_readers: Files each worker reads at the same time (interleaved record by record).
      shuffle: Shuffle the file order each epoch and the records through a buffer.
      num_epochs: Passes over the data; None repeats forever.
      capacity: Shuffle buffer size (``common_queue_capacity``).
      min_after_dequeue: Records kept in the buffer while input remains (``common_queue_min``).
      seed: Makes file order and shuffling reproducible.
      record_key: Name of the item holding ``"<file>:<record index>"``.
      rank, world_size: This process's place among distributed readers (default: from ``torch.distributed``).
    """

    def __init__(
        self,
        data_files: Sequence[str],
        reader_class: type | None = None,
        reader_kwargs: dict[str, Any] | None = None,
        decoder: DataDecoder | None = None,
        items: Sequence[str] | None = None,
        transform: Callable[..., Any] | None = None,
        num_readers: int = 1,
        shuffle: bool = True,
        num_epochs: int | None = None,
        capacity: int = 256,
        min_after_dequeue: int = 128,
        seed: int | None = None,
        record_key: str = "record_key",
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        if not data_files:
            raise ValueError("RecordDataset needs at least one data file.")
        if num_readers < 1:
            raise ValueError(f"num_readers={num_readers} must be >= 1.")
        if num_epochs is not None and num_epochs < 1:
            raise ValueError(f"num_epochs={num_epochs} must be None (forever) or >= 1.")
        if shuffle and not 0 <= min_after_dequeue < capacity:
            raise ValueError(
                f"Shuffling needs 0 <= common_queue_min ({min_after_dequeue}) < common_queue_capacity ({capacity})."
            )
        if decoder is None and (items is not None or transform is not None):
            raise ValueError("items and transform need a decoder; without one the stream is (key, record) pairs.")
        detected_rank, detected_world = distributed_rank_and_world_size()
        self.rank = detected_rank if rank is None else rank
        self.world_size = detected_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank={self.rank} must be in [0, world_size={self.world_size}).")
        self.data_files = list(data_files)
        self.reader_class = reader_class or TFRecordReader
        self.reader_kwargs = dict(reader_kwargs or {})
        self.decoder = decoder
        self.record_key = record_key
        if decoder is not None:
            known = [*decoder.list_items(), record_key]
            self.items = list(items) if items is not None else known
            unknown = [item for item in self.items if item not in known]
            if unknown:
                raise ValueError(f"Unknown items {unknown}; the dataset provides {known}.")
            self._decode_items = [item for item in self.items if item != record_key]
        else:
            self.items = None
            self._decode_items = []
        self.transform = transform
        self._transform_takes_generator = _accepts_generator(transform)
        self.num_readers = num_readers
        self.shuffle = shuffle
        self.num_epochs = num_epochs
        self.capacity = capacity
        self.min_after_dequeue = min_after_dequeue
        self.seed = seed
        # Every shard must see the same file order, so without a seed one is drawn here (before workers copy this
        # object); separate ranks cannot agree on a drawn seed without communicating, so they use 0.
        unseeded = random.SystemRandom().getrandbits(63)
        self._order_seed = seed if seed is not None else (unseeded if self.world_size == 1 else 0)
        self._buffer_seed = seed if seed is not None else unseeded

    def shard(self) -> tuple[int, int]:
        """``(shard index, number of shards)`` of the calling process (a DataLoader worker or the main process)."""
        info = torch.utils.data.get_worker_info()
        worker_id, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return self.rank * num_workers + worker_id, self.world_size * num_workers

    def _records(self, reader: Any, shard_index: int, num_shards: int) -> Iterator[tuple[str, bytes]]:
        epoch = 0
        while self.num_epochs is None or epoch < self.num_epochs:
            files = epoch_file_order(self.data_files, epoch, self.shuffle, self._order_seed)
            produced = False
            for entry in _interleave(reader, plan_shard(files, shard_index, num_shards), self.num_readers):
                produced = True
                yield entry
            if not produced and self.num_epochs is None:
                return  # this shard has nothing to read; repeating would spin forever
            epoch += 1

    def records(self) -> Iterator[tuple[str, bytes]]:
        """``(record key, record bytes)`` of the calling process's shard, in reading order (shuffled if asked)."""
        shard_index, num_shards = self.shard()
        reader = self.reader_class(**self.reader_kwargs)
        records = self._records(reader, shard_index, num_shards)
        if self.shuffle:
            rng = random.Random(derive_seed(self._buffer_seed, shard_index, num_shards))
            records = shuffle_buffer(records, self.capacity, self.min_after_dequeue, rng)
        return records

    @property
    def transform_takes_generator(self) -> bool:
        """Whether the transform accepts a ``generator=`` keyword (then thread pools pass one per example)."""
        return self._transform_takes_generator

    def example(self, key: str, record: bytes, generator: torch.Generator | None = None) -> Any:
        """Decodes one record into the requested items and applies the transform (with ``generator`` if it takes one).

        Raises:
          ValueError: the record cannot be decoded (names the record).
        """
        decode_items = self._decode_items
        try:
            values = self.decoder.decode(record, decode_items) if decode_items else []
        except Exception as error:
            raise ValueError(f"Could not decode record {key}: {error}") from error
        if self.record_key in self.items:
            decoded = iter(values)
            values = [key if item == self.record_key else next(decoded) for item in self.items]
        if self.transform is None:
            return tuple(values)
        if generator is not None and self._transform_takes_generator:
            return self.transform(*values, generator=generator)
        return self.transform(*values)

    def __iter__(self) -> Iterator[Any]:
        records = self.records()
        if self.decoder is None:
            yield from records
            return
        example = self.example
        for key, record in records:
            yield example(key, record)
