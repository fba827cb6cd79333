"""``create_training_graph`` / ``create_eval_graph``: tf.contrib.quantize's entry points, for a built `slim.Model`.

TF rewrites the default graph; here the model gets a :class:`~slim.quantize.quantizer.Quantizer` that its conv and
dense layers consult, and the quantization variables are created right away by one pass over an example input (in
the model's current mode, without changing any statistic). So they exist before a checkpoint is restored, an
optimizer or DDP is set up, or the model is compiled or exported: quantize right after ``build``.
"""

from __future__ import annotations

import torch

from slim.framework.module import Model
from slim.framework.variables import _store_of
from slim.quantize.hooks import QUANTIZER_ATTRIBUTE
from slim.quantize.quantizer import QuantizeConfig, Quantizer

__all__ = [
    "create_training_graph",
    "create_eval_graph",
    "experimental_create_training_graph",
    "experimental_create_eval_graph",
    "get_quantizer",
]


def get_quantizer(model: torch.nn.Module) -> Quantizer | None:
    """The quantizer attached to ``model`` (a slim.Model or its DDP/compiled wrapper), or None."""
    return getattr(_store_of(model), QUANTIZER_ATTRIBUTE, None)


def _attach(model: Model, example_input: torch.Tensor, config: QuantizeConfig) -> Quantizer:
    if not isinstance(model, Model):
        raise TypeError(
            f"Quantization rewrites a slim.Model, got {type(model).__name__}: quantize before DDP / torch.compile."
        )
    model._check_built("Quantization")
    if get_quantizer(model) is not None:
        raise ValueError("The model is quantized already (create_training_graph / create_eval_graph was called).")
    if example_input is None:
        raise ValueError("Quantization needs an example_input (e.g. torch.zeros(1, 3, size, size)) to find the layers.")
    from slim.layers.normalization import batch_norm

    store = model.store
    quantizer = Quantizer(store, config, batch_norm)
    device = next(iter(model.state_dict().values())).device
    setattr(store, QUANTIZER_ATTRIBUTE, quantizer)
    quantizer.discovering = True
    try:
        with torch.no_grad():
            # A build-mode pass (as Model.build): training-only parts run when the model is in training mode, batch
            # norm normalises with its moving statistics, and nothing is updated.
            model._run(example_input.to(device), {}, training=model.training, building=True)
        if not quantizer.layers:
            raise ValueError(f"No convolution or fully connected layer to quantize in {model.extra_repr()}.")
        if config.quant_delay is not None and config.quant_delay > 0:
            quantizer.create_step_variable(device)
    except BaseException:
        delattr(store, QUANTIZER_ATTRIBUTE)
        raise
    finally:
        quantizer.discovering = False
    return quantizer


def experimental_create_training_graph(
    model: Model,
    example_input: torch.Tensor,
    weight_bits: int = 8,
    activation_bits: int = 8,
    quant_delay: int = 0,
    scope: str | None = None,
    ema_decay: float = 0.999,
) -> Quantizer:
    """Quantization-aware training of ``model`` with TF's ``experimental_create_training_graph`` options.

    Weights of every 2-D convolution (also depthwise/pointwise) and fully connected layer are fake-quantized with
    their current range (narrow range), their outputs with a moving-average range; a ``slim.batch_norm`` normalizer
    is folded into the weights. From training pass ``quant_delay`` on values are quantized; before, ranges are tracked
    and values pass through. In ``model.eval()`` ranges stay fixed.

    Returns:
      The attached quantizer (``quantizer.layers`` lists the quantized layers).
    """
    config = QuantizeConfig(None, quant_delay, weight_bits, activation_bits, ema_decay, scope)
    return _attach(model, example_input, config)


def create_training_graph(model: Model, quant_delay: int = 0, example_input: torch.Tensor | None = None) -> Quantizer:
    """``tf.contrib.quantize.create_training_graph(quant_delay=...)`` for a built model: 8-bit fake quantization of
    weights and activations (see :func:`experimental_create_training_graph`)."""
    return experimental_create_training_graph(model, example_input, quant_delay=quant_delay)


def experimental_create_eval_graph(
    model: Model,
    example_input: torch.Tensor,
    weight_bits: int = 8,
    activation_bits: int = 8,
    scope: str | None = None,
) -> Quantizer:
    """The inference counterpart of :func:`experimental_create_training_graph`: quantized from the first pass, with
    the ranges held in the variables (restore them from a quantization-aware training checkpoint)."""
    config = QuantizeConfig(False, None, weight_bits, activation_bits, 0.999, scope)
    return _attach(model, example_input, config)


def create_eval_graph(model: Model, example_input: torch.Tensor | None = None) -> Quantizer:
    """``tf.contrib.quantize.create_eval_graph()`` for a built model (8-bit weights and activations)."""
    return experimental_create_eval_graph(model, example_input)
