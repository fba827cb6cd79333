"""Shard plans: every record read exactly once per epoch across workers x ranks (simulated, no processes)."""

import collections

import pytest

from slim.data.sharding import WorkUnit, epoch_file_order, plan_shard


def _records_read(sizes, num_shards):
    files = [f"f{k}" for k in range(len(sizes))]
    size_of = dict(zip(files, sizes))
    reads = collections.Counter()
    per_shard = []
    for shard in range(num_shards):
        count = 0
        for unit in plan_shard(files, shard, num_shards):
            for index in range(unit.start, size_of[unit.path], unit.stride):
                reads[(unit.path, index)] += 1
                count += 1
        per_shard.append(count)
    return reads, per_shard


@pytest.mark.parametrize("num_files", [1, 2, 3, 5, 8, 9])
@pytest.mark.parametrize("num_ranks,num_workers", [(1, 1), (1, 2), (2, 2), (4, 1), (3, 2)])
def test_each_record_once(num_files, num_ranks, num_workers):
    sizes = [10 + 3 * k for k in range(num_files)]
    num_shards = num_ranks * num_workers
    reads, per_shard = _records_read(sizes, num_shards)
    assert len(reads) == sum(sizes) and set(reads.values()) == {1}
    # With equal files, whole files split evenly and each strided remainder file gives any two shards record counts
    # that differ by at most one.
    _, balanced = _records_read([10] * num_files, num_shards)
    assert max(balanced) - min(balanced) <= num_files % num_shards


def test_plan_shapes():
    files = ["a", "b", "c", "d", "e"]
    # 5 files over 2 shards: a..d whole (alternating), e strided.
    assert plan_shard(files, 0, 2) == [WorkUnit("a", 0, 1), WorkUnit("c", 0, 1), WorkUnit("e", 0, 2)]
    assert plan_shard(files, 1, 2) == [WorkUnit("b", 0, 1), WorkUnit("d", 0, 1), WorkUnit("e", 1, 2)]
    # One file over 3 shards: records 0,3,6.. / 1,4,.. / 2,5,..
    assert [u.start for s in range(3) for u in plan_shard(["x"], s, 3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="shard_index=2 must be in"):
        plan_shard(files, 2, 2)


def test_epoch_file_order_is_deterministic_and_varies_by_epoch():
    files = [f"f{k}" for k in range(20)]
    assert epoch_file_order(files, 0, False, 1) == files
    first = epoch_file_order(files, 0, True, 1)
    assert first == epoch_file_order(files, 0, True, 1) and sorted(first) == sorted(files)
    assert first != epoch_file_order(files, 1, True, 1)
    assert first != epoch_file_order(files, 0, True, 2)
