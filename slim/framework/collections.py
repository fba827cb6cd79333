"""Named collections, TF-Slim's way of gathering losses, end points and summaries while a model runs.

TensorFlow keeps collections in the graph. Here a :class:`Collections` object belongs to one forward pass (or to a
`collection_scope`), so that nothing outlives the step that produced it. Entries are ``(name, value)`` pairs: the name
is the scope the value was created under, which is what `get_losses(scope=...)` and summaries filter and report on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["GraphKeys", "Collections"]


class GraphKeys:
    """The standard collection names (TF's ``tf.GraphKeys``), as plain strings."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    GLOBAL_STEP = "global_step"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"
    UPDATE_OPS = "update_ops"
    SUMMARIES = "summaries"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    TRAIN_OP = "train_op"

    # Collections whose entries are handed on to the enclosing scope when a model's forward pass ends: everything a
    # training step needs after the model returned. End points and user collections stay with the pass.
    PROPAGATED = (LOSSES, REGULARIZATION_LOSSES, UPDATE_OPS, SUMMARIES)


class Collections:
    """An ordered mapping ``collection name -> [(entry name, value), ...]``.

    Also records which variable stores ran under it, so that `get_regularization_losses` can evaluate the
    regularizers given at variable creation against the current weights (TF evaluates them as graph ops; eager
    PyTorch must recompute them every step).
    """

    def __init__(self) -> None:
        self._items: dict[str, list[tuple[str, Any]]] = {}
        self.stores: list[Any] = []

    def add(self, key: str, value: Any, name: str = "") -> None:
        """Appends ``value`` to collection ``key`` under the entry name ``name``."""
        self._items.setdefault(key, []).append((name, value))

    def add_to_collections(self, keys: str | Iterable[str] | None, value: Any, name: str = "") -> None:
        """Adds ``value`` to every collection in ``keys`` (a name, a list of names, or None for none)."""
        if not keys:
            return
        if isinstance(keys, str):
            keys = [keys]
        for key in keys:
            self.add(key, value, name)

    def get(self, key: str, scope: str | None = None) -> list[Any]:
        """The values of collection ``key``, filtered like TF: ``re.match(scope, entry_name)``."""
        return [value for _, value in self.items(key, scope)]

    def items(self, key: str, scope: str | None = None) -> list[tuple[str, Any]]:
        """The ``(name, value)`` entries of collection ``key``, optionally filtered by a scope regex prefix."""
        entries = self._items.get(key, [])
        if scope is None:
            return list(entries)
        pattern = re.compile(scope)
        return [(name, value) for name, value in entries if pattern.match(name)]

    def clear(self, key: str) -> None:
        """Empties collection ``key``."""
        self._items.pop(key, None)

    def keys(self) -> list[str]:
        """The names of the non-empty collections."""
        return [key for key, entries in self._items.items() if entries]

    def add_store(self, store: Any) -> None:
        """Records that ``store``'s variables were used here (once per store)."""
        if not any(existing is store for existing in self.stores):
            self.stores.append(store)

    def merge_into(self, parent: Collections) -> None:
        """Hands this pass's losses, update ops, summaries and used stores on to ``parent``."""
        for key in GraphKeys.PROPAGATED:
            for name, value in self._items.get(key, ()):
                parent.add(key, value, name)
        for store in self.stores:
            parent.add_store(store)
