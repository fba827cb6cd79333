"""Input pipeline throughput: TFRecords → JPEG decode → inception train preprocessing → batches, ours vs tf.data.

    .venv/bin/python benchmarks/bench_input_pipeline.py --work_dir /tmp/bench_input [--tf_python /work/tfenv/bin/python]

Makes (once) a folder of ``--num_images`` photo-like JPEGs (smooth colour fields with shapes and sensor noise, the
size of a typical flowers photo), converts it with ``download_and_convert_data --dataset_name=image_folder``, then
times the pipeline ``train_image_classifier`` uses (``slim.classification.inputs.training_batches``, decoding and
running ``inception`` training preprocessing at 224, batches of ``--batch_size``) with 1 and 2 workers of each
``--kinds``: ``threads`` (preprocessing threads) and ``processes`` (DataLoader worker processes, the scripts'
default). With ``--tf_python`` it runs
``bench_input_pipeline_tf.py`` in that interpreter (TensorFlow lives in a separate virtualenv, never in the
project) on the same records: ``tf.data`` with the same decode and TF-Slim's
``preprocess_for_train`` (fast mode) at ``num_parallel_calls`` 1 and 2, TF's thread pools capped at the same count.
Prints a Markdown table of images/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))


def make_images(folder: str, num_images: int, size: tuple[int, int] = (500, 375), num_classes: int = 5) -> None:
    """Photo-like JPEGs: a colour gradient, a few filled ellipses, and Gaussian noise, quality 90."""
    rng = np.random.default_rng(0)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for index in range(num_images):
        class_dir = os.path.join(folder, f"class_{index % num_classes}")
        os.makedirs(class_dir, exist_ok=True)
        base = rng.uniform(0, 255, size=(2, 3))
        t = (xx / width * rng.uniform(0.3, 1) + yy / height * rng.uniform(0.3, 1))[..., None] / 2
        array = base[0] * (1 - t) + base[1] * t
        image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = rng.integers(0, width), rng.integers(0, height)
            x1, y1 = x0 + rng.integers(20, 200), y0 + rng.integers(20, 200)
            draw.ellipse([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        noisy = np.asarray(image, np.float32) + rng.normal(0, 6, size=(height, width, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
            os.path.join(class_dir, f"{index:05d}.jpg"), quality=90
        )


def prepare(work_dir: str, num_images: int) -> str:
    """The converted dataset directory (made on the first run)."""
    dataset_dir = os.path.join(work_dir, "records")
    if not os.path.exists(os.path.join(dataset_dir, "labels.txt")):
        from slim.scripts.download_and_convert_data import download_and_convert_data

        images = os.path.join(work_dir, "images")
        make_images(images, num_images)
        download_and_convert_data(
            dataset_name="image_folder", dataset_dir=dataset_dir, image_folder=images, num_validation=0, num_shards=4
        )
    return dataset_dir


def time_ours(dataset_dir: str, workers: int, batch_size: int, num_batches: int, warmup: int, kind: str) -> float:
    """Images/s of train_image_classifier's input pipeline with ``workers`` preprocessing threads or processes."""
    import torch

    from slim.classification.inputs import training_batches
    from slim.datasets import dataset_factory
    from slim.preprocessing import preprocessing_factory

    torch.set_num_threads(1)
    dataset = dataset_factory.get_dataset("image_folder", "train", dataset_dir)
    preprocess = preprocessing_factory.get_preprocessing("inception_v3", is_training=True)
    batches = training_batches(
        dataset, preprocess, 224, batch_size, num_readers=1, num_threads=workers, seed=0, workers=kind
    )
    for _ in range(warmup):
        next(batches)
    start = time.perf_counter()
    for _ in range(num_batches):
        images, _ = next(batches)
        assert images.shape == (batch_size, 3, 224, 224)
    return num_batches * batch_size / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", default="/tmp/bench_input_pipeline")
    parser.add_argument("--num_images", type=int, default=800)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--num_batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--kinds", default="threads,processes", help="comma-separated: threads, processes")
    parser.add_argument("--tf_python", default=None, help="a Python with TensorFlow, to time tf.data too")
    args = parser.parse_args(argv)

    dataset_dir = prepare(args.work_dir, args.num_images)
    worker_counts = [int(w) for w in args.workers.split(",")]
    kinds = args.kinds.split(",")
    ours = {
        (kind, w): time_ours(dataset_dir, w, args.batch_size, args.num_batches, args.warmup, kind)
        for kind in kinds
        for w in worker_counts
    }
    theirs: dict[int, float] = {}
    if args.tf_python:
        command = [
            args.tf_python,
            os.path.join(HERE, "bench_input_pipeline_tf.py"),
            "--dataset_dir", dataset_dir,
            "--batch_size", str(args.batch_size),
            "--num_batches", str(args.num_batches),
            "--warmup", str(args.warmup),
            "--workers", args.workers,
        ]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        theirs = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}

    print(
        f"\n{args.num_images} JPEGs of 500x375 in 4 TFRecord shards, inception train preprocessing at 224, batch "
        f"{args.batch_size}, {args.num_batches} batches after {args.warmup} warm-up batches; {os.cpu_count()} CPUs\n"
    )
    print("| workers | slim kind | slim (images/s) | tf.data (images/s) | slim / tf.data |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for (kind, w), value in ours.items():
        tf_value = theirs.get(w)
        ratio = f"{value / tf_value:.2f}x" if tf_value else "-"
        tf_text = f"{tf_value:.1f}" if tf_value else "-"
        print(f"| {w} | {kind} | {value:.1f} | {tf_text} | {ratio} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
