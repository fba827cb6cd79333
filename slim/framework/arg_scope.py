"""`arg_scope`: default keyword arguments for groups of layers, with TF-Slim's semantics.

    with slim.arg_scope([slim.conv2d, slim.fully_connected], activation_fn=torch.relu,
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID', scope='conv1')

Two TF-Slim bugs are fixed: an argument passed explicitly (by keyword or by position) always wins over the scope, and
a scope keyword that the function does not accept is an error when the scope is entered, not when the layer runs.
The scope stack is thread-local and popped in ``finally``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from slim.framework.context import _thread_state

__all__ = [
    "arg_scope",
    "add_arg_scope",
    "current_arg_scope",
    "has_arg_scope",
    "arg_scoped_arguments",
    "arg_scope_func_key",
]

_KEY_ATTR = "_key_op"
_ARGS_ATTR = "_arg_scoped_arguments"
_ACCEPTS_ATTR = "_arg_scope_accepts"


def arg_scope_func_key(op: Callable) -> str:
    """The key under which ``op``'s defaults are stored (shared by aliases such as conv2d/convolution2d)."""
    return getattr(op, _KEY_ATTR, str(op))


def current_arg_scope() -> dict[str, dict[str, Any]]:
    """The innermost arg scope: ``{op key: {keyword: value}}``."""
    return _thread_state().arg_scope_stack[-1]


def has_arg_scope(func: Callable) -> bool:
    """Whether ``func`` was decorated with :func:`add_arg_scope`."""
    return hasattr(func, _KEY_ATTR)


def arg_scoped_arguments(func: Callable) -> tuple[str, ...]:
    """The keyword arguments (those with defaults) that an arg scope may set for ``func``."""
    if not has_arg_scope(func):
        raise ValueError(f"{_op_name(func)} is not decorated with @add_arg_scope.")
    return getattr(func, _ARGS_ATTR)


def _op_name(op: Any) -> str:
    return getattr(op, "__name__", repr(op))


def _check_kwargs(op: Callable, kwargs: dict[str, Any]) -> None:
    accepts = getattr(op, _ACCEPTS_ATTR)
    if accepts is None:  # the function takes **kwargs: anything goes
        return
    unknown = sorted(set(kwargs) - accepts)
    if unknown:
        raise ValueError(
            f"arg_scope: {_op_name(op)}() does not accept the keyword argument(s) {unknown}; "
            f"it accepts {sorted(accepts)}."
        )


@contextmanager
def arg_scope(list_ops_or_scope: Sequence[Callable] | dict | None, **kwargs: Any) -> Iterator[dict]:
    """Sets default keyword arguments for the given ops within the block.

    Args:
      list_ops_or_scope: a list or tuple of ops decorated with :func:`add_arg_scope`, or a scope dict yielded by an
        earlier ``arg_scope`` (re-entered as the whole current scope, as TF-Slim does with net ``*_arg_scope()``).
      **kwargs: the defaults. Inner scopes override outer ones per keyword; other keywords are inherited.

    Yields:
      The new current scope dict, which can be saved and re-entered later.

    Raises:
      ValueError: an op is not decorated, an op does not accept one of the keywords, or kwargs are given together
        with a scope dict.
      TypeError: ``list_ops_or_scope`` is neither a list/tuple nor a dict.
    """
    stack = _thread_state().arg_scope_stack
    if isinstance(list_ops_or_scope, dict):
        if kwargs:
            raise ValueError("arg_scope: keyword arguments cannot be given when re-entering a saved scope dict.")
        new_scope = dict(list_ops_or_scope)
    elif isinstance(list_ops_or_scope, (list, tuple)):
        new_scope = dict(stack[-1])
        for op in list_ops_or_scope:
            if not has_arg_scope(op):
                raise ValueError(
                    f"arg_scope: {_op_name(op)} is not decorated with @slim.add_arg_scope, so it cannot take defaults "
                    "from an arg_scope."
                )
            _check_kwargs(op, kwargs)
            key = arg_scope_func_key(op)
            merged = dict(new_scope.get(key, {}))
            merged.update(kwargs)
            new_scope[key] = merged
    else:
        raise TypeError(
            f"arg_scope: expected a list/tuple of ops or a scope dict, got {type(list_ops_or_scope).__name__}."
        )
    stack.append(new_scope)
    try:
        yield new_scope
    finally:
        stack.pop()


def add_arg_scope(func: Callable) -> Callable:
    """Decorates ``func`` so that it takes default keyword arguments from the current :func:`arg_scope`.

    An argument given explicitly in the call, by keyword or by position, always wins over the scope.
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    positional_names = tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    takes_var_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
    accepts = (
        None
        if takes_var_kwargs
        else frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    )
    key = getattr(func, _KEY_ATTR, f"{func.__module__}.{func.__qualname__}")

    @functools.wraps(func)
    def func_with_args(*args: Any, **kwargs: Any) -> Any:
        scope = _thread_state().arg_scope_stack[-1]
        defaults = scope.get(key)
        if defaults:
            given_positionally = positional_names[: len(args)]
            merged = {k: v for k, v in defaults.items() if k not in kwargs and k not in given_positionally}
            if merged:
                merged.update(kwargs)
                kwargs = merged
        return func(*args, **kwargs)

    setattr(func_with_args, _KEY_ATTR, key)
    setattr(
        func_with_args,
        _ARGS_ATTR,
        tuple(p.name for p in params if p.default is not inspect.Parameter.empty),
    )
    setattr(func_with_args, _ACCEPTS_ATTR, accepts)
    return func_with_args
