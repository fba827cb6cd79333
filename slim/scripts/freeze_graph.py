"""Freezes checkpoint weights into an exported inference graph (TF's ``freeze_graph`` for slim exports).

    python -m slim.scripts.freeze_graph --input_graph=/tmp/inception_v3_inf_graph.onnx \
        --input_checkpoint=/tmp/checkpoints/inception_v3.ckpt --output_graph=/tmp/frozen_inception_v3.onnx \
        --output_node_names=InceptionV3/Predictions/Reshape_1

The checkpoint may be ours or TF-Slim's (V1 or V2). The frozen ONNX file (and a .pt2 program beside it) is verified by
running it on a random input and comparing with the PyTorch model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from slim.scripts.flagspec import Flag, parse_argv, resolve_kwargs

FLAGS = (
    Flag("input_graph", "", "string", "An inference graph written by export_inference_graph (.onnx)."),
    Flag("input_checkpoint", "", "string", "The checkpoint to take the weights from (prefix, file or directory)."),
    Flag("output_graph", "", "string", "Where to write the frozen graph (.onnx; a .pt2 program is written beside)."),
    Flag(
        "output_node_names",
        "",
        "string",
        "The output node name(s) to keep, comma-separated "
        "(<Scope>/Predictions, <Scope>/Predictions/Reshape_1 or <Scope>/Logits).",
    ),
    Flag("input_binary", True, "boolean", "Accepted for TF compatibility (exported graphs are binary ONNX)."),
)

DESCRIPTION = "Merges checkpoint weights into an exported inference graph."


def _check_outputs(requested: str, predictions: str, logits: str) -> None:
    known = {predictions, predictions + "/Reshape_1", logits}
    for name in [n.strip() for n in requested.split(",") if n.strip()]:
        if name not in known:
            raise ValueError(f"Unknown output node {name!r}; this graph's outputs are {sorted(known)}.")


def freeze_graph(**kwargs: Any) -> dict[str, str]:
    """Python entry point taking the flags as keyword arguments; returns the paths written."""
    flags = resolve_kwargs(FLAGS, kwargs, "freeze_graph")
    for name in ("input_graph", "input_checkpoint", "output_graph"):
        if not flags[name]:
            raise ValueError(f"You must supply --{name}.")
    from slim.export.exporter import build_inference_model, export_model, prediction_node_names, read_graph_spec
    from slim.framework.restore import assign_from_checkpoint
    from slim.framework.variables import get_variables_to_restore

    spec = read_graph_spec(flags["input_graph"])
    model = build_inference_model(spec)
    predictions, logits = prediction_node_names(model)
    if flags["output_node_names"]:
        _check_outputs(flags["output_node_names"], predictions, logits)
    assign_op, feed = assign_from_checkpoint(flags["input_checkpoint"], get_variables_to_restore(model=model))
    assign_op(feed)
    model.eval()
    paths = export_model(model, spec, flags["output_graph"], dynamic_spatial=spec.dynamic_spatial)
    _verify(paths["onnx"], model, spec)
    logging.getLogger("slim").info("Froze %s into %s", flags["input_checkpoint"], paths["onnx"])
    return paths


def _verify(onnx_path: str, model: torch.nn.Module, spec: Any) -> None:
    import onnxruntime

    torch.manual_seed(0)
    x = torch.rand(spec.input_shape(spec.batch_size or 2))
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    onnx_predictions = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        logits, _ = model(x)
        expected = torch.softmax(logits.flatten(1), dim=-1).numpy()
    # A fake-quantized graph may land one quantization level away where ONNX Runtime sums in another order.
    tolerance = 2e-2 if getattr(spec, "quantize", False) else 1e-4
    if not np.allclose(onnx_predictions, expected, atol=tolerance):
        raise RuntimeError(
            f"The frozen graph {onnx_path} does not reproduce the PyTorch model's predictions "
            f"(max difference {np.abs(onnx_predictions - expected).max():.3g} > {tolerance})."
        )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    freeze_graph(**parse_argv(FLAGS, argv, "freeze_graph", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
