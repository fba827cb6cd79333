"""Batches made by a pool of threads in the calling process: ``tf.train.batch``'s ``num_threads``, literally.

A feeder thread reads the records of this process's shard (sharded by distributed rank, shuffled through the
buffer), hands each one to a pool of ``num_threads`` threads that decode and transform it (preprocessing), and
assembles the results, in reading order, into batches that wait in a small queue for the consumer.

Why threads (measured in docs/performance.md): the expensive parts, JPEG decoding and slim's preprocessing, release
the GIL, a thread hands its result over by reference, nothing is pickled, and a seeded stream is the same for any
number of threads. Batches are stacked into a small pool of reused buffers: a buffer is written again only once
nothing outside the pool refers to its memory (no tensor, view or array of a batch you still hold). Worker processes
(:func:`slim.data.batching.batch` with ``workers="processes"``, :mod:`slim.data.process_batching`) are the better
choice for transforms that hold the GIL (pure-Python image code) and for feeding a training loop in this process,
which otherwise shares the GIL with the preprocessing threads.

Reproducibility: examples are numbered in reading order; example ``n`` is transformed with a ``torch.Generator``
seeded from ``(seed, rank, n)`` (when the transform takes a ``generator`` keyword, as slim's preprocessing does),
and batches are assembled in reading order. So a seeded stream is the same for any number of threads.
"""

from __future__ import annotations

import atexit
import collections
import queue
import random
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch

from slim.data.buffer_reuse import only_owner_refers_to
from slim.data.record_dataset import RecordDataset
from slim.data.sharding import derive_seed

__all__ = ["ThreadBatchLoader"]


class _BufferPool:
    """Batch buffers reused once nothing outside the pool refers to their memory (at most ``size`` kept)."""

    def __init__(self, size: int, pin_memory: bool) -> None:
        self._buffers: collections.deque[torch.Tensor] = collections.deque(maxlen=size)
        self._pin_memory = pin_memory

    def stack(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        """``torch.stack(tensors)`` written into a free buffer; returns a new tensor object sharing its memory."""
        first = tensors[0]
        shape = (len(tensors), *first.shape)
        buffer = next(
            (
                candidate
                for candidate in self._buffers
                if candidate.shape == shape and candidate.dtype == first.dtype and only_owner_refers_to(candidate)
            ),
            None,
        )
        if buffer is None:
            buffer = torch.empty(shape, dtype=first.dtype, pin_memory=self._pin_memory)
            self._buffers.append(buffer)
        torch.stack(tensors, out=buffer)
        # The consumer gets its own tensor object: its reference to the memory is what keeps the buffer taken.
        return buffer.detach()


class _Finished:
    """The feeder's last message: the stream ended, or ``error`` stopped it."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ThreadBatchLoader:
    """An iterable of batches from ``dataset``, decoded and transformed by ``num_threads`` threads.

    Args:
      dataset: The record stream (:class:`slim.data.record_dataset.RecordDataset`, with a decoder).
      batch_size: Examples per batch.
      num_threads: Threads decoding and transforming (0: all of it in the consumer's thread, when it asks).
      capacity: Examples being prepared at once (TF's batch queue capacity); default two batches.
      allow_smaller_final_batch: Keep the last, smaller batch of a finite stream.
      seed: Seeds every example's generator (mixed with ``rank``); None draws a random base seed.
      rank: The distributed rank, so that ranks draw different augmentations.
      pin_memory: Page-locked batch buffers (faster copies to a GPU; ignored without CUDA).
      collate_fn: How to make a batch from a list of examples; default: tensors are stacked (into reused buffers),
        other values collated by ``torch.utils.data.default_collate``.
      prefetch_batches: Finished batches waiting for the consumer.

    Each ``iter()`` starts a new pass with its own threads; they stop when the stream ends, on an error (raised in
    the consumer, naming the record when decoding failed), or when the iterator is closed or dropped.
    """

    def __init__(
        self,
        dataset: RecordDataset,
        batch_size: int,
        num_threads: int = 1,
        capacity: int | None = None,
        allow_smaller_final_batch: bool = False,
        seed: int | None = None,
        rank: int = 0,
        pin_memory: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        prefetch_batches: int = 2,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1.")
        if num_threads < 0:
            raise ValueError(f"num_threads={num_threads} must be >= 0 (0 works in the consumer's thread).")
        if prefetch_batches < 1:
            raise ValueError(f"prefetch_batches={prefetch_batches} must be >= 1.")
        if not isinstance(dataset, RecordDataset) or dataset.decoder is None:
            raise ValueError(
                "Preprocessing threads need a RecordDataset with a decoder (e.g. from DatasetDataProvider); for "
                f"other datasets ({type(dataset).__name__}) use worker processes (workers='processes')."
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.capacity = max(capacity or 2 * batch_size, batch_size, 2 * num_threads)
        self.allow_smaller_final_batch = allow_smaller_final_batch
        self.seed = seed
        self.rank = rank
        self.pin_memory = pin_memory and torch.cuda.is_available()
        self.collate_fn = collate_fn
        self.prefetch_batches = prefetch_batches

    def _example_seeds(self) -> Iterator[int]:
        """The seed of each example's generator, in reading order (distinct in their low 32 bits, which mt19937
        uses, for 2**32 examples)."""
        base = derive_seed(self.seed, self.rank, 0x7EAD) if self.seed is not None else random.getrandbits(64)
        index = 0
        while True:
            yield (base + index) % 2**64
            index += 1

    def _collate(self, examples: list[Any], pool: _BufferPool) -> Any:
        if self.collate_fn is not None:
            return self.collate_fn(examples)
        if not isinstance(examples[0], (tuple, list)):
            return torch.utils.data.default_collate(examples)
        batch = []
        for position, values in enumerate(zip(*examples)):
            if all(isinstance(value, torch.Tensor) for value in values):
                shapes = {tuple(value.shape) for value in values}
                if len(shapes) > 1:
                    raise ValueError(
                        f"Item {position} of the examples has different shapes within one batch: {sorted(shapes)}; "
                        "preprocess to a fixed size (or pass a collate_fn)."
                    )
                batch.append(pool.stack(list(values)))
            else:
                batch.append(torch.utils.data.default_collate(list(values)))
        return batch

    def __iter__(self) -> Iterator[Any]:
        if self.num_threads == 0:
            return self._batches_in_this_thread()
        return _BatchIterator(self)

    def _batches_in_this_thread(self) -> Iterator[Any]:
        pool = _BufferPool(4, self.pin_memory)
        seeds = self._example_seeds()
        generator = torch.Generator() if self.dataset.transform_takes_generator else None
        examples = []
        for key, record in self.dataset.records():
            if generator is not None:
                generator.manual_seed(next(seeds))
            examples.append(self.dataset.example(key, record, generator))
            if len(examples) == self.batch_size:
                yield self._collate(examples, pool)
                examples = []
        if examples and self.allow_smaller_final_batch:
            yield self._collate(examples, pool)


class _Pipeline:
    """State shared by the consumer's iterator and the feeder thread (the feeder never refers to the iterator, so
    dropping the iterator stops the threads)."""

    def __init__(self, prefetch_batches: int) -> None:
        self.batches: queue.Queue[Any] = queue.Queue(maxsize=prefetch_batches)
        self.stop = threading.Event()
        _live_pipelines.add(self)

    def put(self, item: Any) -> bool:
        """Queues ``item`` for the consumer; False if the consumer has gone."""
        while not self.stop.is_set():
            try:
                self.batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


# Interpreter exit with a pipeline still running (a script that stops reading before the end of its batches): the
# threads must be stopped and joined before Python finalizes. A daemon thread that is inside a torch op at that
# moment is killed when it returns (pthread_exit unwinding through C++), which aborts the process ("terminate called
# without an active exception"). So the feeder is an ordinary thread, and a hook that runs when the main thread
# ends, before the interpreter joins the remaining threads, tells every pipeline to stop (as concurrent.futures does
# for its own workers). Without that hook (a Python lacking it) the feeder stays a daemon thread.
_live_pipelines: weakref.WeakSet[_Pipeline] = weakref.WeakSet()


def _stop_all_pipelines() -> None:
    for pipeline in list(_live_pipelines):
        pipeline.stop.set()


_register_before_join = getattr(threading, "_register_atexit", None)
if _register_before_join is not None:
    _register_before_join(_stop_all_pipelines)
else:  # pragma: no cover - every CPython from 3.9 has the hook
    atexit.register(_stop_all_pipelines)


def _thread_generator(local: threading.local) -> torch.Generator:
    generator = getattr(local, "generator", None)
    if generator is None:
        generator = local.generator = torch.Generator()
    return generator


def _feed(loader: ThreadBatchLoader, pipeline: _Pipeline, pool: ThreadPoolExecutor) -> None:
    """The feeder thread: records -> pool of preprocessing threads -> batches in reading order -> queue."""
    dataset = loader.dataset
    takes_generator = dataset.transform_takes_generator
    local = threading.local()

    def prepare(key: str, record: bytes, seed: int) -> Any:
        generator = None
        if takes_generator:
            generator = _thread_generator(local)
            generator.manual_seed(seed)
        return dataset.example(key, record, generator)

    pending: collections.deque[Future] = collections.deque()
    try:
        buffers = _BufferPool(loader.prefetch_batches + 3, loader.pin_memory)
        records = zip(dataset.records(), loader._example_seeds())

        def submit_next() -> bool:
            entry = next(records, None)
            if entry is None:
                return False
            (key, record), seed = entry
            pending.append(pool.submit(prepare, key, record, seed))
            return True

        more = True
        while more and len(pending) < loader.capacity:
            more = submit_next()
        examples = []
        while pending and not pipeline.stop.is_set():
            examples.append(pending.popleft().result())
            if more:
                more = submit_next()
            if len(examples) == loader.batch_size:
                if not pipeline.put(loader._collate(examples, buffers)):
                    return
                examples = []
        if examples and loader.allow_smaller_final_batch and not pipeline.stop.is_set():
            if not pipeline.put(loader._collate(examples, buffers)):
                return
        pipeline.put(_Finished())
    except BaseException as error:  # noqa: BLE001 - every failure is handed to the consumer, who raises it
        pipeline.put(_Finished(error))
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _start_preprocessing_threads(num_threads: int) -> ThreadPoolExecutor:
    """A pool of ``num_threads`` started threads, each running torch ops on one thread of its own.

    The pool is the parallelism, so each of its threads sets one torch (OpenMP) thread for itself. But
    ``torch.set_num_threads`` also changes the count that threads not yet using torch start with (the caller's
    included, if it has not run an op yet): so the caller's count is read first, the pool's threads are started and
    set up before returning, and the caller's count is set again, leaving training's threads as they were.
    """
    threads_here = torch.get_num_threads()
    started = threading.Barrier(num_threads + 1)
    pool = ThreadPoolExecutor(
        num_threads, thread_name_prefix="slim-preprocess", initializer=torch.set_num_threads, initargs=(1,)
    )
    for _ in range(num_threads):
        pool.submit(started.wait, 60)  # blocks each new thread until all exist, so the pool starts all of them
    started.wait(60)
    torch.set_num_threads(threads_here)
    return pool


class _BatchIterator:
    """The consumer's side: takes finished batches from the queue; closing or dropping it stops the threads."""

    def __init__(self, loader: ThreadBatchLoader) -> None:
        self._pipeline = _Pipeline(loader.prefetch_batches)
        pool = _start_preprocessing_threads(loader.num_threads)
        self._thread = threading.Thread(target=_feed, args=(loader, self._pipeline, pool), name="slim-batch-feeder")
        self._thread.daemon = _register_before_join is None
        self._thread.start()
        self._done = False
        weakref.finalize(self, self._pipeline.stop.set)

    def __iter__(self) -> _BatchIterator:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._pipeline.batches.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._thread.is_alive():
                    self.close()
                    raise RuntimeError("The batch feeder thread stopped without a result.") from None
        if isinstance(item, _Finished):
            self.close()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stops the feeder and preprocessing threads (batches not yet taken are dropped)."""
        self._done = True
        self._pipeline.stop.set()
