"""TF-Slim's variable functions: creation (`variable`, `model_variable`, ...), queries and the global step.

Creation functions return the live tensor, for use in computations. Query functions (`get_variables`,
`get_model_variables`, `get_variables_to_restore`, ...) return :class:`Variable` handles that carry the TF-Slim name
(``handle.op.name == 'vgg_16/conv1/conv1_1/weights'``, ``handle.name`` with TF's ``:0``) and give the live tensor with
``handle.value()``. Queries look at the active store: the running model's, the one of ``with model.as_default():``,
or the thread's default store; every query also takes ``model=`` to name it directly.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from slim.framework.arg_scope import add_arg_scope
from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame
from slim.framework.store import VariableInfo, VariableStore, existing_variable, get_variable

__all__ = [
    "Variable",
    "variable",
    "model_variable",
    "local_variable",
    "global_variable",
    "add_model_variable",
    "get_variables",
    "get_model_variables",
    "get_trainable_variables",
    "get_local_variables",
    "get_variables_to_restore",
    "get_variables_by_name",
    "get_variables_by_suffix",
    "get_unique_variable",
    "get_variable_full_name",
    "filter_variables",
    "create_global_step",
    "get_global_step",
    "get_or_create_global_step",
    "assert_global_step",
    "assert_or_get_global_step",
    "assign_from_values",
    "assign_from_values_fn",
    "VariableDeviceChooser",
]


class Variable:
    """A handle on a variable of a store: its TF-Slim name and its live value.

    The value is looked up on every access, so a handle stays valid through ``model.to(...)``, DDP and
    ``load_state_dict``.
    """

    __slots__ = ("_store", "_name")

    def __init__(self, store: VariableStore, name: str) -> None:
        self._store = store
        self._name = name

    @property
    def name(self) -> str:
        """TF's tensor name, ``'<scope>/<var>:0'``."""
        return f"{self._name}:0"

    @property
    def op(self) -> SimpleNamespace:
        """An object whose ``.name`` is the variable's name without ``:0``, as ``var.op.name`` in TF."""
        return SimpleNamespace(name=self._name)

    @property
    def store(self) -> VariableStore:
        return self._store

    def value(self) -> torch.Tensor:
        """The live tensor (a parameter or a buffer)."""
        return self._store.lookup(self._name)

    @property
    def shape(self) -> torch.Size:
        return self.value().shape

    @property
    def dtype(self) -> torch.dtype:
        return self.value().dtype

    @property
    def device(self) -> torch.device:
        return self.value().device

    @property
    def trainable(self) -> bool:
        return self._store.infos[self._name].trainable

    def get_shape(self) -> torch.Size:
        return self.shape

    def numel(self) -> int:
        return self.value().numel()

    def __repr__(self) -> str:
        return f"<slim.Variable '{self._name}' shape={tuple(self.shape)} dtype={self.dtype}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Variable) and other._store is self._store and other._name == self._name

    def __hash__(self) -> int:
        return hash((id(self._store), self._name))


def _store_of(model: Any) -> VariableStore:
    if model is None:
        return current_frame().store
    if isinstance(model, VariableStore):
        return model
    store = getattr(model, "_store", None)
    if store is None:
        module = getattr(model, "module", None)  # DDP / compiled wrappers
        store = getattr(module, "_store", None) or getattr(getattr(model, "_orig_mod", None), "_store", None)
    if store is None:
        raise TypeError(f"Expected a slim.Model or VariableStore, got {type(model).__name__}.")
    return store


def _collections_for(collections: Iterable[str] | None, default: Sequence[str]) -> list[str]:
    keys = list(collections) if collections is not None else list(default)
    return list(dict.fromkeys(keys))


@add_arg_scope
def variable(
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    initializer: Any = None,
    regularizer: Callable | None = None,
    trainable: bool = True,
    collections: Iterable[str] | None = None,
    caching_device: Any = None,
    device: Any = None,
    partitioner: Any = None,
    custom_getter: Callable | None = None,
    use_resource: bool | None = None,
    layout: Sequence[int] | None = None,
) -> torch.Tensor:
    """Gets an existing variable with these parameters or creates a new one (TF-Slim's ``slim.variable``).

    Args:
      name: the name, relative to the current variable scope.
      shape: the shape in TF's layout; ``layout`` permutes it (and the initial value) into ours.
      dtype, initializer, regularizer, trainable, collections, device: as in TF-Slim (``device`` may be a TF
        device string or a chooser function). Collections default to GLOBAL_VARIABLES.
      caching_device, use_resource: accepted for compatibility; they have no meaning in PyTorch.
      partitioner: not supported (PyTorch shards with FSDP instead); must be None.
      custom_getter: ``getter(getter_fn, name, **kwargs)`` called instead of the default getter, as in TF.
      layout: dims that turn the TF-layout shape into ours (used by layers: HWIO -> OIHW is (3, 2, 0, 1)).

    Returns:
      The variable's live tensor.
    """
    del caching_device, use_resource
    if partitioner is not None:
        raise ValueError(f"Variable {name}: partitioned variables are not supported; shard large models with FSDP.")
    if custom_getter is None:
        existing = existing_variable(name, shape, layout)  # every pass after the build: a lookup
        if existing is not None:
            return existing
    collections = _collections_for(collections, [GraphKeys.GLOBAL_VARIABLES])
    kwargs = dict(
        shape=shape,
        dtype=dtype,
        initializer=initializer,
        regularizer=regularizer,
        trainable=trainable,
        collections=collections,
        device=device,
        permute=layout,
    )
    if custom_getter is not None:
        return custom_getter(get_variable, name, **kwargs)
    return get_variable(name, **kwargs)


@add_arg_scope
def model_variable(
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    initializer: Any = None,
    regularizer: Callable | None = None,
    trainable: bool = True,
    collections: Iterable[str] | None = None,
    caching_device: Any = None,
    device: Any = None,
    partitioner: Any = None,
    custom_getter: Callable | None = None,
    use_resource: bool | None = None,
    layout: Sequence[int] | None = None,
) -> torch.Tensor:
    """Like :func:`variable`, and also adds the variable to MODEL_VARIABLES (what a model checkpoint holds)."""
    if custom_getter is None and partitioner is None:
        existing = existing_variable(name, shape, layout)  # every pass after the build: a lookup
        if existing is not None:
            return existing
    keys = _collections_for(collections, [])
    keys += [GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES]
    return variable(
        name,
        shape=shape,
        dtype=dtype or torch.float32,
        initializer=initializer,
        regularizer=regularizer,
        trainable=trainable,
        collections=keys,
        caching_device=caching_device,
        device=device,
        partitioner=partitioner,
        custom_getter=custom_getter,
        use_resource=use_resource,
        layout=layout,
    )


def _named_value_variable(
    initial_value: Any, name: str | None, collections: list[str], trainable: bool
) -> torch.Tensor:
    value = torch.as_tensor(initial_value)
    if not value.is_floating_point():
        trainable = False  # integer tensors cannot be parameters
    name = name or "Variable"
    return get_variable(
        name,
        shape=list(value.shape),
        dtype=value.dtype,
        initializer=value,
        trainable=trainable,
        collections=collections,
    )


def local_variable(initial_value: Any, validate_shape: bool = True, name: str | None = None, use_resource: Any = None):
    """A variable in LOCAL_VARIABLES (not trainable, not checkpointed), e.g. a metric accumulator."""
    del validate_shape, use_resource
    return _named_value_variable(initial_value, name, [GraphKeys.LOCAL_VARIABLES], trainable=False)


def global_variable(initial_value: Any, validate_shape: bool = True, name: str | None = None, use_resource: Any = None):
    """A plain variable in GLOBAL_VARIABLES, not trainable, initialised to ``initial_value``."""
    del validate_shape, use_resource
    return _named_value_variable(initial_value, name, [GraphKeys.GLOBAL_VARIABLES], trainable=False)


def add_model_variable(var: Variable | torch.Tensor | str, model: Any = None) -> None:
    """Adds an existing variable to MODEL_VARIABLES."""
    store = _store_of(model)
    name = _name_of(var, store)
    info = store.infos[name]
    if GraphKeys.MODEL_VARIABLES not in info.collections:
        store.infos[name] = dataclasses.replace(info, collections=info.collections + (GraphKeys.MODEL_VARIABLES,))


def _name_of(var: Variable | torch.Tensor | str, store: VariableStore) -> str:
    if isinstance(var, str):
        name = var[:-2] if var.endswith(":0") else var
        if name not in store.infos:
            raise ValueError(f"Couldn't find variable {name}.")
        return name
    if isinstance(var, Variable):
        return var._name
    if isinstance(var, torch.Tensor):
        for name in store.infos:
            if store.lookup(name) is var:
                return name
        raise ValueError("This tensor is not a variable of the active store; pass model= or a variable name.")
    raise TypeError(f"Expected a variable, a tensor or a name, got {type(var).__name__}.")


def get_variables(
    scope: Any = None, suffix: str | None = None, collection: str = GraphKeys.GLOBAL_VARIABLES, *, model: Any = None
) -> list[Variable]:
    """Variables in ``collection`` whose name matches ``scope`` (a regex prefix, as TF) and ends with ``suffix``."""
    store = _store_of(model)
    if scope is not None and not isinstance(scope, str):
        scope = getattr(scope, "name", str(scope))
    if suffix is not None:
        if ":" not in suffix:
            suffix += ":"
        scope = (scope or "") + ".*" + suffix
    pattern = re.compile(scope) if scope else None
    return [Variable(store, name) for name in store.names(collection) if pattern is None or pattern.match(f"{name}:0")]


def get_model_variables(scope: Any = None, suffix: str | None = None, *, model: Any = None) -> list[Variable]:
    """Variables in MODEL_VARIABLES (weights, biases, batch-norm parameters and statistics)."""
    return get_variables(scope, suffix, GraphKeys.MODEL_VARIABLES, model=model)


def get_local_variables(scope: Any = None, suffix: str | None = None, *, model: Any = None) -> list[Variable]:
    """Variables in LOCAL_VARIABLES."""
    return get_variables(scope, suffix, GraphKeys.LOCAL_VARIABLES, model=model)


def get_trainable_variables(scope: Any = None, suffix: str | None = None, *, model: Any = None) -> list[Variable]:
    """Variables in TRAINABLE_VARIABLES."""
    return get_variables(scope, suffix, GraphKeys.TRAINABLE_VARIABLES, model=model)


def get_variables_to_restore(
    include: Sequence[str] | None = None, exclude: Sequence[str] | None = None, *, model: Any = None
) -> list[Variable]:
    """All global variables in ``include`` scopes (all if None) minus those in ``exclude`` scopes, in order."""
    if include is not None and not isinstance(include, (list, tuple)):
        raise TypeError("include is provided but is not a list or a tuple.")
    if exclude is not None and not isinstance(exclude, (list, tuple)):
        raise TypeError("exclude is provided but is not a list or a tuple.")
    if include is None:
        variables = get_variables(model=model)
    else:
        variables = []
        for scope in include:
            variables += [v for v in get_variables(scope, model=model) if v not in variables]
    excluded = set()
    for scope in exclude or ():
        excluded.update(get_variables(scope, model=model))
    return [v for v in variables if v not in excluded]


def get_variables_by_suffix(suffix: str, scope: Any = None, *, model: Any = None) -> list[Variable]:
    """Variables whose name ends with ``suffix``."""
    return get_variables(scope=scope, suffix=suffix, model=model)


def get_variables_by_name(given_name: str, scope: Any = None, *, model: Any = None) -> list[Variable]:
    """Variables whose last name component(s) equal ``given_name``."""
    suffix = "/" + given_name + ":|^" + given_name + ":"
    return get_variables(scope=scope, suffix=suffix, model=model)


def get_unique_variable(var_op_name: str, *, model: Any = None) -> Variable:
    """The one variable named exactly ``var_op_name``."""
    candidates = get_variables(scope=var_op_name, model=model)
    if not candidates:
        raise ValueError(f"Couldn't find variable {var_op_name}")
    for candidate in candidates:
        if candidate.op.name == var_op_name:
            return candidate
    raise ValueError(f"Variable {var_op_name} does not uniquely identify a variable")


def get_variable_full_name(var: Variable) -> str:
    """The name a checkpoint stores ``var`` under (no partitioned variables here: its op name)."""
    return var.op.name


def filter_variables(
    var_list: Sequence[Variable],
    include_patterns: Sequence[str] | None = None,
    exclude_patterns: Sequence[str] | None = None,
    reg_search: bool = True,
) -> list[Variable]:
    """Keeps variables whose name matches an include regex and no exclude regex (``re.search`` or ``re.match``)."""
    find = re.search if reg_search else re.match
    result = list(var_list)
    if include_patterns is not None:
        result = [v for v in result if any(find(p, v.name) for p in include_patterns)]
    if exclude_patterns is not None:
        result = [v for v in result if not any(find(p, v.name) for p in exclude_patterns)]
    return result


# --- global step ----------------------------------------------------------------------------------------------------

_GLOBAL_STEP = "global_step"


def get_global_step(graph: Any = None, *, model: Any = None) -> torch.Tensor | None:
    """The int64 scalar ``global_step`` of the store, or None."""
    del graph
    store = _store_of(model)
    for name in store.names(GraphKeys.GLOBAL_STEP):
        return store.lookup(name)
    return None


def create_global_step(graph: Any = None, *, model: Any = None) -> torch.Tensor:
    """Creates the int64 scalar ``global_step`` (collections GLOBAL_VARIABLES and GLOBAL_STEP)."""
    del graph
    store = _store_of(model)
    if get_global_step(model=store) is not None:
        raise ValueError('"global_step" already exists.')
    info = VariableInfo(_GLOBAL_STEP, False, (GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP))
    return store.create(info, torch.zeros((), dtype=torch.int64))


def get_or_create_global_step(graph: Any = None, *, model: Any = None) -> torch.Tensor:
    """The global step, created if missing."""
    step = get_global_step(graph, model=model)
    return step if step is not None else create_global_step(graph, model=model)


def assert_global_step(global_step_tensor: Any) -> None:
    """Raises TypeError unless the argument is an integer scalar tensor."""
    if not isinstance(global_step_tensor, torch.Tensor):
        raise TypeError(f"Existing global step must be a tensor, got {type(global_step_tensor).__name__}.")
    if global_step_tensor.is_floating_point() or global_step_tensor.dim() != 0:
        raise TypeError(
            f"Existing global step must be an integer scalar, got {global_step_tensor.dtype} "
            f"of shape {tuple(global_step_tensor.shape)}."
        )


def assert_or_get_global_step(graph: Any = None, global_step_tensor: Any = None, *, model: Any = None):
    """Checks ``global_step_tensor`` if given, else returns the store's global step (or None)."""
    if global_step_tensor is None:
        global_step_tensor = get_global_step(graph, model=model)
        if global_step_tensor is None:
            return None
    assert_global_step(global_step_tensor)
    return global_step_tensor


# --- assignment -------------------------------------------------------------------------------------------------------


def assign_from_values(var_names_to_values: dict[str, Any], *, model: Any = None):
    """Prepares assigning values to variables by name (TF returns ``(assign_op, feed_dict)``).

    Values are in our layout (see :mod:`slim.framework.tf_checkpoint` for TF layouts) and are reshaped to the
    variable's shape when the element counts agree. Returns ``(assign_op, feed_dict)`` where ``assign_op(feed_dict)``
    performs the assignment, like ``session.run(assign_op, feed_dict)``.
    """
    store = _store_of(model)
    feed_dict = {}
    for name, value in var_names_to_values.items():
        matches = get_variables(scope=re.escape(name) + r":", model=store)
        if not matches:
            raise ValueError(f"Variable {name} wasn't found")
        if len(matches) > 1:
            raise ValueError(f"Variable {name} doesn't uniquely identify a variable")
        target = matches[0].value()
        array = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
        if array.numel() != target.numel():
            raise ValueError(
                f"Variable {name}: the value has {array.numel()} elements (shape {tuple(array.shape)}), the variable "
                f"{target.numel()} (shape {tuple(target.shape)})."
            )
        feed_dict[name] = array.reshape(target.shape)

    def assign_op(feed: dict[str, Any] | None = None) -> None:
        with torch.no_grad():
            for name, value in (feed if feed is not None else feed_dict).items():
                target = store.lookup(name)
                target.copy_(torch.as_tensor(value).reshape(target.shape).to(target.dtype))

    return assign_op, feed_dict


def assign_from_values_fn(var_names_to_values: dict[str, Any], *, model: Any = None) -> Callable[..., None]:
    """A function that assigns the values when called (TF-Slim passes it a session; any argument is ignored)."""
    assign_op, feed_dict = assign_from_values(var_names_to_values, model=model)

    def callback(*unused: Any) -> None:
        assign_op(feed_dict)

    return callback


class VariableDeviceChooser:
    """Round-robins variables over parameter-server tasks, as TF-Slim's chooser (device strings only here).

    In one PyTorch process only the device type/index part has an effect; the job/task part is kept in the returned
    string for code that inspects it.
    """

    def __init__(
        self,
        num_tasks: int = 0,
        job_name: str = "ps",
        device_type: str = "CPU",
        device_index: int = 0,
        replica: int | None = None,
    ) -> None:
        self._num_tasks = num_tasks
        self._next_task_id = 0
        self._job_name = job_name
        self._device_type = device_type
        self._device_index = device_index
        self._replica = replica

    def __call__(self, op: Any) -> str:
        if getattr(op, "device", ""):
            return op.device
        parts = []
        if self._num_tasks > 0:
            task_id = self._next_task_id
            self._next_task_id = (self._next_task_id + 1) % self._num_tasks
            parts.append(f"/job:{self._job_name}")
            if self._replica is not None:
                parts.append(f"/replica:{self._replica}")
            parts.append(f"/task:{task_id}")
        parts.append(f"/device:{self._device_type}:{self._device_index}")
        return "".join(parts)
