"""`assign_from_checkpoint(_fn)`: load variables by name from our checkpoints or TF-Slim's (V1 and V2).

TF checkpoints store weights in TF's layout; each of our variables remembers the permutation from TF's layout to
ours (conv HWIO -> OIHW, dense [in, out] -> [out, in], depthwise [kh, kw, in, m] -> [in, m, kh, kw]), so they are
converted exactly, without name heuristics. Mismatches are reported by variable name with the fix a TF-Slim user
needs (exclude the logits scopes for a new head; pick the model variant whose depth multiplier fits).
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from slim.framework import checkpoint as ours
from slim.framework.store import VariableStore
from slim.framework.variables import Variable, _name_of, _store_of

__all__ = ["CheckpointSource", "open_any_checkpoint", "assign_from_checkpoint", "assign_from_checkpoint_fn"]

logger = logging.getLogger("slim")


class CheckpointSource:
    """A checkpoint of either format, read by name. ``tf_layout`` says whether weights are in TF's layout."""

    def __init__(self, path: str, shapes: dict[str, tuple[int, ...]], getter: Callable[[str], Any], tf_layout: bool):
        self.path = path
        self.shapes = shapes
        self._getter = getter
        self.tf_layout = tf_layout

    def has(self, name: str) -> bool:
        return name in self.shapes

    def get(self, name: str) -> torch.Tensor:
        value = self._getter(name)
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.require(value, requirements="C"))  # keeps 0-d arrays 0-d
        return value

    def value_for(self, name: str, store: VariableStore, var_name: str) -> torch.Tensor:
        """The checkpoint tensor ``name`` in the layout of our variable ``var_name``."""
        value = self.get(name)
        layout = store.infos[var_name].layout if self.tf_layout else None
        if layout is not None and value.dim() == len(layout):
            value = value.permute(*layout)
        return value

    def shape_for(self, name: str, store: VariableStore, var_name: str) -> tuple[int, ...]:
        shape = self.shapes[name]
        layout = store.infos[var_name].layout if self.tf_layout else None
        if layout is not None and len(shape) == len(layout):
            shape = tuple(shape[i] for i in layout)
        return tuple(shape)


def _is_tf_checkpoint(path: str) -> bool:
    return os.path.isfile(path + ".index") or (os.path.isfile(path) and not path.endswith(ours.SUFFIX))


def open_any_checkpoint(path: str | os.PathLike) -> CheckpointSource:
    """Opens a checkpoint prefix/file/directory of our format or TF's (V1 single file, V2 index + data)."""
    path = str(path)
    if os.path.isdir(path):
        latest = ours.latest_checkpoint(path)
        if latest is None:
            from slim.framework import tf_checkpoint

            latest = tf_checkpoint.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint found in directory {path}.")
        path = latest
    if path.endswith(ours.SUFFIX):
        path = path[: -len(ours.SUFFIX)]
    if os.path.isfile(path + ours.SUFFIX):
        data = ours.read_checkpoint(path)
        tensors = data.tensors
        return CheckpointSource(path, {k: tuple(v.shape) for k, v in tensors.items()}, tensors.__getitem__, False)
    if _is_tf_checkpoint(path):
        from slim.framework import tf_checkpoint

        reader = tf_checkpoint.open_checkpoint(path)
        shapes = {k: tuple(v) for k, v in reader.get_variable_to_shape_map().items()}
        return CheckpointSource(path, shapes, reader.get_tensor, True)
    raise FileNotFoundError(
        f"No checkpoint at {path}: expected {path + ours.SUFFIX} (ours), {path}.index (TF V2) or a TF V1 file."
    )


# Path components that open a classification head: TF-Slim's logits scopes (Inception/MobileNet ``Logits`` and
# ``AuxLogits``, ResNet/CifarNet ``logits``, VGG/AlexNet/OverFeat ``fc8``, LeNet ``fc4``, NASNet ``aux_logits``,
# ``final_layer/FC``).
_HEAD_COMPONENTS = ("logits", "auxlogits", "aux_logits", "fc8", "fc4", "predictions")
_VARIANT_SUFFIX = re.compile(r"^(?P<family>.*)_(?P<percent>\d{3})$")  # mobilenet_v1_050: depth multiplier 0.5


def _head_scope(name: str) -> str | None:
    """The head scope variable ``name`` lies in (``InceptionV3/AuxLogits``, ``resnet_v1_50/logits``), or None."""
    parts = name.split("/")
    for i, part in enumerate(parts[:-1]):
        lowered = part.lower()
        if lowered in _HEAD_COMPONENTS:
            return "/".join(parts[: i + 1])
        if lowered == "final_layer" and i + 2 < len(parts) and parts[i + 1].lower() == "fc":
            return "/".join(parts[: i + 2])
    return None


def _head_hint(var_name: str, ckpt_shape: Sequence[int], var_shape: Sequence[int], store: VariableStore | None) -> str:
    """How to leave the head out of restoring: the model's own head scopes, main head first."""
    scopes = {_head_scope(var_name)} | {_head_scope(name) for name in (store.infos if store is not None else ())}
    scopes.discard(None)
    ordered = sorted(scopes, key=lambda scope: ("aux" in scope.lower(), scope))
    message = (
        " This is the classification head: to train a new head, exclude it from restoring with "
        f"--checkpoint_exclude_scopes={','.join(ordered)} (in Python: slim.get_variables_to_restore(exclude="
        f"{ordered!r}))."
    )
    if {1000, 1001} & set(ckpt_shape) or {1000, 1001} & set(var_shape):
        message += (
            " Most TF-Slim ImageNet checkpoints have 1001 classes (class 0 is 'background'); VGG and ResNet V1 "
            "have 1000: build the net with num_classes=1001, or use --labels_offset=1 with 1000 classes."
        )
    return message


def _width_ratio(source: CheckpointSource, store: VariableStore) -> float | None:
    """How many times as wide the checkpoint's layers are as the model's, read on the widest mismatched body layer
    (the one least blurred by rounding and minimum depths), rounded to a multiple of 0.025 when that is close."""
    widest: tuple[int, float] | None = None
    for name in store.infos:
        var = store.lookup(name)
        if var is None or var.dim() == 0 or not source.has(name) or _head_scope(name) is not None:
            continue
        shape = source.shape_for(name, store, name)
        if len(shape) == var.dim() and shape[0] and shape[0] != var.shape[0]:
            if widest is None or var.shape[0] > widest[0]:
                widest = (var.shape[0], shape[0] / var.shape[0])
    if widest is None:
        return None
    ratio = widest[1]
    nice = round(ratio * 40) / 40
    return nice if nice and abs(nice - ratio) <= 0.05 * ratio else float(f"{ratio:.3g}")


def _signature_default(function: Any, parameter: str) -> Any:
    """The default value of ``parameter`` in ``function``'s signature, or None."""
    try:
        param = inspect.signature(function).parameters.get(parameter)
    except (TypeError, ValueError):
        return None
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def _registered_multiplier(name: str) -> float | None:
    """The depth multiplier of factory network ``name``: a ``<family>_050`` variant's, or the function's default."""
    from slim.nets import nets_factory

    registered = nets_factory.list_networks()
    match = _VARIANT_SUFFIX.match(name)
    if match and match.group("family") in registered:
        return int(match.group("percent")) / 100
    if name in registered:
        default = _signature_default(nets_factory.get_network_spec(name).fn, "depth_multiplier")
        return float(default) if isinstance(default, (int, float)) else None
    return None


def _family(network: str) -> list[str]:
    """The factory names that differ from ``network`` only in width (``mobilenet_v1``, ``mobilenet_v1_050``, ...)."""
    from slim.nets import nets_factory

    registered = nets_factory.list_networks()
    match = _VARIANT_SUFFIX.match(network)
    family = match.group("family") if match and match.group("family") in registered else network
    variants = [name for name in registered if (m := _VARIANT_SUFFIX.match(name)) and m.group("family") == family]
    return [family, *variants]


def _variant_hint(ratio: float, store: VariableStore | None) -> str:
    """Names the model variant that fits a checkpoint ``ratio`` times as wide as the model: a registered one
    (``mobilenet_v1_050``) when there is one, else the network with the fitting ``depth_multiplier``."""
    message = (
        f" The checkpoint's layers are {ratio:g} times as wide as the model's: it was trained with another depth "
        "multiplier."
    )
    model = store.module if store is not None else None
    network = getattr(model, "network_name", None)
    function = getattr(model, "_fn", None)
    ours = (getattr(model, "_kwargs", None) or {}).get("depth_multiplier")
    if ours is None and network is not None:
        ours = _registered_multiplier(network)
    if ours is None and function is not None:
        ours = _signature_default(function, "depth_multiplier")
    if not isinstance(ours, (int, float)):
        return message + " Build the model variant with the checkpoint's depth multiplier."
    wanted = float(f"{ours * ratio:.4g}")
    if network is not None:
        for candidate in _family(network):
            fitting = _registered_multiplier(candidate)
            if candidate != network and fitting is not None and abs(fitting - wanted) <= 0.02 * wanted:
                return message + f" Use the model variant that fits it: {candidate} (depth_multiplier={fitting:g})."
    name = network or getattr(function, "__name__", "the network")
    return message + (
        f" Build {name} with depth_multiplier={wanted:g} to fit it, e.g. "
        f"slim.Model({getattr(function, '__name__', name)}, depth_multiplier={wanted:g}, ...)."
    )


def _width_hint(source: CheckpointSource, store: VariableStore) -> str:
    """The variant hint when the checkpoint's layers have another width (which also explains missing variables,
    such as a shortcut convolution one width has and the other does not); '' otherwise."""
    ratio = _width_ratio(source, store)
    return _variant_hint(ratio, store) if ratio is not None and ratio != 1.0 else ""


def _mismatch_message(
    ckpt_name: str,
    var_name: str,
    ckpt_shape: Sequence[int],
    var_shape: Sequence[int],
    path: str,
    source: CheckpointSource | None = None,
    store: VariableStore | None = None,
) -> str:
    """The error for a shape mismatch, with the fix: exclude the head, or use the variant of the right width."""
    message = (
        f"Variable {var_name} has shape {tuple(var_shape)} (our layout) but checkpoint {path} holds {ckpt_name} with "
        f"shape {tuple(ckpt_shape)} (converted to our layout)."
    )
    if _head_scope(var_name) is not None:
        return message + _head_hint(var_name, ckpt_shape, var_shape, store)
    if len(ckpt_shape) == len(var_shape) and len(var_shape) >= 1 and ckpt_shape[0] and var_shape[0]:
        ratio = ckpt_shape[0] / var_shape[0]
        if source is not None and store is not None:
            ratio = _width_ratio(source, store) or ratio
        if ratio != 1.0:
            message += _variant_hint(ratio, store)
    return message


def _normalise_var_list(var_list: Any, store_hint: Any) -> list[tuple[str, VariableStore, str]]:
    """``[(checkpoint name, store, variable name)]`` from a list of variables/names/tensors or a dict."""
    entries = []
    if isinstance(var_list, Mapping):
        items = list(var_list.items())
    elif isinstance(var_list, (list, tuple)):
        items = [(None, v) for v in var_list]
    else:
        raise TypeError(f"var_list must be a list or a dict, got {type(var_list).__name__}.")
    for ckpt_name, targets in items:
        for target in targets if isinstance(targets, (list, tuple)) else [targets]:
            if isinstance(target, Variable):
                store = target.store
            else:
                store = _store_of(store_hint)
            var_name = _name_of(target, store)
            entries.append((ckpt_name if ckpt_name is not None else var_name, store, var_name))
    return entries


def assign_from_checkpoint(
    model_path: str | os.PathLike,
    var_list: Any,
    ignore_missing_vars: bool = False,
    *,
    model: Any = None,
) -> tuple[Callable[..., None], dict[str, torch.Tensor]]:
    """Prepares restoring ``var_list`` from a checkpoint (ours or TF's), as TF-Slim's function of the same name.

    Args:
      model_path: a checkpoint prefix, file, or directory (its latest checkpoint).
      var_list: variables (handles from ``slim.get_variables_to_restore()``), their names, or a dict
        ``{checkpoint name: variable, name or list of them}``.
      ignore_missing_vars: skip (with a warning) variables the checkpoint does not hold, instead of failing.
      model: where names in ``var_list`` are looked up (default: the active store).

    Returns:
      ``(assign_op, feed_dict)``: ``assign_op(feed_dict)`` copies the values into the variables.

    Raises:
      ValueError: a variable is missing from the checkpoint, or its shape differs (with the fix in the message).
    """
    source = open_any_checkpoint(model_path)
    feed: dict[str, torch.Tensor] = {}
    targets: dict[str, list[tuple[VariableStore, str]]] = {}
    missing = []
    for ckpt_name, store, var_name in _normalise_var_list(var_list, model):
        if not source.has(ckpt_name):
            missing.append(ckpt_name)
            continue
        var = store.lookup(var_name)
        ckpt_shape = source.shape_for(ckpt_name, store, var_name)
        if tuple(ckpt_shape) != tuple(var.shape):
            raise ValueError(_mismatch_message(ckpt_name, var_name, ckpt_shape, var.shape, source.path, source, store))
        feed[ckpt_name] = source.value_for(ckpt_name, store, var_name)
        targets.setdefault(ckpt_name, []).append((store, var_name))
    if missing:
        if not ignore_missing_vars:
            raise ValueError(
                f"Checkpoint {source.path} is missing variable(s) {missing[:20]}"
                f"{' ...' if len(missing) > 20 else ''}. Pass ignore_missing_vars=True to skip them, or exclude "
                "their scopes from the variables to restore."
            )
        for name in missing:
            logger.warning("Variable %s missing in checkpoint %s", name, source.path)

    def assign_op(feed_dict: Mapping[str, torch.Tensor] | None = None) -> None:
        values = feed_dict if feed_dict is not None else feed
        with torch.no_grad():
            for ckpt_name, value in values.items():
                for store, var_name in targets[ckpt_name]:
                    var = store.lookup(var_name)
                    var.copy_(value.to(dtype=var.dtype, device=var.device))

    return assign_op, feed


def assign_from_checkpoint_fn(
    model_path: str | os.PathLike,
    var_list: Any,
    ignore_missing_vars: bool = False,
    reshape_variables: bool = False,
    *,
    model: Any = None,
) -> Callable[..., None] | None:
    """A function ``init_fn(model=None)`` that restores ``var_list`` from ``model_path`` when called.

    As TF-Slim: an empty ``var_list`` is a ValueError; with ``ignore_missing_vars`` variables absent from the
    checkpoint are dropped with a warning ("Variable X missing in checkpoint Y") and None is returned if nothing is
    left; ``reshape_variables`` allows a value with the same number of elements but another shape. Names in
    ``var_list`` are resolved in the model passed to ``init_fn`` (or ``model=``), so a function made before a model
    exists works.
    """
    if not var_list:
        raise ValueError("var_list cannot be empty")
    source = open_any_checkpoint(model_path)

    def resolve(target_model: Any) -> list[tuple[str, VariableStore, str]]:
        entries = _normalise_var_list(var_list, target_model if target_model is not None else model)
        kept = []
        for ckpt_name, store, var_name in entries:
            if source.has(ckpt_name):
                kept.append((ckpt_name, store, var_name))
            elif ignore_missing_vars:
                logger.warning("Variable %s missing in checkpoint %s", ckpt_name, source.path)
            else:
                raise ValueError(
                    f"Checkpoint {source.path} is missing variable {ckpt_name}. Pass ignore_missing_vars=True to skip "
                    f"it, or exclude its scope from the variables to restore.{_width_hint(source, store)}"
                )
        return kept

    if ignore_missing_vars and all(not isinstance(v, str) for v in _flat(var_list)):
        if not resolve(model):
            logger.warning("No Variables to restore")
            return None

    def callback(target_model: Any = None) -> None:
        with torch.no_grad():
            for ckpt_name, store, var_name in resolve(target_model):
                var = store.lookup(var_name)
                ckpt_shape = source.shape_for(ckpt_name, store, var_name)
                value = source.value_for(ckpt_name, store, var_name)
                if tuple(ckpt_shape) != tuple(var.shape):
                    if reshape_variables and value.numel() == var.numel():
                        value = value.reshape(var.shape)
                    else:
                        raise ValueError(
                            _mismatch_message(ckpt_name, var_name, ckpt_shape, var.shape, source.path, source, store)
                        )
                var.copy_(value.to(dtype=var.dtype, device=var.device))

    return callback


def _flat(var_list: Any) -> list[Any]:
    if isinstance(var_list, Mapping):
        values = []
        for v in var_list.values():
            values += list(v) if isinstance(v, (list, tuple)) else [v]
        return values
    return list(var_list)
