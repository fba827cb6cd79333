"""Export a network for inference: ONNX (``input`` -> ``<Scope>/Predictions``, ``<Scope>/Logits``) and a
``torch.export`` program, with a dynamic batch and, where the network allows it, dynamic height and width.

TF-Slim exports a GraphDef without weights and freezes the weights in later. Here every exported file is runnable:
:func:`export_inference_graph` writes the network with its initial weights plus the description that rebuilds it
(ONNX metadata ``slim.spec``), and :func:`freeze_graph` rebuilds it from that description, loads a checkpoint (ours or
TF-Slim's) and writes the frozen model.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from slim.framework.module import Model
from slim.nets import nets_factory

__all__ = [
    "GraphSpec",
    "InferenceGraph",
    "build_inference_model",
    "export_model",
    "read_graph_spec",
    "prediction_node_names",
    "DATASET_NUM_CLASSES",
]

logger = logging.getLogger("slim")

# Number of classes of the datasets TF-Slim knows, for export without the dataset on disk.
DATASET_NUM_CLASSES = {"imagenet": 1001, "flowers": 5, "cifar10": 10, "mnist": 10, "digits": 10, "visualwakewords": 2}


@dataclass
class GraphSpec:
    """Everything that rebuilds an exported network."""

    model_name: str
    num_classes: int
    image_size: int
    batch_size: int | None = None
    channels: int = 3
    is_video_model: bool = False
    num_frames: int | None = None
    labels_offset: int = 0
    dynamic_spatial: bool = False
    quantize: bool = False  # fake-quantized (slim.quantize.create_eval_graph); ranges come from the checkpoint

    def input_shape(self, batch: int = 1) -> list[int]:
        if self.is_video_model:
            return [batch, self.channels, self.num_frames, self.image_size, self.image_size]
        return [batch, self.channels, self.image_size, self.image_size]


def prediction_node_names(model: Model) -> tuple[str, str]:
    """``(<Scope>/Predictions, <Scope>/Logits)``: the names users look for (NASNet/PNASNet: ``final_layer``)."""
    names = list(model.state_dict())
    first = {name.split("/")[0] for name in names}
    scope = first.pop() if len(first) == 1 else "final_layer"
    return f"{scope}/Predictions", f"{scope}/Logits"


class InferenceGraph(nn.Module):
    """``input`` -> ``(predictions, logits)``: softmax probabilities and logits of a built network."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002 - TF's input name
        logits, _ = self.model(input)
        logits = logits.flatten(1) if logits.dim() > 2 else logits
        return torch.softmax(logits, dim=-1), logits


def build_inference_model(spec: GraphSpec, is_training: bool = False) -> Model:
    """Builds the network of ``spec`` (random weights), in eval mode unless ``is_training``; fake-quantized (TF's
    ``create_eval_graph``) when ``spec.quantize``."""
    model = nets_factory.get_network_fn(spec.model_name, num_classes=spec.num_classes, is_training=is_training)
    model.collect_end_points = False
    example = torch.zeros(spec.input_shape())
    model.build(example)
    if spec.quantize:
        from slim.quantize import create_eval_graph

        create_eval_graph(model, example_input=example)
    return model


def _dynamic_shapes(spec: GraphSpec, spatial: bool) -> dict:
    dims: dict[int, Any] = {}
    if spec.batch_size is None:
        dims[0] = torch.export.Dim("batch", min=1, max=4096)
    if spatial:
        low, high = spec.image_size, spec.image_size * 4
        offset = 3 if spec.is_video_model else 2
        dims[offset] = torch.export.Dim("height", min=low, max=high)
        dims[offset + 1] = torch.export.Dim("width", min=low, max=high)
    return {"input": dims}


def _check_other_size(program: Any, spec: GraphSpec, batch: int) -> None:
    """Runs a dynamic-size program at a second size: an export can succeed although the network's head (a flatten
    feeding a dense layer) only works at the traced size; then the export must stay static."""
    shape = spec.input_shape(batch)
    shape[-2] += 32
    shape[-1] += 32
    with torch.no_grad():
        program.module()(torch.zeros(shape))


def export_model(
    model: Model,
    spec: GraphSpec,
    output_file: str | os.PathLike,
    write_text: bool = False,
    dynamic_spatial: bool = True,
) -> dict[str, str]:
    """Writes ``<output>.onnx`` and ``<output>.pt2`` for ``model`` (and ``<output>.onnx.txt`` with ``write_text``).

    Height and width are dynamic when the network allows it (some heads fix their kernel to the input size); the
    batch is dynamic unless ``spec.batch_size`` is set. Returns the paths written.
    """
    output = Path(output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    stem = output.with_suffix("") if output.suffix in (".onnx", ".pt2", ".pb") else output
    graph = InferenceGraph(model).eval()
    batch = spec.batch_size or 2
    example = torch.zeros(spec.input_shape(batch))
    program = None
    spec.dynamic_spatial = False
    if dynamic_spatial:
        try:
            program = torch.export.export(graph, (example,), dynamic_shapes=_dynamic_shapes(spec, True))
            _check_other_size(program, spec, batch)
            spec.dynamic_spatial = True
        except Exception as error:  # torch raises several kinds for shape constraints
            program = None
            logger.info(
                "%s: height/width stay static in the export (%s).", spec.model_name, str(error).splitlines()[0][:200]
            )
    if program is None:
        program = torch.export.export(graph, (example,), dynamic_shapes=_dynamic_shapes(spec, False))
    predictions_name, logits_name = prediction_node_names(model)
    paths = {"program": str(stem) + ".pt2", "onnx": str(stem) + ".onnx"}
    torch.export.save(program, paths["program"])
    import onnx

    onnx_program = torch.onnx.export(
        program, (example,), input_names=["input"], output_names=[predictions_name, logits_name], dynamo=True
    )
    onnx_model = onnx_program.model_proto
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = "slim.spec", json.dumps(asdict(spec))
    onnx.save(onnx_model, paths["onnx"])
    if write_text:
        paths["text"] = paths["onnx"] + ".txt"
        Path(paths["text"]).write_text(onnx.printer.to_text(onnx_model.graph))
    return paths


def read_graph_spec(path: str | os.PathLike) -> GraphSpec:
    """The :class:`GraphSpec` stored in an exported ONNX file.

    Raises:
      ValueError: the file is not an ONNX model exported by slim (names the file).
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:
        raise ValueError(f"{path} is not an ONNX model: {error}") from error
    for entry in model.metadata_props:
        if entry.key == "slim.spec":
            return GraphSpec(**json.loads(entry.value))
    raise ValueError(f"{path} has no slim.spec metadata: it was not written by export_inference_graph.")
