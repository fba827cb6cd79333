"""ProcessBatchLoader: worker processes collate into shared buffers that are reused only once the consumer has let
go of the batch in them (no tensor, view or numpy array left), and fall back to fresh memory otherwise."""

import multiprocessing

import pytest
import torch

from slim.data import process_batching
from slim.data.process_batching import ProcessBatchLoader, make_process_loader

NUM = 48

# The tests that watch the fallback patch it in this process; only forked workers inherit the patch.
needs_fork = pytest.mark.skipif(
    multiprocessing.get_start_method(allow_none=False) != "fork", reason="the patched fallback reaches forked workers"
)


class _Numbers(torch.utils.data.IterableDataset):
    """Example ``i`` is ``(image filled with i, tensor(i))``, sharded across workers; ``shape_of`` may vary sizes."""

    def __init__(self, num=NUM, shape_of=lambda i: (3, 8, 8), plain_labels=False):
        self.num = num
        self.shape_of = shape_of
        self.plain_labels = plain_labels

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for i in range(worker, self.num, workers):
            yield torch.full(self.shape_of(i), float(i)), (i if self.plain_labels else torch.tensor(i))


def _check(batch):
    images, labels = batch
    assert images.shape[0] == labels.shape[0]
    expected = labels.to(images.dtype).view(-1, *([1] * (images.dim() - 1))).expand_as(images)
    assert torch.equal(images, expected), labels.tolist()


def _forbid_fresh_memory(monkeypatch):
    def fail(examples):
        raise AssertionError("a batch was collated into fresh memory although a reused buffer was free")

    monkeypatch.setattr(process_batching, "_collate_into_fresh_memory", fail)


@needs_fork
@pytest.mark.parametrize("num_workers", [1, 2])
def test_batches_released_by_the_consumer_reuse_the_buffers(monkeypatch, num_workers):
    _forbid_fresh_memory(monkeypatch)
    seen = []
    for batch in ProcessBatchLoader(_Numbers(), 4, num_workers):
        _check(batch)
        seen += batch[1].tolist()
    assert sorted(seen) == list(range(NUM))


@pytest.mark.parametrize("keep", ["batch", "view", "numpy"])
def test_a_batch_still_referred_to_is_never_overwritten(keep):
    """Holding the whole batch, a view of it, or a numpy array of it keeps its buffer; one buffer per worker forces
    the workers to fall back to fresh memory, and every kept batch keeps its own values."""
    kept = []
    for images, labels in ProcessBatchLoader(_Numbers(), 4, 2, buffers_per_worker=1):
        labels = labels.clone()
        if keep == "batch":
            kept.append((images, labels))
        elif keep == "view":
            kept.append((images[:, :1, 2:4], labels))
        else:
            kept.append((images.numpy(), labels))
    assert len(kept) == NUM // 4
    for images, labels in kept:
        _check((torch.as_tensor(images), labels))
    assert sorted(int(i) for _, labels in kept for i in labels) == list(range(NUM))


@needs_fork
def test_without_buffers_every_batch_goes_to_fresh_memory(monkeypatch):
    """buffers_per_worker=0 is a plain DataLoader's behaviour (the fallback, watched here)."""
    _forbid_fresh_memory(monkeypatch)
    with pytest.raises(AssertionError, match="fresh memory"):
        next(iter(ProcessBatchLoader(_Numbers(), 4, 1, buffers_per_worker=0)))


def test_smaller_final_batch_and_changing_shapes():
    """The last, smaller batch (drop_last=False) gets a buffer of its own shape; so does a change of image size."""
    loader = ProcessBatchLoader(_Numbers(num=10, shape_of=lambda i: (2, 4, 4) if i < 8 else (2, 5, 5)), 4, 1)
    batches = list(loader)
    assert [tuple(images.shape) for images, _ in batches] == [(4, 2, 4, 4), (4, 2, 4, 4), (2, 2, 5, 5)]
    for batch in batches:
        _check(batch)
    dropped = list(ProcessBatchLoader(_Numbers(num=10), 4, 1, drop_last=True))
    assert [len(labels) for _, labels in dropped] == [4, 4]


def test_examples_that_are_not_all_tensors_are_collated_as_usual():
    batches = list(ProcessBatchLoader(_Numbers(num=8, plain_labels=True), 4, 1))
    assert [labels.tolist() for _, labels in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    for batch in batches:
        _check(batch)


def test_a_new_pass_starts_new_workers_with_their_own_buffers():
    loader = ProcessBatchLoader(_Numbers(num=16), 4, 2)
    first = [labels.clone() for _, labels in loader]
    held = list(loader)  # the second pass's batches, all kept
    for batch in held:
        _check(batch)
    assert sorted(torch.cat(first).tolist()) == sorted(torch.cat([b[1] for b in held]).tolist()) == list(range(16))


def test_bad_arguments_and_plain_dataloader_cases():
    with pytest.raises(ValueError, match="num_workers >= 1"):
        ProcessBatchLoader(_Numbers(), 4, 0)
    with pytest.raises(ValueError, match="collate_fn"):
        ProcessBatchLoader(_Numbers(), 4, 1, collate_fn=torch.utils.data.default_collate)
    with pytest.raises(ValueError, match="buffers_per_worker"):
        ProcessBatchLoader(_Numbers(), 4, 1, buffers_per_worker=-1)
    assert isinstance(make_process_loader(_Numbers(), 4, 0, None), torch.utils.data.DataLoader)
    custom = make_process_loader(_Numbers(num=8), 4, 1, lambda examples: len(examples))
    assert isinstance(custom, torch.utils.data.DataLoader)
    assert list(custom) == [4, 4]
    assert isinstance(make_process_loader(_Numbers(), 4, 2, None), ProcessBatchLoader)
