"""The C++ label_image (cpp/label_image) against the Python one: same top 5 for the same image, flags and labels.

The program is built once (shared by xdist workers through a lock) with slim.export.build_cpp_label_image; the
tests skip only when this machine has no C++ compiler or no libjpeg/libpng headers. Its preprocessing is compared
bit for bit with the Python label_image's through --dump_input, on JPEG and PNG variants and on sizes that take
both of Pillow's resampling pass orders; the end-to-end test runs an AOTInductor package of LeNet.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import zlib
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from PIL import Image

from slim.export import aoti, exporter
from slim.export.build_cpp_label_image import build_cpp_label_image, build_requirements_missing
from slim.export.label_image import main as python_label_image
from slim.export.label_image import read_tensor_from_image_file

pytestmark = pytest.mark.slow  # building against libtorch (and AOTInductor compiling) takes ~a minute


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built label_image; one build for all xdist workers (the stamp makes the later calls no-ops)."""
    reason = build_requirements_missing()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    build = root / "cpp_label_image"
    build.mkdir(exist_ok=True)
    with FileLock(str(build) + ".lock"):
        return build_cpp_label_image(build)


def _png16(path: Path, pixels: np.ndarray, color_type: int) -> None:
    """A 16-bit PNG (Pillow writes none but 16-bit gray)."""
    height, width = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _test_image(height: int = 47, width: int = 61, seed: int = 0) -> Image.Image:
    """Smooth colour ramps with noisy blocks: JPEG chroma subsampling and the resampling both matter on it."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width]
    smooth = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 3 % 256], -1)
    noise = rs.randint(0, 256, (height, width, 3))
    blocks = np.kron(rs.rand((height + 7) // 8, (width + 7) // 8) < 0.4, np.ones((8, 8)))[:height, :width, None]
    return Image.fromarray(np.where(blocks > 0, noise, smooth).astype(np.uint8))


def _images(directory: Path) -> list[Path]:
    image = _test_image()
    rs = np.random.RandomState(1)
    saves = {
        "ycc420.jpg": lambda p: image.save(p, quality=90),
        "ycc444_progressive.jpg": lambda p: image.save(p, quality=75, subsampling=0, progressive=True),
        "gray.jpg": lambda p: image.convert("L").save(p),
        "cmyk.jpg": lambda p: image.convert("CMYK").save(p),
        "rgb.png": lambda p: image.save(p),
        "rgba.png": lambda p: Image.fromarray(rs.randint(0, 256, (47, 61, 4), dtype=np.uint8), "RGBA").save(p),
        "la.png": lambda p: image.convert("LA").save(p),
        "palette.png": lambda p: image.convert("P", palette=Image.ADAPTIVE, colors=40).save(p, transparency=2),
        "bilevel.png": lambda p: image.convert("1").save(p),
        "gray16.png": lambda p: _png16(p, rs.randint(0, 400, (47, 61)), 0),
        "rgb16.png": lambda p: _png16(p, rs.randint(0, 65536, (47, 61, 3)), 2),
    }
    paths = []
    for name, save in saves.items():
        path = directory / name
        save(path)
        paths.append(path)
    return paths


def test_preprocessing_is_bit_exact(program: Path, tmp_path: Path) -> None:
    # (height, width) from 47 x 61: shrink both, enlarge both, one axis only, and the height shrinking by more than
    # twice the width (Pillow then resamples vertically first).
    sizes = [(28, 28), (224, 224), (47, 30), (100, 61), (10, 53), (3, 40)]
    for image in _images(tmp_path):
        for index, (height, width) in enumerate(sizes):
            channels = 1 if index % 2 else 3
            mean, std = ((-127.0, 127.0), (0.0, 255.0), (117.3, 0.7))[index % 3]
            dump = tmp_path / "input.bin"
            subprocess.run(
                [program, f"--image={image}", f"--dump_input={dump}", f"--input_height={height}",
                 f"--input_width={width}", f"--input_channels={channels}", f"--input_mean={mean}",
                 f"--input_std={std}"],
                check=True,
            )  # fmt: skip
            got = np.fromfile(dump, np.float32).reshape(1, channels, height, width)
            want = read_tensor_from_image_file(str(image), height, width, mean, std, channels)
            assert np.array_equal(got, want), (image.name, height, width, channels)


def _run(program: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([program, *flags], capture_output=True, text=True)


def _top5(lines: str) -> list[tuple[str, float]]:
    rows = []
    for line in lines.strip().splitlines():
        name, _, score = line.rpartition(" (")
        rows.append((name, float(score.rstrip(")"))))
    return rows


def _assert_same_top5(cpp: str, python: str) -> None:
    got, want = _top5(cpp), _top5(python)
    assert len(got) == len(want) == 5
    for (name, score), (want_name, want_score) in zip(got, want):
        assert score == pytest.approx(want_score, abs=1e-4)
        # Two classes may swap only when their scores tie to within float rounding.
        if name != want_name:
            assert abs(dict(want).get(name, -1.0) - want_score) < 1e-5, (got, want)


@pytest.fixture(scope="module")
def lenet_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LeNet (10 classes, 3 x 28 x 28) exported with its initial weights, and its AOTInductor package beside.

    Exported with a static height and width: LeNet's fully connected head only takes 28 x 28, and the ONNX input shape
    is then what both label_images read their default input size from.
    """
    directory = tmp_path_factory.mktemp("lenet")
    spec = exporter.GraphSpec(model_name="lenet", num_classes=10, image_size=28)
    paths = exporter.export_model(
        exporter.build_inference_model(spec), spec, directory / "lenet.onnx", dynamic_spatial=False
    )
    package = aoti.compile_aoti_package(paths["onnx"])
    assert Path(package) == directory / "lenet.aoti.pt2"
    return Path(paths["onnx"])


def test_cpp_top5_equals_python(program: Path, lenet_package: Path, tmp_path: Path) -> None:
    image = tmp_path / "image.jpg"
    _test_image(seed=3).save(image, quality=90)
    labels = tmp_path / "labels.txt"
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    # TF-Slim's "<id>:<name>" lines, a CRLF line and a blank line: both label_images read them alike.
    labels.write_bytes(b"".join(f"{i}:{name}\n".encode() for i, name in enumerate(names[:8])) + b"8:ship\r\n\n9:truck")
    common = [f"--image={image}", f"--labels={labels}", "--input_mean=-127", "--input_std=127"]
    runs = [
        [f"--graph={lenet_package}"],  # the .onnx: C++ runs the .aoti.pt2 beside it
        [f"--graph={lenet_package}", "--output_layer=LeNet/Predictions/Reshape_1", "--input_width=28"],
        [f"--graph={lenet_package}", "--output_layer=LeNet/Logits", "--input_height=28", "--input_width", "28"],
    ]
    for flags in runs:
        result = _run(program, *common, *flags)
        assert result.returncode == 0, result.stderr
        cpp = result.stdout
        python = io.StringIO()
        with redirect_stdout(python):
            assert python_label_image([*common, *flags]) == 0
        _assert_same_top5(cpp, python.getvalue())
        assert {name for name, _ in _top5(cpp)} <= set(names)
    # The package itself is accepted too, and the errors name what is wrong.
    package = str(lenet_package).replace(".onnx", ".aoti.pt2")
    assert _run(program, *common, f"--graph={package}").stdout == _run(program, *common, *runs[0]).stdout
    bad = _run(program, *common, f"--graph={package}", "--output_layer=nope")
    assert bad.returncode == 1 and "has no output 'nope'" in bad.stderr and "LeNet/Predictions" in bad.stderr
    missing = _run(program, *common, f"--graph={tmp_path / 'other.onnx'}")
    assert missing.returncode == 1 and "slim.export.aoti" in missing.stderr
