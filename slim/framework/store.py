"""The variable store: variables by their full TF-Slim name, as ordinary parameters and buffers of a module.

A store wraps an ``nn.Module`` and looks variables up in its ``_parameters`` / ``_buffers`` by name on every access, so
whatever PyTorch does to the module (``.to()``, DDP, FSDP, ``load_state_dict``) is what the model function sees.
Trainable variables are ``nn.Parameter``s; non-trainable ones (moving statistics, counters) are buffers; local
variables (metric accumulators) are non-persistent buffers, kept out of checkpoints as in TF.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from slim.framework.collections import GraphKeys
from slim.framework.context import AUTO_REUSE, current_frame
from slim.framework.variable_scope import join_name

__all__ = ["VariableInfo", "VariableStore", "get_variable", "existing_variable", "resolve_device"]


@dataclass(frozen=True)
class VariableInfo:
    """What TF would know about a variable besides its value."""

    name: str
    trainable: bool
    collections: tuple[str, ...]
    regularizer: Callable[[torch.Tensor], torch.Tensor | None] | None = None
    # Dims that turn the TF-layout value into ours (None: same layout). Checkpoint converters use it.
    layout: tuple[int, ...] | None = None


class VariableStore:
    """Variables of one model (or of the thread's default graph), keyed by full name."""

    def __init__(self, module: nn.Module | None = None) -> None:
        self.module = module if module is not None else nn.Module()
        self.infos: dict[str, VariableInfo] = {}
        self.frozen = False  # set once a Model is built: creating a variable afterwards is an error

    def lookup(self, name: str) -> torch.Tensor | None:
        """The live tensor of variable ``name``, or None."""
        module = self.module
        value = module._parameters.get(name)
        if value is None:
            value = module._buffers.get(name)
        return value

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def names(self, collection: str | None = GraphKeys.GLOBAL_VARIABLES) -> list[str]:
        """Variable names in creation order, optionally only those in ``collection``."""
        if collection is None:
            return list(self.infos)
        return [name for name, info in self.infos.items() if collection in info.collections]

    def create(self, info: VariableInfo, value: torch.Tensor) -> torch.Tensor:
        """Registers a new variable on the module and returns its live tensor."""
        if info.name in self.infos:
            raise ValueError(f"Variable {info.name} already exists.")
        module = self.module
        if info.trainable:
            module.register_parameter(info.name, nn.Parameter(value, requires_grad=True))
        else:
            persistent = GraphKeys.LOCAL_VARIABLES not in info.collections
            module.register_buffer(info.name, value, persistent=persistent)
        self.infos[info.name] = info
        return self.lookup(info.name)

    def regularization_losses(self, scope: str | None = None) -> list[tuple[str, torch.Tensor]]:
        """Evaluates the regularizers given at variable creation on the current weights.

        Returns ``(name, loss)`` pairs named as TF names them, e.g.
        ``InceptionV3/Conv2d_1a_3x3/weights/Regularizer/l2_regularizer``.
        """
        pattern = re.compile(scope) if scope else None
        losses = []
        for name, info in self.infos.items():
            if info.regularizer is None:
                continue
            loss_name = f"{name}/Regularizer/{getattr(info.regularizer, 'scope_name', 'Regularizer')}"
            if pattern is not None and not pattern.match(loss_name):
                continue
            loss = info.regularizer(self.lookup(name))
            if loss is not None:
                losses.append((loss_name, loss))
        return losses


class _VariableOp:
    """What a TF device function is called with: an op with a name, a type and its device so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = "VariableV2"
        self.device = ""


_TF_DEVICE = re.compile(r"(?:/device)?[:/]?(?P<type>cpu|gpu|cuda|mps|xpu)(?::(?P<index>\d+))?$", re.IGNORECASE)


def resolve_device(device: Any, variable_name: str) -> torch.device | None:
    """Maps a TF device spec ('/CPU:0', '/job:ps/task:0/device:GPU:1', a chooser function) to a torch device.

    The job/task parts of a TF device name have no meaning in one PyTorch process and are ignored; the device type
    and index are kept. A chooser function (such as :class:`slim.VariableDeviceChooser`) is called with an op-like
    object carrying the variable's name, as TF does.
    """
    if device is None or device == "":
        return None
    if isinstance(device, torch.device):
        return device
    if callable(device):
        device = device(_VariableOp(variable_name))
        if not device:
            return None
    if not isinstance(device, str):
        raise TypeError(
            f"Variable {variable_name}: device must be a string or a function, got {type(device).__name__}."
        )
    last = device.rstrip("/").split("/")[-1] if "/" in device else device
    match = _TF_DEVICE.search(last) or _TF_DEVICE.search(device)
    if match is None:
        if "job:" in device or "task:" in device or "replica:" in device:
            return None  # only a job/task placement: no local device implied
        raise ValueError(f"Variable {variable_name}: cannot understand the device {device!r}.")
    kind = match.group("type").lower()
    kind = "cuda" if kind == "gpu" else kind
    index = match.group("index")
    return torch.device(kind, int(index)) if index is not None and kind != "cpu" else torch.device(kind)


def _initial_value(
    name: str, shape: Sequence[int], dtype: torch.dtype, initializer: Any, device: torch.device | None
) -> torch.Tensor:
    if initializer is None:
        from slim.layers.initializers import xavier_initializer

        initializer = xavier_initializer()
    if callable(initializer) and not isinstance(initializer, torch.Tensor):
        value = initializer(list(shape), dtype)
    else:
        value = torch.as_tensor(np.asarray(initializer) if not isinstance(initializer, torch.Tensor) else initializer)
        if shape is not None and list(shape) and tuple(value.shape) != tuple(shape):
            if value.numel() == 1:
                value = value.reshape(()).expand(*shape).clone()
            else:
                raise ValueError(
                    f"Variable {name}: the initial value has shape {tuple(value.shape)}, expected {tuple(shape)}."
                )
        value = value.to(dtype)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"Variable {name}: the initializer returned {type(value).__name__}, expected a tensor.")
    value = value.detach()
    if device is not None:
        value = value.to(device)
    return value


def _used_twice(full_name: str, scope_name: str) -> ValueError:
    return ValueError(
        f"Variable {full_name} already exists, disallowed: the scope {scope_name or '<root>'} is used twice in one "
        "call without reuse. Did you mean to set reuse=True or reuse=slim.AUTO_REUSE in the variable scope?"
    )


def existing_variable(
    name: str, shape: Sequence[int] | None = None, permute: Sequence[int] | None = None
) -> torch.Tensor | None:
    """The variable ``name`` of the current scope if it already exists (every pass after the build), else None.

    The fast path of :func:`get_variable` (and of the layers' ``model_variable`` calls): it applies the checks that
    concern an existing variable (a scope used twice without reuse, a different shape) and skips the arguments that
    only matter at creation. None means the variable must be created: call :func:`get_variable`.
    """
    frame = current_frame()
    scope = frame.pass_state.var_scope_stack[-1]
    full_name = join_name(scope.name, name)
    existing = frame.store.lookup(full_name)
    if existing is None or torch.compiler.is_compiling():
        # A traced graph only needs the lookup: the eager build pass checked the structure.
        return existing
    used = frame.pass_state.used_variables
    if full_name in used and scope.reuse is not True and scope.reuse is not AUTO_REUSE:
        raise _used_twice(full_name, scope.name)
    used.add(full_name)
    if shape is not None:
        target_shape = tuple(int(shape[i]) for i in permute) if permute is not None else tuple(int(d) for d in shape)
        if existing.shape != target_shape:
            raise ValueError(
                f"Variable {full_name} exists with shape {tuple(existing.shape)}, but shape {target_shape} was "
                "requested (our layout). A reused variable must keep its shape."
            )
    return existing


def get_variable(
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    initializer: Any = None,
    regularizer: Callable | None = None,
    trainable: bool = True,
    collections: Sequence[str] | None = None,
    device: Any = None,
    permute: Sequence[int] | None = None,
) -> torch.Tensor:
    """Gets the variable ``name`` of the current scope, creating it on the build pass.

    Args:
      name: the variable's name relative to the current variable scope.
      shape: its shape as TF-Slim gives it (TF layout). ``permute`` reorders it into our layout.
      dtype: float32 by default.
      initializer: ``fn(shape, dtype) -> Tensor`` (see slim.initializers), a constant, or None (Glorot uniform).
      regularizer: ``fn(tensor) -> scalar or None``; its value joins the regularization losses.
      trainable: trainable variables are parameters, the others buffers.
      collections: collection names; the variable is listed in each (GLOBAL_VARIABLES by default).
      device: a TF device string or chooser function that places the variable.
      permute: dims that turn the TF-layout shape/value into our layout (e.g. HWIO -> OIHW is (3, 2, 0, 1)).

    Returns:
      The live tensor (a parameter or buffer of the owning module).

    Raises:
      ValueError: the name is used twice in one pass without reuse, reuse=True names a missing variable, the shape
        differs from the existing variable's, or a variable is created after the model was built.
    """
    existing = existing_variable(name, shape, permute)
    if existing is not None:
        return existing
    frame = current_frame()
    store = frame.store
    scope = frame.pass_state.var_scope_stack[-1]
    full_name = join_name(scope.name, name)
    dtype = dtype or torch.float32
    if shape is not None:
        shape = [int(d) for d in shape]
    reuse = scope.reuse
    # (A name used earlier in this pass exists, so existing_variable above has checked it.)
    frame.pass_state.used_variables.add(full_name)
    if reuse is True:
        raise ValueError(
            f"Variable {full_name} does not exist, but the scope asks to reuse it (reuse=True). Create it first, or "
            "set reuse=slim.AUTO_REUSE."
        )
    if store.frozen:
        raise ValueError(
            f"Variable {full_name} is created after the model was built. A model function must create the same "
            "variables on every call; build the model with the inputs and arguments that create all of them."
        )
    if shape is None and not isinstance(initializer, (torch.Tensor, np.ndarray, list, float, int)):
        raise ValueError(f"Variable {full_name}: give a shape, or an initial value as the initializer.")
    placed = resolve_device(device, full_name)
    if placed is None:
        placed = getattr(store, "default_device", None)
    value = _initial_value(full_name, shape if shape is not None else [], dtype, initializer, placed)
    if permute is not None:
        value = value.permute(*permute).contiguous()
    keys = tuple(dict.fromkeys(collections)) if collections else (GraphKeys.GLOBAL_VARIABLES,)
    if trainable and GraphKeys.TRAINABLE_VARIABLES not in keys and GraphKeys.LOCAL_VARIABLES not in keys:
        keys = keys + (GraphKeys.TRAINABLE_VARIABLES,)
    info = VariableInfo(
        full_name,
        bool(trainable) and GraphKeys.LOCAL_VARIABLES not in keys,
        keys,
        regularizer,
        tuple(permute) if permute is not None else None,
    )
    return store.create(info, value)
