"""AOTInductor packages of exported networks, for the C++ label_image (``cpp/label_image``).

    python -m slim.export.aoti --input_graph=/tmp/frozen_mobilenet_v1.onnx
    # writes /tmp/frozen_mobilenet_v1.aoti.pt2 from the frozen_mobilenet_v1.pt2 program beside it

C++ cannot run a ``torch.export`` program as such: AOTInductor compiles it ahead of time into a shared library packed
in a ``.pt2`` archive, which ``torch::inductor::AOTIModelPackageLoader`` (in the libtorch of the torch wheel) runs. The
package keeps the ONNX export's input name, input shape (dynamic dimensions as -1) and output names in its metadata
(``slim.input_name``, ``slim.input_shape``, ``slim.output_names``), so that the C++ label_image picks the same input
size and output as the Python one for the same flags. Compiling needs a C++ compiler and takes from a few seconds to
minutes, depending on the network.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.utils._pytree as pytree

__all__ = ["aoti_package_path", "graph_metadata", "compile_aoti_package", "main"]

logger = logging.getLogger("slim")

_SUFFIXES = (".onnx", ".pt2", ".pb")


def _stem(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.name.endswith(".aoti.pt2"):
        return path.with_name(path.name[: -len(".aoti.pt2")])
    return path.with_suffix("") if path.suffix in _SUFFIXES else path


def aoti_package_path(graph: str | os.PathLike) -> Path:
    """``<stem>.aoti.pt2`` for ``<stem>.onnx`` or ``<stem>.pt2``: where the package of an export goes by default."""
    stem = _stem(graph)
    return stem.with_name(stem.name + ".aoti.pt2")


def _onnx_metadata(onnx_path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ValueError(f"{onnx_path} has {len(inputs)} inputs; label_image graphs have one.")
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
    metadata = {
        "slim.input_name": inputs[0].name,
        "slim.input_shape": ",".join(str(d) for d in dims),
        "slim.output_names": ",".join(o.name for o in model.graph.output),
    }
    for entry in model.metadata_props:
        if entry.key == "slim.spec":
            metadata["slim.spec"] = entry.value
    return metadata


def _program_metadata(program: torch.export.ExportedProgram) -> dict[str, str]:
    user_inputs = set(program.graph_signature.user_inputs)
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder" and n.name in user_inputs]
    if len(placeholders) != 1:
        raise ValueError(f"the program has {len(placeholders)} inputs; label_image graphs have one.")
    value = placeholders[0].meta.get("val")
    dims = [int(d) if isinstance(d, int) else -1 for d in value.shape] if value is not None else []
    outputs = len(program.graph_signature.user_outputs)
    return {
        "slim.input_name": placeholders[0].name,
        "slim.input_shape": ",".join(str(d) for d in dims),
        "slim.output_names": ",".join(f"output_{i}" for i in range(outputs)),
    }


def graph_metadata(program: torch.export.ExportedProgram, onnx_path: str | os.PathLike | None = None) -> dict[str, str]:
    """The names and input shape the C++ label_image needs: from the ONNX export when there is one (the names users
    pass, e.g. ``MobilenetV1/Predictions``), else from the program (outputs ``output_0``, ``output_1``, ...)."""
    if onnx_path is not None and Path(onnx_path).exists():
        return _onnx_metadata(Path(onnx_path))
    return _program_metadata(program)


def _verify(program: torch.export.ExportedProgram, package_path: str, metadata: dict[str, str]) -> None:
    """Runs the package and the program on one random image; they must agree to 1e-4.

    Dynamic dimensions take the export's image size (from ``slim.spec``), else 224, and the batch is 1.
    """
    size = json.loads(metadata["slim.spec"]).get("image_size", 224) if "slim.spec" in metadata else 224
    dims = [int(d) for d in metadata["slim.input_shape"].split(",")]
    shape = [1] + [d if d > 0 else (3 if i == 1 else size) for i, d in enumerate(dims) if i > 0]
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = pytree.tree_leaves(program.module()(x))
        got = pytree.tree_leaves(torch._inductor.aoti_load_package(package_path)(x))
    for want, have in zip(expected, got):
        if not torch.allclose(want, have, atol=1e-4, rtol=1e-4):
            raise RuntimeError(f"The AOTInductor package {package_path} does not reproduce the exported program.")


def compile_aoti_package(
    input_graph: str | os.PathLike,
    output_file: str | os.PathLike | None = None,
    verify: bool = True,
    inductor_configs: dict[str, Any] | None = None,
) -> str:
    """Compiles the ``torch.export`` program of an export into an AOTInductor package; returns the package's path.

    Args:
      input_graph: ``<stem>.onnx`` or ``<stem>.pt2`` written by export_inference_graph or freeze_graph; the program
        is ``<stem>.pt2`` and the names come from ``<stem>.onnx`` when it exists.
      output_file: the package (default ``<stem>.aoti.pt2``).
      verify: run the package once against the program (on a random image, 1e-4).
      inductor_configs: extra Inductor options (``aot_inductor.metadata`` is set here).
    """
    stem = _stem(input_graph)
    program_path = stem.with_name(stem.name + ".pt2")
    if not program_path.exists():
        raise FileNotFoundError(f"No torch.export program {program_path} for {input_graph}.")
    program = torch.export.load(str(program_path))
    metadata = graph_metadata(program, stem.with_name(stem.name + ".onnx"))
    package_path = Path(output_file) if output_file else aoti_package_path(stem)
    package_path.parent.mkdir(parents=True, exist_ok=True)
    configs = dict(inductor_configs or {})
    configs["aot_inductor.metadata"] = {**configs.get("aot_inductor.metadata", {}), **metadata}
    from torch._inductor import aoti_compile_and_package

    written = aoti_compile_and_package(program, package_path=str(package_path), inductor_configs=configs)
    if verify:
        _verify(program, str(written), metadata)
    return str(written)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compiles an exported graph into an AOTInductor package for C++.")
    parser.add_argument("--input_graph", required=True, help="<stem>.onnx or <stem>.pt2 from export/freeze_graph")
    parser.add_argument("--output_file", default=None, help="the package to write (default <stem>.aoti.pt2)")
    parser.add_argument("--noverify", dest="verify", action="store_false", help="skip running it once")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = compile_aoti_package(args.input_graph, args.output_file, verify=args.verify)
    logger.info("Wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
