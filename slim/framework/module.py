"""`slim.Model`: an ``nn.Module`` that runs a TF-Slim-style model function over its own variable store.

    def my_net(inputs, num_classes=10, is_training=None, scope='MyNet'):
        with slim.variable_scope(scope, 'MyNet', [inputs]):
            net = slim.conv2d(inputs, 32, [3, 3], scope='conv1')
            ...
            return logits, end_points

    model = slim.Model(my_net, num_classes=5).build(torch.zeros(1, 3, 32, 32))
    logits, end_points = model(images)
    model.state_dict().keys()   # 'MyNet/conv1/weights', 'MyNet/conv1/biases', ...

The first (build) pass creates every variable with shapes inferred from the example input; afterwards the model is
an ordinary module: parameters for optimizers, buffers for moving statistics, ``state_dict`` keys equal to the TF-Slim
names, and nothing special for DDP, ``torch.compile``, ``torch.export`` or ONNX. Order of use: build, load weights,
then optimizer / DDP / compile / export.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from slim.framework.arg_scope import arg_scope
from slim.framework.collections import Collections
from slim.framework.context import Frame, PassState, current_frame, push_frame
from slim.framework.store import VariableStore

__all__ = ["Model", "NotBuiltError"]


class NotBuiltError(RuntimeError):
    """A Model was used in a way that needs its variables before it was built."""


def _tracing() -> bool:
    if torch.compiler.is_compiling():
        return True
    if torch.jit.is_tracing():
        return True
    try:
        from torch.fx._symbolic_trace import is_fx_tracing

        return is_fx_tracing()
    except ImportError:  # pragma: no cover - older torch
        return False


class Model(nn.Module):
    """Runs ``fn(inputs, *args, **kwargs)`` with this module's variable store active.

    Args:
      fn: a TF-Slim-style model function; its first argument is the input tensor (NCHW images for the nets).
      *args, **kwargs: further arguments bound to every call (call-time keyword arguments override them).
      arg_scope: an optional arg scope dict (as returned by a net's ``*_arg_scope()``) entered on every call.

    Layers whose ``is_training`` is None follow ``model.train()`` / ``model.eval()``.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, arg_scope: dict | None = None, **kwargs: Any) -> None:
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._arg_scope = arg_scope
        self._store = VariableStore(self)
        self._built = False
        # True: every end point. False skips outputs_collections, so end points built from collections (VGG,
        # ResNet, ...) are not kept alive: faster, leaner inference when only the logits are needed. A collection of
        # names returns only those end points: what compiled training should do, since every end point a compiled
        # graph returns gets a gradient input (zeros when unused) that its backward pass adds in.
        self.collect_end_points: bool | Collection[str] = True

    # --- building ----------------------------------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        """Whether the variables exist (after :meth:`build` or the first call)."""
        return self._built

    @torch.no_grad()
    def build(self, example_input: torch.Tensor, **kwargs: Any) -> Model:
        """Creates every variable by running the model function once on ``example_input``.

        Batch normalisation runs in inference mode during the build, so moving statistics are not changed, and any
        batch size (1 included) works. Variables are created on the example input's device.

        Returns:
          self, so that ``model = slim.Model(fn).build(x)`` reads naturally.
        """
        if self._built:
            return self
        self._store.default_device = example_input.device if isinstance(example_input, torch.Tensor) else None
        try:
            self._run(example_input, kwargs, training=self.training, building=True)
        except BaseException:
            # Leave no half-built state behind: the next build starts from scratch.
            for name in list(self._store.infos):
                self._parameters.pop(name, None)
                self._buffers.pop(name, None)
            self._store.infos.clear()
            raise
        self._store.frozen = True
        self._built = True
        return self

    def _check_built(self, what: str) -> None:
        if not self._built:
            raise NotBuiltError(
                f"{what} needs the model's variables, but {self._fn.__name__} has not been built yet. Call "
                "model.build(example_input) (or run the model once eagerly) first; the order is: build, load weights, "
                "then optimizer / DDP / torch.compile / export."
            )

    # --- running -----------------------------------------------------------------------------------------------------

    def _run(self, inputs: Any, kwargs: dict[str, Any], training: bool, building: bool) -> Any:
        outer = current_frame()
        collections = Collections()
        frame = Frame(
            store=self._store,
            pass_state=PassState(),
            collections=collections,
            training=training,
            building=building,
            collect_outputs=bool(self.collect_end_points) or building,
        )
        call_kwargs = {**self._kwargs, **kwargs} if kwargs else self._kwargs
        with push_frame(frame):
            if self._arg_scope is not None:
                with arg_scope(self._arg_scope):
                    outputs = self._fn(inputs, *self._args, **call_kwargs)
            else:
                outputs = self._fn(inputs, *self._args, **call_kwargs)
        if not building:
            collections.add_store(self._store)
            collections.merge_into(outer.collections)
        return outputs

    def forward(self, inputs: Any, **kwargs: Any) -> Any:
        """Runs the model function; builds first if needed (eagerly only)."""
        if not self._built:
            if _tracing():
                self._check_built("Tracing, compiling or exporting")
            self.build(inputs, **kwargs)
        outputs = self._run(inputs, kwargs, training=self.training, building=False)
        wanted = self.collect_end_points
        if not isinstance(wanted, bool) and isinstance(outputs, tuple) and len(outputs) == 2:
            logits, end_points = outputs
            if isinstance(end_points, dict):
                outputs = (logits, {name: value for name, value in end_points.items() if name in wanted})
        return outputs

    # --- module API guards ------------------------------------------------------------------------------------------

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        self._check_built("parameters()")
        return super().parameters(recurse)

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]:
        self._check_built("named_parameters()")
        return super().named_parameters(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False):
        self._check_built("load_state_dict()")
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # --- TF-Slim conveniences ----------------------------------------------------------------------------------------

    @property
    def store(self) -> VariableStore:
        """The variable store (names, collections and regularizers of every variable)."""
        return self._store

    @contextmanager
    def as_default(self) -> Iterator[Model]:
        """Makes this model's store the active one, so ``slim.get_model_variables()`` etc. query it."""
        frame = Frame(
            store=self._store,
            pass_state=PassState(),
            collections=current_frame().collections,
            training=self.training,
        )
        with push_frame(frame):
            yield self

    def regularization_losses(self) -> list[torch.Tensor]:
        """The regularizers given at variable creation, evaluated on the current weights."""
        return [loss for _, loss in self._store.regularization_losses()]

    def extra_repr(self) -> str:
        state = f"{len(self._store.infos)} variables" if self._built else "not built"
        return f"fn={getattr(self._fn, '__name__', self._fn)}, {state}"
