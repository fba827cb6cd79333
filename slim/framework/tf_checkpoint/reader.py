"""`CheckpointReader`: one reader for every kind of TF checkpoint path, with TF's reader API.

A path may be a V2 prefix (``model.ckpt-1000`` for ``model.ckpt-1000.index`` + ``.data-*``), the ``.index`` or a
``.data-*`` file of one, a V1 file (``inception_v3.ckpt``), a V1 shard pattern, or a directory whose ``checkpoint``
file names the latest checkpoint. When a path is none of these the error says what was found there instead (an
archive still to be extracted, a ``.meta`` graph file, slim's own safetensors format, ...).
"""

from __future__ import annotations

import difflib
import glob
import os
import re
import struct

import numpy as np

from .bundle import BundleReader
from .errors import CheckpointFormatError, CheckpointNotFoundError, TensorNotFoundError
from .sstable import FOOTER_SIZE, TABLE_MAGIC
from .state import CHECKPOINT_STATE_FILE, V1_SHARD_PATTERN, checkpoint_exists, read_checkpoint_state
from .v1 import TensorSliceReader

__all__ = [
    "CheckpointReader",
    "open_checkpoint",
    "load_checkpoint",
    "list_variables",
    "load_variable",
    "resolve_checkpoint_path",
]

_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")
_SLIM_SUFFIX = ".safetensors"  # slim's own checkpoint format


def _describe_file(path: str) -> str:
    """What a file that is not a TF checkpoint looks like, and what to do with it."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(512)
    if path.endswith(".meta"):
        prefix = path[: -len(".meta")]
        return (
            f"a MetaGraphDef (the graph, not the variables); the variables are in {prefix}.index + "
            f"{prefix}.data-* (V2) or {prefix} (V1): pass {prefix}"
        )
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive (a model-zoo .tar.gz?): extract it (tar xzf) and pass the .ckpt file inside"
    if head[257:262] == b"ustar":
        return "a tar archive: extract it (tar xf) and pass the .ckpt file inside"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a PyTorch .pt/.pth or numpy .npz file?), not a TF checkpoint"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (Keras .h5 weights?), not a TF checkpoint"
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack_from("<Q", head)[0] < size:
        return (
            "a safetensors file, which is slim's own checkpoint format: read it with slim.framework.checkpoint or "
            "slim.assign_from_checkpoint"
        )
    if size < FOOTER_SIZE:
        return f"a {size}-byte file, too short to be a TF checkpoint (truncated?)"
    return f"a {size}-byte file that does not end with the SSTable magic number (starts with {head[:16]!r})"


def _is_sstable(path: str) -> bool:
    size = os.path.getsize(path)
    if size < FOOTER_SIZE:
        return False
    with open(path, "rb") as handle:
        handle.seek(size - 8)
        return struct.unpack("<Q", handle.read(8))[0] == TABLE_MAGIC


def _not_found(path: str) -> CheckpointNotFoundError:
    """An error for a path where nothing exists, listing the files it might have meant."""
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        return CheckpointNotFoundError(f"No TF checkpoint at {path}: directory {parent} does not exist.")
    base = os.path.basename(path)
    similar = sorted(f for f in os.listdir(parent) if f.startswith(base))
    if any(f.startswith(base + ".data-") and _DATA_SUFFIX.search(f) for f in similar):  # (.index is missing)
        return CheckpointNotFoundError(
            f"No TF checkpoint at {path}: found its data shard(s) {similar[:5]} but not {path}.index, which V2 "
            "checkpoints need. Copy the .index file as well."
        )
    if similar:
        return CheckpointNotFoundError(
            f"No TF checkpoint at {path}. Files in {parent} starting with that name: {similar[:10]}. A V2 "
            "checkpoint is named by its prefix (the path without .index / .data-*), a V1 checkpoint by its file."
        )
    prefixes = sorted(f[: -len(".index")] for f in os.listdir(parent) if f.endswith(".index"))
    hint = f" Checkpoint prefixes in {parent}: {prefixes[:10]}." if prefixes else ""
    return CheckpointNotFoundError(f"No TF checkpoint at {path}: no such file or directory.{hint}")


def _resolve_directory(directory: str) -> str:
    checkpoint_state = read_checkpoint_state(directory)
    state_file = os.path.join(directory, CHECKPOINT_STATE_FILE)
    if checkpoint_state is None or not checkpoint_state.model_checkpoint_path:
        found = sorted(f[: -len(".index")] for f in os.listdir(directory) if f.endswith(".index"))
        found += sorted(f for f in os.listdir(directory) if f.endswith(".ckpt"))
        what = "has no" if checkpoint_state is None else "has an empty"
        hint = f" Checkpoints found there: {found[:10]}." if found else " No checkpoint files found there either."
        raise CheckpointNotFoundError(
            f"Directory {directory} {what} '{CHECKPOINT_STATE_FILE}' file naming its latest checkpoint; pass a "
            f"checkpoint prefix or file instead.{hint}"
        )
    named = checkpoint_state.model_checkpoint_path
    for candidate in (named, os.path.join(directory, os.path.basename(named))):
        if checkpoint_exists(candidate):
            return candidate
    raise CheckpointNotFoundError(
        f"{state_file} names checkpoint {named}, which does not exist (nor does "
        f"{os.path.join(directory, os.path.basename(named))}): it was deleted or moved."
    )


def resolve_checkpoint_path(path: str | os.PathLike) -> tuple[str, str, list[str]]:
    """Works out which checkpoint ``path`` means.

    Returns:
        ``(format, name, files)``: ``"V2"``, the prefix, ``[index file]``; or ``"V1"``, the path, its file(s).

    Raises:
        CheckpointNotFoundError: nothing usable at ``path``; the message lists what is there.
        CheckpointFormatError: ``path`` is a file but not a TF checkpoint; the message says what it looks like.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = _resolve_directory(path)
    if path.endswith(".index") and os.path.isfile(path):
        return "V2", path[: -len(".index")], [path]
    match = _DATA_SUFFIX.search(path)
    if match and os.path.isfile(path):
        prefix = path[: match.start()]
        return "V2", prefix, [prefix + ".index"]
    if os.path.isfile(path + ".index"):
        return "V2", path, [path + ".index"]
    if os.path.isfile(path):
        if path.endswith(".meta") or not _is_sstable(path):
            raise CheckpointFormatError(f"{path} is not a TF checkpoint: it is {_describe_file(path)}.")
        return "V1", path, [path]
    if glob.has_magic(path):
        shards = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if shards:
            return "V1", path, shards
    shards = sorted(p for p in glob.glob(glob.escape(path) + V1_SHARD_PATTERN) if os.path.isfile(p))
    if shards:
        return "V1", path, shards
    if os.path.isfile(path + _SLIM_SUFFIX):
        raise CheckpointFormatError(
            f"{path} is a checkpoint in slim's own format ({path + _SLIM_SUFFIX}), not a TF checkpoint: read it with "
            "slim.framework.checkpoint or slim.assign_from_checkpoint."
        )
    raise _not_found(path)


class CheckpointReader:
    """Reads a TF checkpoint (V1 or V2) without TensorFlow, with the API of TF's ``CheckpointReader``.

    Example:
        >>> reader = CheckpointReader("inception_v3.ckpt")
        >>> reader.get_variable_to_shape_map()["InceptionV3/Conv2d_1a_3x3/weights"]
        [3, 3, 3, 32]
        >>> weights = reader.get_tensor("InceptionV3/Conv2d_1a_3x3/weights")  # numpy, TF layout (HWIO)

    Values come back in TF's layout and dtype, with two exceptions numpy forces: ``bfloat16`` tensors come back as
    ``float32`` (exactly), string tensors as object arrays of ``bytes``.

    Args:
        path: a V2 prefix, ``.index`` or ``.data-*`` file; a V1 file or shard pattern; or a directory with a
            ``checkpoint`` file (its ``model_checkpoint_path``, relative to the directory or absolute).

    Attributes:
        path: the checkpoint's prefix (V2) or file / pattern (V1).
        format: ``"V1"`` or ``"V2"``.

    Raises:
        CheckpointNotFoundError: no checkpoint at ``path``, or a data shard is missing.
        CheckpointFormatError: not a checkpoint, or a malformed one (the message says which file and what).
    """

    def __init__(self, path: str | os.PathLike):
        checkpoint_format, name, files = resolve_checkpoint_path(path)
        self.path = name
        self.format = checkpoint_format
        self._impl = BundleReader(name) if checkpoint_format == "V2" else TensorSliceReader(files, name)
        self._names = self._impl.names()
        self._name_set = set(self._names)

    def __repr__(self) -> str:
        return f"CheckpointReader({self.path!r}, format={self.format}, {len(self._names)} tensors)"

    def __contains__(self, name: object) -> bool:
        return name in self._name_set

    def has_tensor(self, name: str) -> bool:
        """Whether the checkpoint holds a tensor called ``name``."""
        return name in self._name_set

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        """``{name: shape}`` for every tensor (shapes as lists, as TF returns them)."""
        return {name: list(self._impl.shape(name)) for name in self._names}

    def get_variable_to_dtype_map(self) -> dict[str, str]:
        """``{name: dtype}`` with TF's dtype names (``"float32"``, ``"int64"``, ``"bfloat16"``, ``"string"``)."""
        return {name: self._impl.dtype_name(name) for name in self._names}

    def list_variables(self) -> list[tuple[str, list[int]]]:
        """``[(name, shape)]`` sorted by name, as ``tf.train.list_variables``."""
        return [(name, list(self._impl.shape(name))) for name in self._names]

    def get_tensor(self, name: str) -> np.ndarray:
        """The value of tensor ``name`` as a numpy array in TF's layout.

        Raises:
            TensorNotFoundError: (a ``KeyError``) no such tensor; the message suggests similar names.
            DataLossError: the stored bytes fail their checksum; the message names the tensor and file.
            CheckpointFormatError: unsupported dtype or malformed data.
        """
        if name not in self._name_set:
            close = difflib.get_close_matches(name, self._names, n=3)
            hint = f" Similar names: {close}." if close else ""
            raise TensorNotFoundError(
                f"Tensor {name} is not in checkpoint {self.path} ({len(self._names)} tensors).{hint}"
            )
        return self._impl.get_tensor(name)


def open_checkpoint(path: str | os.PathLike) -> CheckpointReader:
    """A :class:`CheckpointReader` for ``path`` (a prefix, file or directory)."""
    return CheckpointReader(path)


def load_checkpoint(ckpt_dir_or_file: str | os.PathLike) -> CheckpointReader:
    """Same as :func:`open_checkpoint`; named after ``tf.train.load_checkpoint``."""
    return CheckpointReader(ckpt_dir_or_file)


def list_variables(ckpt_dir_or_file: str | os.PathLike) -> list[tuple[str, list[int]]]:
    """``[(name, shape)]`` of a checkpoint, sorted by name, as ``tf.train.list_variables``."""
    return CheckpointReader(ckpt_dir_or_file).list_variables()


def load_variable(ckpt_dir_or_file: str | os.PathLike, name: str) -> np.ndarray:
    """One tensor of a checkpoint, as ``tf.train.load_variable`` (a trailing ``:0`` is ignored)."""
    if name.endswith(":0"):
        name = name[:-2]
    return CheckpointReader(ckpt_dir_or_file).get_tensor(name)
