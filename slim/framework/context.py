"""Thread-local context: the active variable store, the naming state of the current pass, and collections.

Everything TF keeps in its default graph lives here, per thread, in plain lists that are pushed on entry and popped in
``finally``. Plain thread-local lists are what `torch.compile` traces without graph breaks (``contextvars`` is not),
which is why this module does not use ``contextvars``.

A :class:`Frame` is what a running model function sees: the store its variables live in, the naming state of this pass
(`Conv`, `Conv_1` uniquification restarts at every forward pass, as a TF graph is built once), the collections that
gather losses and end points, and the mode (`training`, `building`). Outside any :class:`~slim.Model` a per-thread
default frame plays the role of TF's default graph.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slim.framework.collections import Collections

__all__ = [
    "VariableScope",
    "PassState",
    "Frame",
    "current_frame",
    "push_frame",
    "collection_scope",
    "reset_default_graph",
    "get_default_frame",
]


class _AutoReuse:
    """Sentinel type of :data:`AUTO_REUSE` (create a variable if missing, reuse it otherwise)."""

    _instance: _AutoReuse | None = None

    def __new__(cls) -> _AutoReuse:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AUTO_REUSE"


AUTO_REUSE = _AutoReuse()


@dataclass(frozen=True)
class VariableScope:
    """A variable scope: its full name and whether variables in it are reused.

    Attributes:
      name: full scope name ('' at the root), e.g. ``'vgg_16/conv1'``.
      reuse: False, True or AUTO_REUSE.
    """

    name: str
    reuse: Any = False

    @property
    def original_name_scope(self) -> str:
        """The name scope TF opened with this variable scope (name plus '/', used by nets as a collection key)."""
        return f"{self.name}/" if self.name else ""

    def __str__(self) -> str:
        return self.name


ROOT_SCOPE = VariableScope("", False)


@dataclass
class PassState:
    """Naming state of one forward pass (one TF graph construction)."""

    scope_counts: dict[str, int] = field(default_factory=dict)
    name_scope_counts: dict[str, int] = field(default_factory=dict)
    used_variables: set[str] = field(default_factory=set)
    var_scope_stack: list[VariableScope] = field(default_factory=lambda: [ROOT_SCOPE])


@dataclass
class Frame:
    """What a running model function sees. See the module docstring."""

    store: Any
    pass_state: PassState
    collections: Collections
    training: bool = True
    building: bool = False
    collect_outputs: bool = True  # False: layers skip outputs_collections (no end points kept alive)


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.arg_scope_stack: list[dict[str, dict[str, Any]]] = [{}]
        self.frames: list[Frame] = []
        self.default_frame: Frame | None = None


_state = _ThreadState()


def _thread_state() -> _ThreadState:
    return _state


def get_default_frame() -> Frame:
    """The thread's default frame (TF's default graph), created on first use."""
    if _state.default_frame is None:
        from slim.framework.store import VariableStore

        _state.default_frame = Frame(store=VariableStore(), pass_state=PassState(), collections=Collections())
    return _state.default_frame


def current_frame() -> Frame:
    """The innermost active frame, or the default frame."""
    frames = _state.frames
    if frames:
        return frames[-1]
    return get_default_frame()


@contextmanager
def push_frame(frame: Frame) -> Iterator[Frame]:
    """Makes ``frame`` the current frame for the duration of the block."""
    frames = _state.frames
    frames.append(frame)
    try:
        yield frame
    finally:
        frames.pop()


@contextmanager
def collection_scope() -> Iterator[Collections]:
    """A fresh set of collections for one step (TF code would build a new graph).

    Losses, summaries and regularization gathered inside the block are kept in the yielded :class:`Collections` and
    dropped afterwards, so an eager training loop does not accumulate them step after step. Naming restarts too (as
    in a model's forward pass): a loss is named ``softmax_cross_entropy_loss/value`` at every step, and layers called
    directly at the top level reuse the variables the first step created::

        for images, labels in batches:
            with slim.collection_scope():
                logits, _ = model(images)
                slim.losses.softmax_cross_entropy(logits, labels)
                loss = slim.losses.get_total_loss()
    """
    outer = current_frame()
    collections = Collections()
    frame = Frame(
        store=outer.store,
        pass_state=PassState(),
        collections=collections,
        training=outer.training,
        building=outer.building,
    )
    with push_frame(frame):
        yield collections


def reset_default_graph() -> None:
    """Forgets this thread's default store, naming state and collections (like ``tf.reset_default_graph``)."""
    if _state.frames:
        raise RuntimeError("reset_default_graph() cannot be called while a model or collection_scope is active.")
    _state.default_frame = None
    _state.arg_scope_stack = [{}]
