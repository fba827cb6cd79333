"""The exceptions raised when a TF checkpoint cannot be found or read.

They subclass the built-in exceptions callers already catch (``FileNotFoundError``, ``ValueError``, ``KeyError``),
so code that handles "no checkpoint" or "bad checkpoint" generically keeps working.
"""

from __future__ import annotations

__all__ = [
    "CheckpointNotFoundError",
    "CheckpointFormatError",
    "DataLossError",
    "TensorNotFoundError",
]


class CheckpointNotFoundError(FileNotFoundError):
    """A path names no TF checkpoint, or a file a checkpoint needs (a data shard) is missing."""


class CheckpointFormatError(ValueError):
    """A file is not in the format expected (bad magic number, truncated, unknown dtype, malformed record)."""


class DataLossError(CheckpointFormatError):
    """Stored bytes do not match their checksum (TF's ``DataLossError``): the file is corrupt."""


class TensorNotFoundError(KeyError):
    """A tensor name that the checkpoint does not hold."""

    def __str__(self) -> str:  # KeyError would show the message with quotes around it
        return str(self.args[0]) if self.args else ""
