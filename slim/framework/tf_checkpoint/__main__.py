"""Command line: inspect a TF checkpoint without TensorFlow.

    python -m slim.framework.tf_checkpoint list PATH     # name, shape, dtype of every tensor
    python -m slim.framework.tf_checkpoint verify PATH   # read every tensor, checking checksums

PATH is a V2 prefix, a V1 file (e.g. inception_v3.ckpt) or a training directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from .errors import CheckpointFormatError, CheckpointNotFoundError
from .reader import CheckpointReader

__all__ = ["main"]


def _list(reader: CheckpointReader) -> int:
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    rows = [(name, str(shapes[name]), dtypes[name]) for name, _ in reader.list_variables()]
    name_width = max((len(r[0]) for r in rows), default=4)
    shape_width = max((len(r[1]) for r in rows), default=5)
    print(f"# {reader.path} (TF {reader.format} checkpoint)")
    for name, shape, dtype in rows:
        print(f"{name:<{name_width}}  {shape:<{shape_width}}  {dtype}")
    count = sum(int(np.prod(shape, dtype=np.int64)) for shape in shapes.values())
    print(f"# {len(rows)} tensors, {count:,} values")
    return 0


def _verify(reader: CheckpointReader) -> int:
    failures = 0
    names = [name for name, _ in reader.list_variables()]
    for name in names:
        try:
            reader.get_tensor(name)
        except CheckpointFormatError as error:
            failures += 1
            print(f"FAILED {name}: {error}", file=sys.stderr)
    print(f"# {reader.path}: {len(names) - failures} of {len(names)} tensors read and verified")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 corrupt tensors, 2 unusable path)."""
    parser = argparse.ArgumentParser(
        prog="python -m slim.framework.tf_checkpoint", description="Inspect a TF checkpoint without TensorFlow."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command, help_text in (
        ("list", "print name, shape and dtype of every tensor"),
        ("verify", "read every tensor, checking its checksum"),
    ):
        sub = commands.add_parser(command, help=help_text)
        sub.add_argument("path", help="V2 checkpoint prefix, V1 checkpoint file, or training directory")
    args = parser.parse_args(argv)
    try:
        reader = CheckpointReader(args.path)
    except (CheckpointNotFoundError, CheckpointFormatError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _list(reader) if args.command == "list" else _verify(reader)


if __name__ == "__main__":
    sys.exit(main())
