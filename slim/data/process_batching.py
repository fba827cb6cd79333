"""Batches made by DataLoader worker processes and handed over in shared-memory buffers that are used again.

A plain ``DataLoader`` collates every batch of every worker into a fresh shared-memory segment, which the worker
must create and fault in page by page before it can write the batch (17-18 ms for a batch of 32 224x224 images in
this VM, against 1.3 ms for writing the same batch into memory it has written before: half a millisecond per
image, as much as the preprocessing itself; measured in docs/performance.md). :class:`ProcessBatchLoader` is a
``DataLoader`` whose workers stack each batch into one of a few shared buffers of their own, created once, and
whose consumer-side iterator tells the worker when a buffer may be written again.

The protocol: a small shared table of flags, one per (worker, buffer), made before the workers start. A worker
writes a batch only into a buffer whose flag is clear, and sets the flag first. The consumer's iterator keeps a
reference to every batch it hands out and, each time it is asked for the next one, clears the flag of every batch
whose memory nothing else refers to any more (no tensor, view or numpy array of it is left:
:func:`slim.data.buffer_reuse.only_owner_refers_to`). A worker that finds no free buffer collates into fresh shared
memory, as a plain DataLoader does, so holding on to batches costs memory, never correctness or progress.

Everything else (sharding of an ``IterableDataset`` across workers, seeding, ``prefetch_factor``, ``timeout``,
``pin_memory``, shutdown) is the ``DataLoader``'s own. Each ``iter()`` starts new workers with a new table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from slim.data.buffer_reuse import only_owner_refers_to

__all__ = ["ProcessBatchLoader", "make_process_loader"]

# How a batch is collated when it cannot go into a reused buffer (a name of its own so tests can watch it).
_collate_into_fresh_memory = torch.utils.data.default_collate

# One flag byte per (worker, buffer): set by the worker when it writes the buffer, cleared by the consumer's
# iterator when nothing refers to the batch any more.
_FREE, _TAKEN = 0, 1


def _stackable(values: tuple[Any, ...]) -> bool:
    first = values[0]
    return isinstance(first, torch.Tensor) and all(
        isinstance(value, torch.Tensor) and value.shape == first.shape and value.dtype == first.dtype
        for value in values
    )


class _SharedBufferCollate:
    """The workers' ``collate_fn``: stacks the batch into a free shared buffer of this worker.

    Returns ``(worker id, buffer index or -1, batch)``; -1 when the batch went into fresh memory (no buffer was
    free, or the examples are not tensors of one shape). Each worker process has its own copy of this object, so
    ``self._buffers`` (filled on first use) is per worker.
    """

    def __init__(self, flags: torch.Tensor) -> None:
        self._flags = flags
        self._buffers: list[list[torch.Tensor] | None] = [None] * flags.shape[1]

    def __call__(self, examples: list[Any]) -> tuple[int, int, Any]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        if not examples or not isinstance(examples[0], (tuple, list)):
            return worker, -1, _collate_into_fresh_memory(examples)
        fields = list(zip(*examples))
        if not all(_stackable(values) for values in fields):
            return worker, -1, _collate_into_fresh_memory(examples)
        shapes = [(len(examples), *values[0].shape) for values in fields]
        dtypes = [values[0].dtype for values in fields]
        slot = self._free_slot(worker, shapes, dtypes)
        if slot < 0:
            return worker, -1, _collate_into_fresh_memory(examples)
        buffers = self._buffers[slot]
        for values, buffer in zip(fields, buffers):
            torch.stack(values, out=buffer)
        return worker, slot, list(buffers)

    def _free_slot(self, worker: int, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype]) -> int:
        flags = self._flags.numpy()[worker]
        for slot, flag in enumerate(flags):
            if flag != _FREE:
                continue
            buffers = self._buffers[slot]
            if buffers is None or [tuple(b.shape) for b in buffers] != shapes or [b.dtype for b in buffers] != dtypes:
                # Created once per slot (and again only if the batch shape changes, e.g. a smaller final batch).
                self._buffers[slot] = [
                    torch.empty(shape, dtype=dtype).share_memory_() for shape, dtype in zip(shapes, dtypes)
                ]
            flags[slot] = _TAKEN
            return slot
        return -1


class _RecyclingIterator:
    """The consumer's side: unwraps the workers' batches and frees the buffers of batches nobody holds any more."""

    def __init__(self, batches: Iterator[tuple[int, int, Any]], flags: torch.Tensor) -> None:
        self._batches = batches
        self._flags = flags.numpy()
        # (worker, slot) -> the last batch's tensors as received there; the consumer gets other tensor objects on
        # the same memory, so while it holds any of them the memory has more owners than these. Kept after the
        # release too: that keeps this process's mapping of the buffer (torch's shared-memory cache then maps the
        # next batch in the same buffer without a new mapping).
        self._received: dict[tuple[int, int], list[torch.Tensor]] = {}
        self._held: set[tuple[int, int]] = set()  # handed out, not yet released

    def __iter__(self) -> _RecyclingIterator:
        return self

    def _free_released_buffers(self) -> None:
        for key in list(self._held):
            if all(only_owner_refers_to(tensor) for tensor in self._received[key]):
                self._held.discard(key)
                self._flags[key] = _FREE

    def __next__(self) -> Any:
        self._free_released_buffers()
        worker, slot, batch = next(self._batches)
        if slot < 0:
            return batch
        self._received[(worker, slot)] = batch
        self._held.add((worker, slot))
        return [tensor.detach() for tensor in batch]


class ProcessBatchLoader:
    """An iterable of batches collated by ``num_workers`` DataLoader worker processes into reused shared buffers.

    Args:
      dataset: The dataset (an ``IterableDataset`` is sharded by the workers themselves, as with a DataLoader).
      batch_size: Examples per batch.
      num_workers: Worker processes (>= 1).
      buffers_per_worker: Shared batch buffers each worker may reuse; default ``prefetch_factor + 3`` (the batches
        waiting in the queue, the one being made, and the two the consumer typically holds).
      **loader_kwargs: ``torch.utils.data.DataLoader`` options (``drop_last``, ``pin_memory``, ``generator``,
        ``prefetch_factor``, ``worker_init_fn``, ``multiprocessing_context``, ``timeout``); no ``collate_fn``.

    Batches are lists with one stacked tensor per item when every example is a tuple/list of same-shape tensors
    (what slim's providers and preprocessing make); anything else is collated by ``default_collate`` as usual.
    """

    def __init__(
        self,
        dataset: torch.utils.data.Dataset,
        batch_size: int,
        num_workers: int,
        buffers_per_worker: int | None = None,
        **loader_kwargs: Any,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"ProcessBatchLoader needs num_workers >= 1, got {num_workers}.")
        if "collate_fn" in loader_kwargs:
            raise ValueError("ProcessBatchLoader collates itself; use a DataLoader for a custom collate_fn.")
        prefetch_factor = loader_kwargs.get("prefetch_factor") or 2
        if buffers_per_worker is None:
            buffers_per_worker = prefetch_factor + 3
        if buffers_per_worker < 0:
            raise ValueError(f"buffers_per_worker={buffers_per_worker} must be >= 0.")
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.buffers_per_worker = buffers_per_worker
        self.loader_kwargs = loader_kwargs

    def __iter__(self) -> Iterator[Any]:
        flags = torch.zeros((self.num_workers, self.buffers_per_worker), dtype=torch.uint8).share_memory_()
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=_SharedBufferCollate(flags),
            **self.loader_kwargs,
        )
        return _RecyclingIterator(iter(loader), flags)


def make_process_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    num_workers: int,
    collate_fn: Callable[[list[Any]], Any] | None,
    **loader_kwargs: Any,
) -> ProcessBatchLoader | torch.utils.data.DataLoader:
    """A :class:`ProcessBatchLoader`, or a plain ``DataLoader`` when there are no workers or a custom collate."""
    if num_workers == 0 or collate_fn is not None:
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_fn, **loader_kwargs
        )
    return ProcessBatchLoader(dataset, batch_size, num_workers, **loader_kwargs)
