"""`run_layer_test`: the one harness every layer's tests call.

It checks, for a layer called as ``layer(inputs, *args, **kwargs)`` inside a :class:`slim.Model`:
output shape; variable names and shapes (our layout); reuse (the same scope called twice with ``reuse=True`` makes no
new variables and gives the same output); a strict ``state_dict`` round trip into a fresh model; and train/eval
behaviour (deterministic layers give the same output in both modes; layers such as batch norm differ).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from slim.framework.module import Model

__all__ = ["run_layer_test"]


def _output(value: Any) -> torch.Tensor:
    return value[0] if isinstance(value, (tuple, list)) else value


def run_layer_test(
    layer: Callable[..., Any],
    input_shape: Sequence[int],
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    expected_output_shape: Sequence[int] | None = None,
    expected_variables: dict[str, Sequence[int]] | None = None,
    scope: str = "layer",
    train_eval_differ: bool = False,
    check_reuse: bool = True,
    seed: int = 0,
) -> Model:
    """Runs the standard layer checks and returns the built model (for further, layer-specific asserts).

    Args:
      layer: the layer function (e.g. ``slim.conv2d``).
      input_shape: the input's shape (channels-first).
      args, kwargs: arguments after the input; ``scope`` is passed as ``scope=``.
      expected_output_shape: the output's shape, if it should be checked.
      expected_variables: ``{full name: shape}`` that the layer must create, exactly (None: don't check).
      train_eval_differ: whether training and evaluation modes should give different outputs.
      check_reuse: whether to check calling the layer twice under ``reuse=True``.
    """
    kwargs = dict(kwargs or {})
    torch.manual_seed(seed)
    inputs = torch.randn(*input_shape)

    def fn(x: torch.Tensor) -> Any:
        return layer(x, *args, scope=scope, **kwargs)

    model = Model(fn).build(inputs)
    model.eval()
    with torch.no_grad():
        out_eval = _output(model(inputs))
    if expected_output_shape is not None:
        assert tuple(out_eval.shape) == tuple(expected_output_shape), (
            f"output shape {tuple(out_eval.shape)} != expected {tuple(expected_output_shape)}"
        )
    variables = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    if expected_variables is not None:
        expected = {name: tuple(shape) for name, shape in expected_variables.items()}
        assert variables == expected, f"variables {variables} != expected {expected}"

    # A strict state_dict round trip into a fresh model gives the same outputs.
    fresh = Model(fn).build(inputs)
    fresh.load_state_dict(model.state_dict(), strict=True)
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(_output(fresh(inputs)), out_eval), "outputs differ after a state_dict round trip"

    # Train/eval behaviour.
    model.train()
    torch.manual_seed(seed + 1)
    out_train = _output(model(inputs.clone()))
    same = out_train.shape == out_eval.shape and torch.allclose(out_train, out_eval, atol=1e-6)
    if train_eval_differ:
        assert not same, "training and evaluation outputs should differ for this layer"
    else:
        assert same, "training and evaluation outputs should be equal for this layer"

    if check_reuse and variables:

        def twice(x: torch.Tensor) -> tuple[Any, Any]:
            first = layer(x, *args, scope=scope, **kwargs)
            second = layer(x, *args, scope=scope, reuse=True, **kwargs)
            return first, second

        reused = Model(twice).build(inputs)
        assert set(reused.state_dict()) == set(variables), "reuse=True created new variables"
        reused.eval()
        with torch.no_grad():
            first, second = reused(inputs)
        assert torch.equal(_output(first), _output(second)), "reused layer gives a different output"
    return model
