"""label_image: classify one image with an exported ONNX graph and print the top 5, like TF's label_image.

Runs on ONNX Runtime, numpy and Pillow only (no PyTorch needed): the file can be copied and run on its own,
``python label_image.py --image=flower.jpg --graph=frozen.onnx --labels=labels.txt``.

The image is decoded to RGB (or L for 1-channel graphs), resized to ``input_width`` x ``input_height`` with bilinear
filtering, normalised as ``(pixel - input_mean) / input_std`` and fed as NCHW float32.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["load_labels", "read_tensor_from_image_file", "label_image", "main"]


def load_labels(path: str | None) -> list[str]:
    """Labels one per line; TF-Slim's ``<id>:<name>`` lines are understood too."""
    if not path:
        return []
    labels = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                continue
            head, sep, tail = line.partition(":")
            labels.append(tail if sep and head.strip().isdigit() else line)
    return labels


def read_tensor_from_image_file(
    path: str, input_height: int, input_width: int, input_mean: float, input_std: float, channels: int = 3
) -> np.ndarray:
    """The image as a ``[1, C, H, W]`` float32 array ready for the graph."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB").resize((input_width, input_height), Image.BILINEAR)
        array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    array = (array - input_mean) / input_std
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None])


def label_image(
    image: str,
    graph: str,
    labels: str | None = None,
    input_mean: float = 0.0,
    input_std: float = 255.0,
    input_layer: str = "input",
    output_layer: str | None = None,
    input_width: int | None = None,
    input_height: int | None = None,
    top_k: int = 5,
) -> list[tuple[float, int, str]]:
    """Runs the graph on ``image``; returns the top ``top_k`` ``(score, class id, label)``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    if input_layer not in inputs:
        raise ValueError(f"{graph} has no input {input_layer!r}; inputs are {sorted(inputs)}.")
    shape = inputs[input_layer].shape
    channels = shape[1] if isinstance(shape[1], int) else 3
    height = input_height or (shape[2] if isinstance(shape[2], int) else 224)
    width = input_width or (shape[3] if isinstance(shape[3], int) else 224)
    outputs = [o.name for o in session.get_outputs()]
    if output_layer is None:
        output_layer = outputs[0]
    if output_layer.endswith("/Reshape_1") and output_layer not in outputs:
        output_layer = output_layer[: -len("/Reshape_1")]  # TF-Slim's frozen-graph name for the predictions
    if output_layer not in outputs:
        raise ValueError(f"{graph} has no output {output_layer!r}; outputs are {outputs}.")
    tensor = read_tensor_from_image_file(image, height, width, input_mean, input_std, channels)
    scores = session.run([output_layer], {input_layer: tensor})[0].reshape(-1)
    names = load_labels(labels)
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [(float(scores[i]), int(i), names[i] if i < len(names) else str(i)) for i in order]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prints the top 5 labels of an image with an exported graph.")
    parser.add_argument("--image", required=True, help="image to be processed")
    parser.add_argument("--graph", required=True, help="graph/model to be executed (.onnx)")
    parser.add_argument("--labels", default=None, help="name of file containing labels")
    parser.add_argument("--input_height", type=int, default=None, help="input height")
    parser.add_argument("--input_width", type=int, default=None, help="input width")
    parser.add_argument("--input_mean", type=float, default=0.0, help="input mean")
    parser.add_argument("--input_std", type=float, default=255.0, help="input std")
    parser.add_argument("--input_layer", default="input", help="name of input layer")
    parser.add_argument("--output_layer", default=None, help="name of output layer (default: the first output)")
    args = parser.parse_args(argv)
    for score, _, name in label_image(
        args.image,
        args.graph,
        args.labels,
        args.input_mean,
        args.input_std,
        args.input_layer,
        args.output_layer,
        args.input_width,
        args.input_height,
    ):
        print(f"{name} ({score:.5f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
