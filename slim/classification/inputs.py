"""Input pipelines of the scripts: records -> decoded image/label -> preprocessing -> batches (TF-Slim's
``DatasetDataProvider`` + ``tf.train.batch``), by preprocessing threads (default) or worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch

from slim.data import DatasetDataProvider
from slim.data.batching import WORKER_KINDS


class PreprocessExample:
    """``(image, label) -> (preprocessed CHW image, label - labels_offset)``; picklable for worker processes.

    ``generator`` (given by preprocessing threads, one seeded per example) drives the preprocessing's random choices.
    """

    def __init__(self, preprocess: Callable[..., torch.Tensor], image_size: int, labels_offset: int) -> None:
        self.preprocess = preprocess
        self.image_size = image_size
        self.labels_offset = labels_offset

    def __call__(
        self, image: Any, label: Any, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if generator is None:
            image = self.preprocess(image, self.image_size, self.image_size)
        else:
            image = self.preprocess(image, self.image_size, self.image_size, generator=generator)
        label = torch.as_tensor(label).reshape(()).long() - self.labels_offset
        return image, label


def validate_preprocessing_workers(flags: Mapping[str, Any]) -> None:
    """``--num_preprocessing_threads`` and ``--preprocessing_workers`` (shared by training and evaluation)."""
    if flags["num_preprocessing_threads"] < 0:
        raise ValueError(f"--num_preprocessing_threads must be >= 0, got {flags['num_preprocessing_threads']}.")
    if flags["preprocessing_workers"] not in WORKER_KINDS:
        raise ValueError(
            f"--preprocessing_workers must be one of {', '.join(WORKER_KINDS)}, got {flags['preprocessing_workers']!r}."
        )


def _pairs(loader: Iterable) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for images, labels in loader:
        yield images, labels.reshape(-1)


def training_batches(
    dataset: Any,
    preprocess: Callable[..., torch.Tensor],
    image_size: int,
    batch_size: int,
    num_readers: int = 4,
    num_threads: int = 4,
    labels_offset: int = 0,
    seed: int | None = None,
    workers: str = "threads",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled training batches, as train_image_classifier reads them (queue sizes 20x/10x the batch);
    ``workers`` is ``"threads"`` or ``"processes"`` (:mod:`slim.data.batching`)."""
    provider = DatasetDataProvider(
        dataset,
        num_readers=num_readers,
        common_queue_capacity=20 * batch_size,
        common_queue_min=10 * batch_size,
        seed=seed,
    )
    loader = provider.batch(
        ["image", "label"],
        batch_size,
        num_threads=num_threads,
        transform=PreprocessExample(preprocess, image_size, labels_offset),
        capacity=5 * batch_size,
        workers=workers,
    )
    return _pairs(loader)


def evaluation_batches(
    dataset: Any,
    preprocess: Callable[..., torch.Tensor],
    image_size: int,
    batch_size: int,
    num_threads: int = 4,
    labels_offset: int = 0,
    workers: str = "threads",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One exact pass over the split: every example once, the last batch possibly smaller."""
    provider = DatasetDataProvider(
        dataset,
        num_readers=1,
        shuffle=False,
        num_epochs=1,
        common_queue_capacity=2 * batch_size,
        common_queue_min=batch_size,
    )
    loader = provider.batch(
        ["image", "label"],
        batch_size,
        num_threads=num_threads,
        transform=PreprocessExample(preprocess, image_size, labels_offset),
        allow_smaller_final_batch=True,
        workers=workers,
    )
    return _pairs(loader)
