"""Batches from a record stream, as ``tf.train.batch`` made them: ``num_threads`` threads or worker processes.

* ``workers="threads"`` (default): a pool of threads in this process decodes and preprocesses, in reading order,
  into reused batch buffers (:class:`slim.data.thread_batching.ThreadBatchLoader`). Fastest for slim's decoders and
  preprocessing, whose heavy parts release the GIL; a seeded stream is the same for any number of threads.
* ``workers="processes"``: ``torch.utils.data.DataLoader`` worker processes each read their own shard of the
  records, decode, preprocess and collate whole batches, into shared buffers that are reused
  (:class:`slim.data.process_batching.ProcessBatchLoader`). For transforms that hold the GIL, and for feeding a
  training loop in the same process (which then does not share the GIL with the preprocessing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from slim.data.process_batching import ProcessBatchLoader, make_process_loader
from slim.data.sharding import derive_seed
from slim.data.thread_batching import ThreadBatchLoader

__all__ = ["batch", "seed_worker", "WORKER_KINDS"]

WORKER_KINDS = ("threads", "processes")


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seeds numpy from the worker's torch seed (torch already seeds ``random``)."""
    del worker_id
    np.random.seed(torch.initial_seed() % 2**32)


def batch(
    dataset: torch.utils.data.IterableDataset,
    batch_size: int,
    num_threads: int = 1,
    capacity: int | None = None,
    allow_smaller_final_batch: bool = False,
    seed: int | None = None,
    rank: int = 0,
    pin_memory: bool = False,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    multiprocessing_context: Any = None,
    timeout: float = 0,
    workers: str = "threads",
) -> ThreadBatchLoader | ProcessBatchLoader | torch.utils.data.DataLoader:
    """An iterable of batches of ``batch_size`` examples from ``dataset`` (``tf.train.batch``).

    Args:
      dataset: An iterable dataset, e.g. :class:`slim.data.record_dataset.RecordDataset` (threads need one with a
        decoder; processes take any ``IterableDataset``).
      batch_size: Examples per batch.
      num_threads: Preprocessing threads or worker processes (0: everything in the consumer's thread).
      capacity: Examples to prefetch in total (TF's queue capacity); None: two batches (per worker process).
      allow_smaller_final_batch: Keep the last, smaller batch (with processes: each worker's; needed for an exact
        single pass, e.g. evaluation); False drops it, so every batch has ``batch_size`` examples.
      seed: Seeds the preprocessing's random generators (mixed with ``rank``): with threads one generator per
        example, with processes the workers' torch/numpy/random generators.
      rank: The distributed rank, so ranks draw different random augmentations.
      pin_memory: Page-locked batches for faster host-to-GPU copies.
      collate_fn: How to stack examples (default: ``torch.utils.data.default_collate``).
      multiprocessing_context: Processes only: e.g. ``"spawn"``/``"forkserver"``; default is the platform's.
      timeout: Processes only: seconds to wait for a batch from a worker (0: forever).
      workers: ``"threads"`` or ``"processes"`` (see the module docstring).

    Returns:
      A :class:`ThreadBatchLoader`, a :class:`ProcessBatchLoader`, or (no workers, or a custom ``collate_fn``
      with processes) a plain ``DataLoader``; iterating it yields collated batches (a list with one batched tensor
      per item).

    Raises:
      ValueError: a bad size or count, an unknown ``workers``, or a processes-only option with threads.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    if num_threads < 0:
        raise ValueError(f"num_threads={num_threads} must be >= 0 (0 loads in the main process).")
    if workers not in WORKER_KINDS:
        raise ValueError(f"workers={workers!r} must be one of {list(WORKER_KINDS)}.")
    if workers == "threads":
        if multiprocessing_context is not None or timeout:
            raise ValueError('multiprocessing_context and timeout are options of workers="processes".')
        return ThreadBatchLoader(
            dataset,
            batch_size,
            num_threads=num_threads,
            capacity=capacity,
            allow_smaller_final_batch=allow_smaller_final_batch,
            seed=seed,
            rank=rank,
            pin_memory=pin_memory,
            collate_fn=collate_fn,
        )
    kwargs: dict[str, Any] = {}
    if num_threads > 0:
        kwargs["worker_init_fn"] = seed_worker
        kwargs["multiprocessing_context"] = multiprocessing_context
        kwargs["timeout"] = timeout
        if capacity is not None:
            kwargs["prefetch_factor"] = max(1, math.ceil(capacity / (batch_size * num_threads)))
    elif multiprocessing_context is not None or timeout:
        raise ValueError("multiprocessing_context and timeout need worker processes (num_threads >= 1).")
    if seed is not None:
        kwargs["generator"] = torch.Generator().manual_seed(derive_seed(seed, rank, 0xBA7C) % 2**63)
    return make_process_loader(
        dataset,
        batch_size,
        num_threads,
        collate_fn,
        drop_last=not allow_smaller_final_batch,
        pin_memory=pin_memory,
        **kwargs,
    )
