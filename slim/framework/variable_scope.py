"""Variable scopes with TF's naming rules: nesting, default-name uniquification (`Conv`, `Conv_1`, ...) and reuse.

The rules follow TF 1.x `tf.variable_scope`:
- a string name extends the current scope; the same name may be opened twice (variables then need ``reuse``);
- a ``default_name`` (used when the name is None) is made unique among the scopes opened so far in this pass;
- leaving a scope forgets the counts of its sub-scopes, so re-entering ``'a'`` with reuse gives ``a/Conv`` again;
- re-entering a captured :class:`VariableScope` object uses its full name, not the current prefix;
- ``reuse`` is inherited by sub-scopes; True or AUTO_REUSE switch it on, False/None inherit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slim.framework.context import AUTO_REUSE, PassState, VariableScope, current_frame

__all__ = ["AUTO_REUSE", "VariableScope", "variable_scope", "name_scope", "get_variable_scope", "join_name"]


def join_name(prefix: str, name: str) -> str:
    """``prefix/name``, or ``name`` at the root."""
    return f"{prefix}/{name}" if prefix else name


def get_variable_scope() -> VariableScope:
    """The current variable scope."""
    return current_frame().pass_state.var_scope_stack[-1]


def _unique_child(pass_state: PassState, parent: str, prefix: str) -> str:
    counts = pass_state.scope_counts.get(parent)
    if not counts or counts.get(prefix, 0) == 0:
        return prefix
    idx = 1
    while counts.get(f"{prefix}_{idx}", 0) > 0:
        idx += 1
    return f"{prefix}_{idx}"


def _split(full_name: str) -> tuple[str, str]:
    parent, _, child = full_name.rpartition("/")
    return parent, child


@contextmanager
def variable_scope(
    name_or_scope: str | VariableScope | None = None,
    default_name: str | None = None,
    values: Any = None,
    reuse: Any = None,
    **unsupported: Any,
) -> Iterator[VariableScope]:
    """Opens a variable scope (see the module docstring for the naming rules).

    Args:
      name_or_scope: a name relative to the current scope, a captured :class:`VariableScope`, or None.
      default_name: the name to make unique when ``name_or_scope`` is None.
      values: accepted for TF compatibility (the tensors the scope's ops use); unused.
      reuse: True, AUTO_REUSE, or False/None to inherit the enclosing scope's setting.

    Yields:
      The new :class:`VariableScope`.
    """
    del values
    if unsupported:
        raise TypeError(
            f"variable_scope: unsupported argument(s) {sorted(unsupported)}; initializers, regularizers and devices "
            "are given to the layers or through slim.arg_scope."
        )
    if reuse is False:
        reuse = None
    pass_state = current_frame().pass_state
    stack = pass_state.var_scope_stack
    parent = stack[-1]
    saved_counts = None
    if isinstance(name_or_scope, VariableScope):
        new_name = name_or_scope.name
        new_reuse = reuse if reuse is not None else name_or_scope.reuse
        saved_counts = {key: dict(counts) for key, counts in pass_state.scope_counts.items()}
    else:
        if name_or_scope is None:
            if default_name is None:
                raise TypeError("variable_scope: give name_or_scope or default_name.")
            if reuse is True:
                raise ValueError("variable_scope: reuse=True cannot be used without a name_or_scope.")
            name = _unique_child(pass_state, parent.name, default_name)
        elif isinstance(name_or_scope, str):
            name = name_or_scope
        else:
            raise TypeError(
                "variable_scope: name_or_scope must be a string or a VariableScope, got "
                f"{type(name_or_scope).__name__}."
            )
        new_name = join_name(parent.name, name)
        new_reuse = reuse if reuse is not None else parent.reuse
    scope_parent, child = _split(new_name)
    counts = pass_state.scope_counts.setdefault(scope_parent, {})
    counts[child] = counts.get(child, 0) + 1
    scope = VariableScope(new_name, new_reuse)
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.pop()
        if saved_counts is not None:
            pass_state.scope_counts = saved_counts
        else:
            # Sub-scopes deeper than the children were already forgotten when their own scopes closed.
            pass_state.scope_counts.pop(new_name, None)


def name_scope(name: str | None, default_name: str | None = None) -> str:
    """The unique name-scope string for an op without variables (pooling, flatten, ...).

    TF gives every op name scope a graph-unique name; the result (without a trailing '/') is what such layers report
    as their end-point alias, e.g. ``vgg_16/pool1``.
    """
    if name is None:
        if default_name is None:
            raise TypeError("name_scope: give name or default_name.")
        name = default_name
    pass_state = current_frame().pass_state
    full = join_name(pass_state.var_scope_stack[-1].name, name)
    counts = pass_state.name_scope_counts
    used = counts.get(full, 0)
    counts[full] = used + 1
    return full if used == 0 else f"{full}_{used}"
