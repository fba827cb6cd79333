"""Read and write TensorFlow checkpoints without TensorFlow (V1 single-file and V2 index + data formats).

Reading: :func:`open_checkpoint` (or :class:`CheckpointReader`) takes a V2 prefix, a V1 file such as the model-zoo
``inception_v3.ckpt``, or a training directory, and returns numpy arrays in TF's layout, every V2 tensor's checksum
verified. Writing: :func:`write_v2_checkpoint` writes a V2 checkpoint that TF loads. Names and layouts are passed
through unchanged; mapping them onto slim's variables is the job of :mod:`slim.framework.restore`.

    python -m slim.framework.tf_checkpoint list inception_v3.ckpt

Modules: ``sstable`` (the table format of the index and of V1 files), ``ordered_code`` and ``slices`` (slice keys),
``protos`` (the checkpoint protobuf messages), ``dtypes`` (value layouts), ``bundle`` (V2), ``v1`` (V1),
``state`` (the ``checkpoint`` file), ``reader`` (path resolution and the public reader).
"""

from .bundle import write_v2_checkpoint
from .errors import CheckpointFormatError, CheckpointNotFoundError, DataLossError, TensorNotFoundError
from .reader import (
    CheckpointReader,
    list_variables,
    load_checkpoint,
    load_variable,
    open_checkpoint,
    resolve_checkpoint_path,
)
from .state import checkpoint_exists, latest_checkpoint, read_checkpoint_state, update_checkpoint_state

__all__ = [
    "CheckpointReader",
    "open_checkpoint",
    "load_checkpoint",
    "list_variables",
    "load_variable",
    "resolve_checkpoint_path",
    "latest_checkpoint",
    "checkpoint_exists",
    "read_checkpoint_state",
    "update_checkpoint_state",
    "write_v2_checkpoint",
    "CheckpointNotFoundError",
    "CheckpointFormatError",
    "DataLossError",
    "TensorNotFoundError",
]
