"""export_inference_graph, freeze_graph and label_image (Python, without PyTorch) on small networks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from PIL import Image

from slim.export import exporter
from slim.export.label_image import label_image
from slim.framework import checkpoint as ckpt
from slim.scripts.export_inference_graph import export_inference_graph
from slim.scripts.freeze_graph import freeze_graph

REPO = Path(__file__).resolve().parents[2]


def run_onnx(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})


def model_outputs(spec, state, x):
    model = exporter.build_inference_model(spec)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        logits, _ = model(x)
    return torch.softmax(logits, -1).numpy(), logits.numpy()


# MobileNet v2 pools globally: height and width stay dynamic (checked at a second size). Inception v2's head fixes
# its pooling kernel to the exported size, so it is exported at two sizes (asymmetric TF SAME padding at both).
@pytest.mark.parametrize(
    "model_name, size, other_size", [("mobilenet_v2_035", 64, 96), ("inception_v2", 64, 64), ("inception_v2", 96, 96)]
)
def test_export_matches_pytorch_with_dynamic_batch(tmp_path, model_name, size, other_size):
    paths = export_inference_graph(
        model_name=model_name,
        image_size=size,
        dataset_name="flowers",
        output_file=str(tmp_path / "graph.onnx"),
        write_text_graphdef=True,
    )
    assert Path(paths["onnx"]).exists() and Path(paths["program"]).exists() and Path(paths["text"]).exists()
    spec = exporter.read_graph_spec(paths["onnx"])
    assert spec.num_classes == 5 and spec.model_name == model_name
    graph = onnx.load(paths["onnx"])
    scope = {"mobilenet_v2_035": "MobilenetV2", "inception_v2": "InceptionV2"}[model_name]
    assert [i.name for i in graph.graph.input] == ["input"]
    assert [o.name for o in graph.graph.output] == [f"{scope}/Predictions", f"{scope}/Logits"]
    # The exported weights are the model's initial ones: rebuild it from the program to compare.
    program = torch.export.load(paths["program"])
    for batch, hw in ((1, size), (3, other_size if spec.dynamic_spatial else size)):
        x = torch.randn(batch, 3, hw, hw)
        expected = program.module()(x)
        predictions, logits = run_onnx(paths["onnx"], x)
        assert predictions.shape == (batch, 5)
        assert np.allclose(logits, expected[1].detach().numpy(), atol=1e-4)
    assert spec.dynamic_spatial == (model_name == "mobilenet_v2_035")


def test_export_flag_errors(tmp_path):
    with pytest.raises(ValueError, match="You must supply the path to save to with --output_file"):
        export_inference_graph(model_name="lenet")
    with pytest.raises(ValueError, match="Number of frames must be specified"):
        export_inference_graph(model_name="i3d", is_video_model=True, output_file=str(tmp_path / "x.onnx"))
    with pytest.raises(TypeError, match="Did you mean 'model_name'"):
        export_inference_graph(model_nam="lenet")


def _checkpoint_for(spec, directory):
    model = exporter.build_inference_model(spec)
    torch.manual_seed(7)
    state = {}
    for name, value in model.state_dict().items():
        if "moving_variance" in name:
            state[name] = torch.rand_like(value) + 0.5
        else:
            state[name] = torch.randn_like(value) * 0.1
    ckpt.save_checkpoint(Path(directory) / "model.ckpt-3", state, {"global_step": 3})
    return state


def test_freeze_graph_and_label_image(tmp_path):
    paths = export_inference_graph(
        model_name="mobilenet_v1_025",
        image_size=64,
        dataset_name="flowers",
        output_file=str(tmp_path / "inf_graph.onnx"),
    )
    spec = exporter.read_graph_spec(paths["onnx"])
    state = _checkpoint_for(spec, tmp_path / "train")
    frozen = freeze_graph(
        input_graph=paths["onnx"],
        input_checkpoint=str(tmp_path / "train"),
        output_graph=str(tmp_path / "frozen.onnx"),
        output_node_names="MobilenetV1/Predictions/Reshape_1",
    )
    x = torch.rand(2, 3, 64, 64)
    expected_predictions, expected_logits = model_outputs(spec, state, x)
    predictions, logits = run_onnx(frozen["onnx"], x)
    assert np.allclose(logits, expected_logits, atol=1e-4)
    with pytest.raises(ValueError, match="Unknown output node 'Nope'"):
        freeze_graph(
            input_graph=paths["onnx"],
            input_checkpoint=str(tmp_path / "train"),
            output_graph=str(tmp_path / "frozen2.onnx"),
            output_node_names="Nope",
        )

    # label_image on a real image file gives the model's top 5.
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 255, (50, 70, 3), dtype=np.uint8)).save(tmp_path / "image.png")
    labels = tmp_path / "labels.txt"
    labels.write_text("0:daisy\n1:dandelion\n2:roses\n3:sunflowers\n4:tulips\n")
    top = label_image(
        str(tmp_path / "image.png"),
        frozen["onnx"],
        str(labels),
        input_mean=127.5,
        input_std=127.5,
        output_layer="MobilenetV1/Predictions/Reshape_1",
    )
    with Image.open(tmp_path / "image.png") as image:
        array = np.asarray(image.convert("RGB").resize((64, 64), Image.BILINEAR), dtype=np.float32)
    tensor = torch.from_numpy((array - 127.5) / 127.5).permute(2, 0, 1)[None]
    expected, _ = model_outputs(spec, state, tensor)
    order = np.argsort(-expected[0], kind="stable")[:5]
    assert [t[1] for t in top] == order.tolist()
    assert top[0][2] == ["daisy", "dandelion", "roses", "sunflowers", "tulips"][order[0]]

    # The same, as a command without PyTorch importable (torch imports are made to fail).
    blocker = tmp_path / "no_torch"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    script = REPO / "slim" / "export" / "label_image.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            f"--image={tmp_path / 'image.png'}",
            f"--graph={frozen['onnx']}",
            f"--labels={labels}",
            "--input_mean=127.5",
            "--input_std=127.5",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith(top[0][2] + " (")
