"""When a batch buffer may be written again: only its owner (a pool) still refers to its memory.

Both batch pipelines reuse a few batch buffers instead of allocating one per batch
(:mod:`slim.data.thread_batching` in this process, :mod:`slim.data.process_batching` across worker processes). A
buffer is free once no tensor, view or numpy array of the batch handed out is left: the reference count of the
buffer's storage then covers only the owner's tensor.
"""

from __future__ import annotations

import torch

__all__ = ["only_owner_refers_to"]

# ``_storage_Use_Count`` is what inductor's CUDA-graph trees use for the same question; without it (an older or
# different torch) buffers are simply never reused.
_storage_use_count = getattr(torch._C, "_storage_Use_Count", None)
# The owner's tensor plus the temporary ``untyped_storage()`` object used to ask.
_OWNER_ONLY = 2


def only_owner_refers_to(buffer: torch.Tensor) -> bool:
    """Whether ``buffer`` (the owner's own tensor object) is the only tensor left on its memory."""
    if _storage_use_count is None:
        return False
    return _storage_use_count(buffer.untyped_storage()._cdata) <= _OWNER_ONLY
