"""Batches from a record stream: a ``torch.utils.data.DataLoader`` set up as ``tf.train.batch`` would be.

Each worker process reads, decodes, preprocesses and collates whole batches, so the main process receives finished
batches. ``num_threads`` (TF's preprocessing threads) becomes the number of worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from slim.data.sharding import derive_seed

__all__ = ["batch", "seed_worker"]


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
) -> torch.utils.data.DataLoader:
    """A DataLoader producing batches of ``batch_size`` examples from ``dataset`` (``tf.train.batch``).

    Args:
      dataset: An iterable dataset, e.g. :class:`slim.data.record_dataset.RecordDataset`.
      batch_size: Examples per batch.
      num_threads: Worker processes (0: load in the main process).
      capacity: Examples to prefetch in total (TF's queue capacity); None keeps DataLoader's default of two batches
        per worker.
      allow_smaller_final_batch: Keep each worker's last, smaller batch (needed for an exact single pass, e.g.
        evaluation); False drops it, so every batch has ``batch_size`` examples.
      seed: Seeds the workers' torch/numpy/random generators (mixed with ``rank``) for reproducible preprocessing.
      rank: The distributed rank, so ranks draw different random augmentations.
      pin_memory: Page-locked batches for faster host-to-GPU copies.
      collate_fn: How to stack examples (default: ``torch.utils.data.default_collate``).
      multiprocessing_context: E.g. ``"spawn"``/``"forkserver"``; default is the platform's.
      timeout: Seconds to wait for a batch from a worker (0: forever).

    Returns:
      A ``DataLoader``; iterating it yields collated batches (a list with one batched tensor per item).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    if num_threads < 0:
        raise ValueError(f"num_threads={num_threads} must be >= 0 (0 loads in the main process).")
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
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_threads,
        drop_last=not allow_smaller_final_batch,
        pin_memory=pin_memory,
        collate_fn=collate_fn,
        **kwargs,
    )
