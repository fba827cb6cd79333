"""Our checkpoint format: safetensors by TF-Slim name, written atomically, with a TF-style `checkpoint` index.

A checkpoint is one file ``<train_dir>/model.ckpt-<step>.safetensors`` holding:
- every model variable under its TF-Slim name (``vgg_16/conv1/conv1_1/weights``) in our layout;
- extra named tensors (e.g. EMA shadow variables ``<var>/ExponentialMovingAverage``);
- the optimizer state as tensors ``optimizer/<variable name>/<state key>``, with its hyper-parameters in metadata;
- metadata (JSON in the safetensors header): global step, model name and the arguments that rebuild the model.

Nothing is pickled, so loading a checkpoint can never run code. Every write goes to a temporary file in the same
directory, is fsync'ed and renamed into place, so a crash at any moment leaves the previous checkpoint intact. The
``checkpoint`` index file (TF's text format) names the latest; only the last ``max_to_keep`` are kept. As in TF, a
checkpoint is referred to by its prefix ``<train_dir>/model.ckpt-<step>``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_save

__all__ = [
    "CheckpointData",
    "SUFFIX",
    "save_checkpoint",
    "read_checkpoint",
    "latest_checkpoint",
    "checkpoint_exists",
    "get_checkpoint_state",
    "update_checkpoint_state",
    "atomic_write_bytes",
    "optimizer_state_to_tensors",
    "optimizer_state_from_tensors",
]

SUFFIX = ".safetensors"
_OPTIMIZER_PREFIX = "optimizer/"
_METADATA_KEY = "slim"
_INDEX_FILE = "checkpoint"


@dataclass
class CheckpointData:
    """The contents of one of our checkpoints."""

    path: str
    tensors: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def global_step(self) -> int:
        return int(self.metadata.get("global_step", 0))

    def variables(self) -> dict[str, torch.Tensor]:
        """The model (and extra) tensors, without the optimizer state."""
        return {k: v for k, v in self.tensors.items() if not k.startswith(_OPTIMIZER_PREFIX)}


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def optimizer_state_to_tensors(
    optimizer: torch.optim.Optimizer, param_names: Mapping[int, str]
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Splits an optimizer's state into named tensors and JSON-able metadata (no pickle).

    Args:
      param_names: ``id(parameter) -> variable name`` for every parameter the optimizer holds.
    """
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    groups = []
    for group in optimizer.param_groups:
        hyper = {k: _jsonable(v) for k, v in group.items() if k != "params"}
        names = []
        for param in group["params"]:
            if id(param) not in param_names:
                raise ValueError("The optimizer holds a parameter that is not a variable of the model being saved.")
            name = param_names[id(param)]
            names.append(name)
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{_OPTIMIZER_PREFIX}{name}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars.setdefault(name, {})[key] = _jsonable(value)
        groups.append({"hyper": hyper, "params": names})
    return tensors, {"class": type(optimizer).__name__, "param_groups": groups, "scalars": scalars}


def optimizer_state_from_tensors(
    optimizer: torch.optim.Optimizer,
    param_names: Mapping[int, str],
    tensors: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
) -> None:
    """Loads what :func:`optimizer_state_to_tensors` saved into ``optimizer`` (matched by variable name).

    Raises:
      ValueError: the optimizer type or its parameters differ from the checkpoint's (names the difference).
    """
    if meta.get("class") != type(optimizer).__name__:
        raise ValueError(
            f"The checkpoint's optimizer state is for {meta.get('class')}, not {type(optimizer).__name__}: "
            "use the same optimizer to resume, or start from the weights only (fine-tuning)."
        )
    saved_groups = meta["param_groups"]
    if len(saved_groups) != len(optimizer.param_groups):
        raise ValueError("The checkpoint's optimizer has a different number of parameter groups.")
    state_dict = optimizer.state_dict()
    new_state: dict[int, dict[str, Any]] = {}
    index = 0
    for group, saved in zip(optimizer.param_groups, saved_groups):
        names = [param_names[id(p)] for p in group["params"]]
        if names != saved["params"]:
            missing = sorted(set(saved["params"]) ^ set(names))[:5]
            raise ValueError(f"The checkpoint's optimizer covers other variables (first differences: {missing}).")
        for name in names:
            entry = {
                key[len(f"{_OPTIMIZER_PREFIX}{name}/") :]: value
                for key, value in tensors.items()
                if key.startswith(f"{_OPTIMIZER_PREFIX}{name}/")
            }
            entry.update(meta.get("scalars", {}).get(name, {}))
            if entry:
                new_state[index] = entry
            index += 1
    for group_state, saved in zip(state_dict["param_groups"], saved_groups):
        for key, value in saved["hyper"].items():
            if key in group_state:
                group_state[key] = tuple(value) if isinstance(group_state[key], tuple) else value
    state_dict["state"] = new_state
    optimizer.load_state_dict(state_dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, dict)):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def save_checkpoint(
    prefix: str | os.PathLike,
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, Any] | None = None,
    max_to_keep: int | None = 5,
    update_index: bool = True,
) -> str:
    """Writes ``<prefix>.safetensors`` atomically and (optionally) updates the directory's ``checkpoint`` index.

    Args:
      prefix: e.g. ``train_dir/model.ckpt-1000``.
      tensors: name -> tensor (any device; saved from CPU copies).
      metadata: JSON-serialisable metadata (global step, model name and arguments, optimizer hyper-parameters).
      max_to_keep: how many checkpoints the index keeps; older files are deleted (None or 0 keeps all).

    Returns:
      The prefix written.
    """
    prefix = str(prefix)
    cpu = {name: value.detach().to("cpu").contiguous() for name, value in tensors.items()}
    header = {_METADATA_KEY: json.dumps(dict(metadata or {}), sort_keys=True)}
    atomic_write_bytes(prefix + SUFFIX, safetensors_save(cpu, metadata=header))
    if update_index:
        update_checkpoint_state(os.path.dirname(prefix) or ".", prefix, max_to_keep=max_to_keep)
    return prefix


def read_checkpoint(path: str | os.PathLike, device: str = "cpu") -> CheckpointData:
    """Reads one of our checkpoints (a prefix, the .safetensors file, or a directory: its latest).

    Raises:
      FileNotFoundError / ValueError: naming the path and what was found instead.
    """
    file = resolve_checkpoint_file(path)
    try:
        with safe_open(file, framework="pt", device=device) as handle:
            header = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as error:  # safetensors raises its own error types
        raise ValueError(f"{file} is not a readable slim checkpoint: {error}") from error
    metadata = json.loads(header.get(_METADATA_KEY, "{}"))
    return CheckpointData(str(file)[: -len(SUFFIX)], tensors, metadata)


def resolve_checkpoint_file(path: str | os.PathLike) -> str:
    """The .safetensors file of a prefix, file or directory (its latest checkpoint)."""
    path = str(path)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint found in directory {path} (no 'checkpoint' index or ckpt files).")
        path = latest
    if path.endswith(SUFFIX) and os.path.isfile(path):
        return path
    if os.path.isfile(path + SUFFIX):
        return path + SUFFIX
    raise FileNotFoundError(f"No slim checkpoint at {path} (looked for {path + SUFFIX}).")


def checkpoint_exists(prefix: str | os.PathLike) -> bool:
    """Whether ``prefix`` names a checkpoint of ours or of TF (V2 index or V1 file)."""
    prefix = str(prefix)
    return any(os.path.isfile(p) for p in (prefix + SUFFIX, prefix + ".index", prefix)) and not os.path.isdir(prefix)


_INDEX_LINE = re.compile(r'^\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*"(.*)"\s*$')


def get_checkpoint_state(directory: str | os.PathLike) -> tuple[str | None, list[str]]:
    """Parses ``<directory>/checkpoint`` (TF's text format): ``(latest prefix, all prefixes)``, absolute paths."""
    index = Path(directory) / _INDEX_FILE
    if not index.is_file():
        return None, []
    latest, all_paths = None, []
    for line in index.read_text().splitlines():
        match = _INDEX_LINE.match(line)
        if not match:
            continue
        value = match.group(2).encode().decode("unicode_escape")
        if not os.path.isabs(value):
            value = str(Path(directory) / value)
        if match.group(1) == "model_checkpoint_path":
            latest = value
        else:
            all_paths.append(value)
    return latest, all_paths


def update_checkpoint_state(directory: str | os.PathLike, prefix: str, max_to_keep: int | None = 5) -> None:
    """Names ``prefix`` as the latest checkpoint and deletes the oldest beyond ``max_to_keep`` (ours only)."""
    _, all_paths = get_checkpoint_state(directory)
    all_paths = [p for p in all_paths if os.path.abspath(p) != os.path.abspath(prefix)] + [prefix]
    if max_to_keep:
        while len(all_paths) > max_to_keep:
            old = all_paths.pop(0)
            if os.path.isfile(old + SUFFIX):
                os.unlink(old + SUFFIX)
    directory = Path(directory)

    def rel(p: str) -> str:
        return os.path.relpath(p, directory) if os.path.dirname(os.path.abspath(p)) == str(directory.resolve()) else p

    lines = [f'model_checkpoint_path: "{rel(prefix)}"'] + [f'all_model_checkpoint_paths: "{rel(p)}"' for p in all_paths]
    atomic_write_bytes(directory / _INDEX_FILE, ("\n".join(lines) + "\n").encode())


def latest_checkpoint(directory: str | os.PathLike) -> str | None:
    """The prefix of the newest complete checkpoint in ``directory`` (ours, or TF's), or None.

    The ``checkpoint`` index is trusted only if the file it names exists; otherwise the newest ``model.ckpt-<step>``
    found on disk is used (TF-Slim directories without an index, or an index written before a crash).
    """
    latest, _ = get_checkpoint_state(directory)
    if latest is not None and checkpoint_exists(latest):
        return latest
    best: tuple[int, str] | None = None
    if not os.path.isdir(directory):
        return None
    for entry in os.listdir(directory):
        match = re.match(r"^(.*\.ckpt-(\d+))(\.safetensors|\.index)$", entry)
        if match:
            step = int(match.group(2))
            if best is None or step > best[0]:
                best = (step, str(Path(directory) / match.group(1)))
    return best[1] if best else None
