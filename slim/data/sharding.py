"""Which records each data-loading worker of each distributed rank reads, so every record is read once per epoch.

The readers of one epoch form ``num_shards = world_size * num_workers`` shards; shard ``rank * num_workers +
worker_id`` reads:

* whole files ``k = shard, shard + num_shards, ...`` among the first ``(F // num_shards) * num_shards`` files of
  the epoch's file order (large datasets: each reader streams whole files), and
* every ``num_shards``-th record of each of the remaining ``F % num_shards`` files, offset so that all shards share
  the remainder evenly (few files, e.g. one cifar10 file read by 8 readers).

So the shards partition the records exactly; their sizes differ by at most one record per remainder file (fewer
than ``num_shards`` files), plus whatever size differences the whole files have. All shards must use the same file
order, so it is a function of the seed and the epoch only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["WorkUnit", "plan_shard", "epoch_file_order", "distributed_rank_and_world_size", "derive_seed"]


class WorkUnit(NamedTuple):
    """Read records ``start, start + stride, ...`` of ``path``."""

    path: str
    start: int
    stride: int


def plan_shard(files: Sequence[str], shard_index: int, num_shards: int) -> list[WorkUnit]:
    """The work units of shard ``shard_index`` of ``num_shards`` over ``files`` (in the epoch's order).

    Raises:
      ValueError: ``shard_index`` is not in ``[0, num_shards)``.
    """
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index={shard_index} must be in [0, num_shards={num_shards}).")
    whole = (len(files) // num_shards) * num_shards
    units = [WorkUnit(files[k], 0, 1) for k in range(shard_index, whole, num_shards)]
    units += [WorkUnit(files[k], (shard_index - k) % num_shards, num_shards) for k in range(whole, len(files))]
    return units


def derive_seed(*parts: int) -> int:
    """A 64-bit seed mixed from integers (numpy's SeedSequence), the same in every process."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFFFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0])


def epoch_file_order(files: Sequence[str], epoch: int, shuffle: bool, seed: int) -> list[str]:
    """The files of ``epoch`` in reading order: as given, or shuffled by ``(seed, epoch)`` (same on every shard)."""
    files = list(files)
    if shuffle:
        random.Random(derive_seed(seed, epoch, 0x5EED)).shuffle(files)
    return files


def distributed_rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised default ``torch.distributed`` process group, else ``(0, 1)``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
