"""The ``checkpoint`` text file of a TF training directory, and finding the latest checkpoint in it.

TF's Saver keeps a ``CheckpointState`` (protobuf text format) in ``<dir>/checkpoint``:

    model_checkpoint_path: "model.ckpt-1000"
    all_model_checkpoint_paths: "model.ckpt-900"
    all_model_checkpoint_paths: "model.ckpt-1000"

Paths are relative to the directory, or absolute. Absolute paths break when a directory is copied elsewhere, so
:func:`latest_checkpoint` also tries the file name inside the directory itself.
"""

from __future__ import annotations

import glob
import os
import secrets

from google.protobuf import text_format

from .errors import CheckpointFormatError
from .protos import CheckpointState

__all__ = [
    "CHECKPOINT_STATE_FILE",
    "read_checkpoint_state",
    "update_checkpoint_state",
    "checkpoint_exists",
    "latest_checkpoint",
]

CHECKPOINT_STATE_FILE = "checkpoint"
V1_SHARD_PATTERN = "-?????-of-?????"  # how a sharded V1 save names its files


def read_checkpoint_state(
    directory: str | os.PathLike, latest_filename: str = CHECKPOINT_STATE_FILE
) -> CheckpointState | None:
    """The directory's ``CheckpointState`` with every path made absolute, or None if it has no such file.

    Raises:
        CheckpointFormatError: the file exists but is not a text-format ``CheckpointState``.
    """
    directory = os.fspath(directory)
    path = os.path.join(directory, latest_filename)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    try:
        checkpoint_state = text_format.Parse(text, CheckpointState(), allow_unknown_field=True)
    except text_format.ParseError as error:
        raise CheckpointFormatError(
            f"{path} is not a TF checkpoint state file (expected lines like "
            f'model_checkpoint_path: "model.ckpt-1000"): {error}'
        ) from None

    def absolute(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(directory, p)

    if checkpoint_state.model_checkpoint_path:
        checkpoint_state.model_checkpoint_path = absolute(checkpoint_state.model_checkpoint_path)
    paths = [absolute(p) for p in checkpoint_state.all_model_checkpoint_paths]
    del checkpoint_state.all_model_checkpoint_paths[:]
    checkpoint_state.all_model_checkpoint_paths.extend(paths)
    return checkpoint_state


def checkpoint_exists(prefix: str | os.PathLike) -> bool:
    """Whether a TF checkpoint exists at ``prefix``: a V2 index, a V1 file, or V1 shards matching it."""
    prefix = os.fspath(prefix)
    if os.path.isfile(prefix + ".index") or os.path.isfile(prefix):
        return True
    if glob.has_magic(prefix) and any(os.path.isfile(p) for p in glob.glob(prefix)):
        return True
    return any(os.path.isfile(p) for p in glob.glob(glob.escape(prefix) + V1_SHARD_PATTERN))


def latest_checkpoint(directory: str | os.PathLike, latest_filename: str = CHECKPOINT_STATE_FILE) -> str | None:
    """The prefix of the latest TF checkpoint of a directory (as ``tf.train.latest_checkpoint``), or None.

    None when the directory has no ``checkpoint`` file, or the checkpoint it names does not exist (neither where it
    says nor, for a moved directory, under the same file name inside ``directory``).
    """
    directory = os.fspath(directory)
    checkpoint_state = read_checkpoint_state(directory, latest_filename)
    if checkpoint_state is None or not checkpoint_state.model_checkpoint_path:
        return None
    path = checkpoint_state.model_checkpoint_path
    for candidate in (path, os.path.join(directory, os.path.basename(path))):
        if checkpoint_exists(candidate):
            return candidate
    return None


def _stored_path(path: str, directory: str) -> str:
    """``path`` relative to ``directory`` when it lies inside it (so the directory can be moved), else absolute."""
    absolute = os.path.abspath(path)
    if os.path.dirname(absolute) == os.path.abspath(directory):
        return os.path.basename(absolute)
    return absolute


def update_checkpoint_state(
    directory: str | os.PathLike,
    model_checkpoint_path: str | os.PathLike,
    all_model_checkpoint_paths: list[str] | None = None,
    latest_filename: str = CHECKPOINT_STATE_FILE,
) -> None:
    """Points ``<directory>/checkpoint`` at ``model_checkpoint_path``, atomically.

    Args:
        directory: the training directory.
        model_checkpoint_path: prefix of the newest checkpoint.
        all_model_checkpoint_paths: every checkpoint to list, oldest first. If None: the ones the file already
            lists that still have files, then ``model_checkpoint_path``.
        latest_filename: name of the state file.
    """
    directory = os.fspath(directory)
    newest = os.fspath(model_checkpoint_path)
    if all_model_checkpoint_paths is None:
        old = read_checkpoint_state(directory, latest_filename)
        kept = [] if old is None else list(old.all_model_checkpoint_paths)
        kept = [p for p in kept if glob.glob(glob.escape(p) + "*") and os.path.abspath(p) != os.path.abspath(newest)]
        all_model_checkpoint_paths = [*kept, newest]
    checkpoint_state = CheckpointState(model_checkpoint_path=_stored_path(newest, directory))
    checkpoint_state.all_model_checkpoint_paths.extend(
        _stored_path(os.fspath(p), directory) for p in all_model_checkpoint_paths
    )
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, latest_filename)
    temporary = os.path.join(directory, f".{latest_filename}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text_format.MessageToString(checkpoint_state))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
