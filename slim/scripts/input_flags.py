"""The input-pipeline flags that train_image_classifier and eval_image_classifier share (defined once here)."""

from __future__ import annotations

from slim.scripts.flagspec import Flag

__all__ = ["PREPROCESSING_FLAGS"]

PREPROCESSING_FLAGS = (
    Flag(
        "num_preprocessing_threads",
        4,
        "integer",
        "The number of threads used to create the batches (or worker processes, see --preprocessing_workers).",
    ),
    Flag(
        "preprocessing_workers",
        "processes",
        "string",
        "What runs the num_preprocessing_threads workers: 'processes' (DataLoader worker processes that hand "
        "batches over in reused shared memory; the fastest, and the training loop keeps the GIL to itself) or "
        "'threads' (TF's meaning: threads in this process; nothing is pickled, and a seeded stream is the same "
        "for any thread count). Measurements: docs/performance.md.",
    ),
)
