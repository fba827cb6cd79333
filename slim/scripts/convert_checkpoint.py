"""Converts checkpoints between TF-Slim's formats and ours, and lists any checkpoint's variables.

    python -m slim.scripts.convert_checkpoint tf_to_slim --input inception_v3.ckpt --output /tmp/iv3/model.ckpt-0 \
        --model_name inception_v3 --num_classes 1001
    python -m slim.scripts.convert_checkpoint slim_to_tf --input /tmp/train_dir --output /tmp/tf/model.ckpt-1000
    python -m slim.scripts.convert_checkpoint list inception_v3.ckpt

``tf_to_slim`` reads a TF checkpoint (V1 file, V2 prefix, or a directory), checks it against the network it is for
(every variable present with the right shape; a head or depth-multiplier mismatch names the fix) and writes our format
with the metadata that rebuilds the model (model name, classes, network arguments, global step). ``slim_to_tf``
writes a TF V2 checkpoint that TF-Slim's ``Saver.restore`` loads into the same network; it takes the network from
the checkpoint's metadata, or from the flags. ``ExponentialMovingAverage`` shadows go along in both directions;
optimizer state does not (TF's slot variables and PyTorch's optimizer state do not correspond).

Layouts differ (conv HWIO vs OIHW, dense [in, out] vs [out, in], depthwise ...), which is why both conversions
build the network: each of its variables knows the permutation between TF's layout and ours, the same one
``assign_from_checkpoint`` uses, so nothing is guessed from names or shapes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["ConversionResult", "build_network", "tf_to_slim", "slim_to_tf", "list_checkpoint", "main"]

EMA_SUFFIX = "/ExponentialMovingAverage"
_CLASS_PROBE = 17  # a class count no network's body uses: whatever has it in a probe build is the head


@dataclass
class ConversionResult:
    """What a conversion wrote: the output prefix, how many tensors, and what it left out (with the reason)."""

    prefix: str
    tensors: int
    metadata: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _parse_model_args(model_args: str | dict[str, Any] | None) -> dict[str, Any]:
    if model_args is None or model_args == "":
        return {}
    if isinstance(model_args, dict):
        return dict(model_args)
    example = "--model_args must be a JSON object such as '{\"depth_multiplier\": 0.5}'"
    try:
        parsed = json.loads(model_args)
    except json.JSONDecodeError as error:
        raise ValueError(f"{example}: {error}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{example}, got {model_args}")
    return parsed


def build_network(
    model_name: str,
    num_classes: int | None,
    model_args: dict[str, Any] | None = None,
    image_size: int | None = None,
    channels: int = 3,
) -> Any:
    """The factory network ``model_name`` (in eval mode) with its variables created, as the conversions need it.

    Args:
      model_name: a nets_factory name.
      num_classes: classes of the logits layer (0/None: none).
      model_args: further network arguments (e.g. ``{"depth_multiplier": 0.5}``).
      image_size: the size of the image the network is built on (default: the network's).
      channels: image channels (1 for grayscale training).
    """
    from slim.framework.module import Model
    from slim.nets import nets_factory

    spec = nets_factory.get_network_spec(model_name)
    if spec.is_video:
        raise ValueError(f"{model_name} is a video network: the converter handles image networks only.")
    kwargs = {**spec.kwargs, **(model_args or {})}
    # As nets_factory.get_network_fn, with the extra network arguments.
    model = Model(
        spec.fn, arg_scope=spec.arg_scope_fn(weight_decay=0.0), num_classes=num_classes, is_training=None, **kwargs
    )
    model.eval()
    model.network_name = model_name
    model.default_image_size = spec.default_image_size
    size = image_size or spec.default_image_size
    model.build(torch.zeros(1, channels, size, size))
    return model


def _infer_num_classes(source: Any, model_name: str, model_args: dict[str, Any], image_size: int | None) -> int:
    """The class count of the checkpoint's head: the dimension where a probe build has ``_CLASS_PROBE``."""
    store = build_network(model_name, _CLASS_PROBE, model_args, image_size).store
    head = [name for name in store.infos if _CLASS_PROBE in tuple(store.lookup(name).shape)]
    found = set()
    for name in head:
        if source.has(name):
            shape = source.shape_for(name, store, name)
            found |= {dim for dim, built in zip(shape, store.lookup(name).shape) if built == _CLASS_PROBE}
    if len(found) == 1:
        return found.pop()
    if not found:
        reason = f"it holds none of {model_name}'s logits variables ({', '.join(head[:2])}): is it of {model_name}?"
    else:
        reason = f"its logits variables disagree ({sorted(found)})"
    raise ValueError(f"Cannot read the class count from checkpoint {source.path}: {reason} Or pass --num_classes.")


def tf_to_slim(
    input_path: str | os.PathLike,
    output_prefix: str | os.PathLike,
    model_name: str,
    num_classes: int | None = None,
    model_args: str | dict[str, Any] | None = None,
    labels_offset: int | None = None,
    image_size: int | None = None,
    ignore_missing_vars: bool = False,
) -> ConversionResult:
    """Converts a TF checkpoint of network ``model_name`` into our format (see the module docstring).

    Args:
      input_path: a TF V1 file, V2 prefix, or a directory (its latest checkpoint).
      output_prefix: our checkpoint's prefix, e.g. ``/tmp/iv3/model.ckpt-0`` (``.safetensors`` is added and the
        directory's ``checkpoint`` index names it).
      model_name: the nets_factory name of the network the checkpoint is for.
      num_classes: classes of its logits layer (default: read from the checkpoint).
      model_args: further network arguments, a dict or its JSON (e.g. ``{"depth_multiplier": 0.5}``).
      labels_offset: recorded in the metadata (1 for 1000-class labels on a 1001-class checkpoint's dataset).
      image_size: recorded in the metadata and used to build the network (default: the network's).
      ignore_missing_vars: convert what is there instead of failing on network variables the checkpoint lacks.

    Raises:
      FileNotFoundError, ValueError: the messages name the file, and the variable with the fix.
    """
    from slim.framework import checkpoint as ours
    from slim.framework.restore import assign_from_checkpoint, open_any_checkpoint

    source = open_any_checkpoint(input_path)
    if not source.tf_layout:
        raise ValueError(f"{source.path} is already a slim checkpoint ({source.path}{ours.SUFFIX}), not a TF one.")
    args = _parse_model_args(model_args)
    if num_classes is None:
        num_classes = _infer_num_classes(source, model_name, args, image_size)
    model = build_network(model_name, num_classes, args, image_size)
    names = list(model.state_dict())
    _, tensors = assign_from_checkpoint(source.path, names, ignore_missing_vars, model=model)
    shadows = {f"{name}{EMA_SUFFIX}": name for name in names if source.has(f"{name}{EMA_SUFFIX}")}
    if shadows:
        tensors.update(assign_from_checkpoint(source.path, shadows, model=model)[1])
    global_step = int(np.asarray(source.get("global_step")).reshape(-1)[0]) if source.has("global_step") else 0
    metadata: dict[str, Any] = {
        "model_name": model_name,
        "num_classes": num_classes,
        "global_step": global_step,
        "converted_from": os.path.basename(source.path),
    }
    if args:
        metadata["model_args"] = args
    if labels_offset is not None:
        metadata["labels_offset"] = labels_offset
    if image_size is not None:
        metadata["image_size"] = image_size
    skipped = sorted(set(source.shapes) - set(tensors) - {"global_step"})
    prefix = ours.save_checkpoint(output_prefix, tensors, metadata, max_to_keep=None)
    return ConversionResult(prefix, len(tensors), metadata, skipped)


def _inverse(layout: Sequence[int]) -> list[int]:
    """The permutation that undoes ``layout`` (ours -> TF's)."""
    return [int(i) for i in np.argsort(layout)]


def slim_to_tf(
    input_path: str | os.PathLike,
    output_prefix: str | os.PathLike,
    model_name: str | None = None,
    num_classes: int | None = None,
    model_args: str | dict[str, Any] | None = None,
    image_size: int | None = None,
    model: Any = None,
) -> ConversionResult:
    """Writes our checkpoint ``input_path`` as a TF V2 checkpoint that TF-Slim restores into the same network.

    Args:
      input_path: our checkpoint (prefix, ``.safetensors`` file or train directory).
      output_prefix: the V2 prefix to write (``.index`` + ``.data-00000-of-00001``; the directory's ``checkpoint``
        file names it).
      model_name, num_classes, model_args, image_size: the network (default: the checkpoint's metadata).
      model: a built ``slim.Model`` to take the layouts from instead (for networks outside the factory).

    Raises:
      FileNotFoundError, ValueError: no such checkpoint, no way to know the network, or a tensor that does not fit
        it (the message names the file and the tensor).
    """
    from slim.framework import checkpoint as ours
    from slim.framework.tf_checkpoint import write_v2_checkpoint

    data = ours.read_checkpoint(input_path)
    meta = data.metadata
    if model is None:
        model_name = model_name or meta.get("model_name")
        if not model_name:
            raise ValueError(
                f"{data.path}{ours.SUFFIX} does not say which network it holds (no model_name in its metadata): "
                "pass --model_name and --num_classes."
            )
        if num_classes is None:
            num_classes = meta.get("num_classes")
        args = _parse_model_args(model_args) if model_args is not None else dict(meta.get("model_args") or {})
        channels = 1 if meta.get("use_grayscale") else 3
        model = build_network(model_name, num_classes, args, image_size or meta.get("image_size"), channels)
    store = model.store
    where = f"{data.path}{ours.SUFFIX}"
    network = model_name or getattr(model, "network_name", None) or "the model"
    tensors: dict[str, Any] = {}
    for name, value in data.variables().items():
        base = name[: -len(EMA_SUFFIX)] if name.endswith(EMA_SUFFIX) else name
        var = store.lookup(base) if base in store.infos else None
        if var is None:
            if value.dim() > 1:
                raise ValueError(
                    f"{where} holds {name} {list(value.shape)}, which {network} does not have: its TF layout is "
                    "unknown. Is the checkpoint of another network (or built with other arguments)?"
                )
            tensors[name] = value
            continue
        if tuple(value.shape) != tuple(var.shape):
            raise ValueError(
                f"{where} holds {name} with shape {list(value.shape)}, but {network}'s variable {base} has shape "
                f"{list(var.shape)} (our layout): the checkpoint is of another variant (classes, depth multiplier)."
            )
        layout = store.infos[base].layout
        tensors[name] = value.permute(*_inverse(layout)).contiguous() if layout is not None else value
    skipped = sorted(set(data.tensors) - set(data.variables()))
    missing = sorted(set(model.state_dict()) - set(tensors))
    if missing:
        raise ValueError(f"{where} lacks variables of {network}: {missing[:10]}{' ...' if len(missing) > 10 else ''}.")
    tensors.setdefault("global_step", np.int64(data.global_step))
    prefix = write_v2_checkpoint(output_prefix, tensors, write_checkpoint_state=True)
    return ConversionResult(prefix, len(tensors), dict(meta), skipped)


def list_checkpoint(path: str | os.PathLike) -> tuple[str, str, list[tuple[str, list[int], str]], dict[str, Any]]:
    """``(resolved path, format, [(name, shape, dtype)], metadata)`` of a checkpoint of any format.

    ``format`` is ``"slim"`` (shapes in our layout), ``"TF V1"`` or ``"TF V2"`` (TF's layout); metadata is ours only.
    """
    from slim.framework import checkpoint as ours
    from slim.framework.tf_checkpoint import CheckpointReader

    try:
        file = ours.resolve_checkpoint_file(path)
    except FileNotFoundError:
        reader = CheckpointReader(path)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
        rows = [(name, list(shapes[name]), dtypes[name]) for name, _ in reader.list_variables()]
        return reader.path, f"TF {reader.format}", rows, {}
    data = ours.read_checkpoint(file)
    rows = [
        (name, list(value.shape), str(value.dtype).replace("torch.", ""))
        for name, value in sorted(data.tensors.items())
    ]
    return file, "slim", rows, data.metadata


def _print_list(path: str) -> None:
    resolved, kind, rows, metadata = list_checkpoint(path)
    layout = "our layout" if kind == "slim" else "TF layout"
    print(f"# {resolved} ({kind} checkpoint, shapes in {layout})")
    shapes = [str(shape) for _, shape, _ in rows]
    name_width = max((len(name) for name, _, _ in rows), default=4)
    shape_width = max((len(shape) for shape in shapes), default=5)
    for (name, _, dtype), shape in zip(rows, shapes):
        print(f"{name:<{name_width}}  {shape:<{shape_width}}  {dtype}")
    count = sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in rows)
    print(f"# {len(rows)} tensors, {count:,} values")
    if metadata:
        print(f"# metadata: {json.dumps(metadata, sort_keys=True)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m slim.scripts.convert_checkpoint",
        description="Convert checkpoints between TF-Slim's formats (V1, V2) and slim's, or list one.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    network_help = "network arguments as JSON, e.g. '{\"depth_multiplier\": 0.5}'"

    to_slim = commands.add_parser("tf_to_slim", help="TF V1/V2 checkpoint -> slim checkpoint")
    to_slim.add_argument("--input", required=True, help="TF V1 file, V2 prefix, or directory")
    to_slim.add_argument("--output", required=True, help="slim checkpoint prefix, e.g. /tmp/run/model.ckpt-0")
    to_slim.add_argument("--model_name", required=True, help="the nets_factory network the checkpoint is for")
    to_slim.add_argument("--num_classes", type=int, help="classes of the logits layer (default: the checkpoint's)")
    to_slim.add_argument("--model_args", help=network_help)
    to_slim.add_argument("--labels_offset", type=int, help="recorded in the metadata (1: 1000 labels, 1001 logits)")
    to_slim.add_argument("--image_size", type=int, help="recorded in the metadata (default: the network's)")
    to_slim.add_argument("--ignore_missing_vars", action="store_true", help="skip network variables not stored")

    to_tf = commands.add_parser("slim_to_tf", help="slim checkpoint -> TF V2 checkpoint")
    to_tf.add_argument("--input", required=True, help="slim checkpoint prefix, .safetensors file, or train_dir")
    to_tf.add_argument("--output", required=True, help="TF V2 prefix, e.g. /tmp/tf/model.ckpt-1000")
    to_tf.add_argument("--model_name", help="the network (default: the checkpoint's metadata)")
    to_tf.add_argument("--num_classes", type=int, help="classes (default: the checkpoint's metadata)")
    to_tf.add_argument("--model_args", help=network_help + " (default: the checkpoint's metadata)")
    to_tf.add_argument("--image_size", type=int, help="image size to build the network on (default: the network's)")

    lister = commands.add_parser("list", help="name, shape and dtype of every tensor of any checkpoint")
    lister.add_argument("checkpoint", help="slim or TF checkpoint: prefix, file, or directory")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 done, 2 error, printed as ``error: ...``)."""
    from slim.framework.tf_checkpoint import CheckpointFormatError, CheckpointNotFoundError

    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            _print_list(args.checkpoint)
            return 0
        if args.command == "tf_to_slim":
            result = tf_to_slim(
                args.input,
                args.output,
                args.model_name,
                args.num_classes,
                args.model_args,
                args.labels_offset,
                args.image_size,
                args.ignore_missing_vars,
            )
        else:
            result = slim_to_tf(
                args.input, args.output, args.model_name, args.num_classes, args.model_args, args.image_size
            )
    except (FileNotFoundError, ValueError, CheckpointFormatError, CheckpointNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {result.prefix}: {result.tensors} tensors")
    if result.skipped:
        shown = ", ".join(result.skipped[:8]) + (" ..." if len(result.skipped) > 8 else "")
        print(f"left out {len(result.skipped)} tensors that have no counterpart (optimizer state): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
