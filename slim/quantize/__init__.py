"""Quantization-aware training and quantized inference (TF's ``tf.contrib.quantize``) for `slim.Model`s.

    model = slim.Model(...).build(example)
    slim.quantize.create_training_graph(model, quant_delay=2000, example_input=example)   # then train as usual
    ...
    eval_model = slim.Model(...).build(example)
    slim.quantize.create_eval_graph(eval_model, example_input=example)    # then restore the QAT checkpoint

See docs/quantization.md for what matches TF and what does not.
"""

from slim.quantize.fake_quant import fake_quant_with_min_max_vars, nudged_quantization_params
from slim.quantize.graph import (
    create_eval_graph,
    create_training_graph,
    experimental_create_eval_graph,
    experimental_create_training_graph,
    get_quantizer,
)
from slim.quantize.quantizer import QUANTIZATION_STEP, LayerQuantization, QuantizeConfig, Quantizer

__all__ = [
    "create_training_graph",
    "create_eval_graph",
    "experimental_create_training_graph",
    "experimental_create_eval_graph",
    "get_quantizer",
    "fake_quant_with_min_max_vars",
    "nudged_quantization_params",
    "Quantizer",
    "QuantizeConfig",
    "LayerQuantization",
    "QUANTIZATION_STEP",
]
