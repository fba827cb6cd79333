"""The benchmark scripts the docs cite still run (tiny settings; the timings themselves are never checked here:
benchmarks are run by hand and their results written into docs/performance.md and docs/models.md)."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_resnet50_slim_vs_plain_checks_equal_outputs_and_prints_its_table():
    out = run(
        "bench_resnet50_slim_vs_plain.py",
        *("--batch_size", "2", "--image_size", "128", "--repeats", "1", "--warmup", "0", "--modes", "eager"),
        *("--kinds", "forward", "--end_points", "not_collected"),
    )
    assert "max |slim - plain| of the logits, eval and train mode:" in out  # the script fails beyond 1e-4
    assert "| not collected | eager | forward |" in out


def test_models_table_runs_for_one_network():
    out = run("bench_models.py", "--names", "lenet", "--repeats", "1")
    assert "lenet" in out


def test_preprocessing_benchmark_runs_both_paths(tmp_path):
    import numpy as np
    from PIL import Image

    for index in range(4):
        folder = tmp_path / f"class_{index % 2}"
        folder.mkdir(exist_ok=True)
        pixels = np.random.RandomState(index).randint(0, 256, size=(60, 80, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.jpg")
    out = run("bench_preprocessing.py", "--image_folder", str(tmp_path), "--num_images", "4", "--passes", "1")
    assert "| torch ops | 2 |" in out and "| fused kernel | 1 |" in out
