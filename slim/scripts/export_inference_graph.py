"""Exports a network of the nets factory for inference (TF-Slim's ``export_inference_graph.py``).

    python -m slim.scripts.export_inference_graph --model_name=inception_v3 \
        --output_file=/tmp/inception_v3_inf_graph.onnx

Writes ``<output>.onnx`` (input ``input``, outputs ``<Scope>/Predictions`` and ``<Scope>/Logits``) and
``<output>.pt2`` (a ``torch.export`` program). Images are NCHW float32 (video: NCDHW); the batch is dynamic unless
``--batch_size`` is set. Weights are the initial ones: freeze a checkpoint in with ``freeze_graph``. ``--quantize``
exports the fake-quantized inference graph (QuantizeLinear/DequantizeLinear in ONNX); freeze_graph then restores the
weights and quantization ranges of a quantization-aware training checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slim.scripts.flagspec import Flag, parse_argv, resolve_kwargs

FLAGS = (
    Flag("model_name", "inception_v3", "string", "The name of the architecture to save."),
    Flag("is_training", False, "boolean", "Whether to save out a training-focused version of the model."),
    Flag("image_size", None, "integer", "The image size to use, otherwise use the model default_image_size."),
    Flag("batch_size", None, "integer", "Batch size for the exported model. Defaulted to None (dynamic batch)."),
    Flag("dataset_name", "imagenet", "string", "The name of the dataset to use with the model (for num_classes)."),
    Flag(
        "labels_offset",
        0,
        "integer",
        "An offset for the labels in the dataset. This flag is primarily used to "
        "evaluate the VGG and ResNet architectures which do not use a background class for the ImageNet dataset.",
    ),
    Flag("output_file", "", "string", "Where to save the resulting file to (.onnx and .pt2 are written)."),
    Flag("dataset_dir", "", "string", "Directory to save intermediate dataset files to"),
    Flag("quantize", False, "boolean", "whether to use quantized graph or not."),
    Flag("is_video_model", False, "boolean", "whether to use 5-D inputs for video model."),
    Flag("num_frames", None, "integer", "The number of frames to use. Only used if is_video_model is True."),
    Flag("write_text_graphdef", False, "boolean", "Whether to write a text version of the graph (<output>.onnx.txt)."),
    Flag("use_grayscale", False, "boolean", "Whether to convert input images to grayscale."),
)

DESCRIPTION = "Saves out a network's inference graph (ONNX and torch.export)."


def _num_classes(dataset_name: str, dataset_dir: str) -> int:
    try:
        from slim.datasets import dataset_factory

        return dataset_factory.get_dataset(dataset_name, "train", dataset_dir or "/nonexistent").num_classes
    except ImportError:  # pragma: no cover - the datasets package is part of slim
        pass
    from slim.export.exporter import DATASET_NUM_CLASSES

    if dataset_name not in DATASET_NUM_CLASSES:
        raise ValueError(f"Name of dataset unknown {dataset_name}")
    return DATASET_NUM_CLASSES[dataset_name]


def export_inference_graph(**kwargs: Any) -> dict[str, str]:
    """Python entry point taking the flags as keyword arguments; returns the paths written."""
    flags = resolve_kwargs(FLAGS, kwargs, "export_inference_graph")
    if not flags["output_file"]:
        raise ValueError("You must supply the path to save to with --output_file")
    if flags["is_video_model"] and not flags["num_frames"]:
        raise ValueError("Number of frames must be specified for video models with --num_frames")
    from slim.export.exporter import GraphSpec, build_inference_model, export_model
    from slim.nets import nets_factory

    spec_info = nets_factory.get_network_spec(flags["model_name"])
    if spec_info.is_video and not flags["is_video_model"]:
        raise ValueError(f"{flags['model_name']} is a video model: pass --is_video_model and --num_frames.")
    num_classes = _num_classes(flags["dataset_name"], flags["dataset_dir"]) - flags["labels_offset"]
    spec = GraphSpec(
        model_name=flags["model_name"],
        num_classes=num_classes,
        image_size=flags["image_size"] or spec_info.default_image_size,
        batch_size=flags["batch_size"],
        channels=1 if flags["use_grayscale"] else 3,
        is_video_model=flags["is_video_model"],
        num_frames=flags["num_frames"],
        labels_offset=flags["labels_offset"],
        quantize=flags["quantize"],
    )
    model = build_inference_model(spec, is_training=flags["is_training"])
    paths = export_model(model, spec, flags["output_file"], write_text=flags["write_text_graphdef"])
    logging.getLogger("slim").info("Wrote %s", ", ".join(paths.values()))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    export_inference_graph(**parse_argv(FLAGS, argv, "export_inference_graph", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
