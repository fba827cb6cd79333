"""Inception training preprocessing alone (decoded JPEGs → 224 x 224), on 1 and 2 threads: torch ops vs fused kernel.

    .venv/bin/python benchmarks/bench_preprocessing.py [--image_folder /tmp/bench_input_pipeline/images]

Decodes ``--num_images`` JPEGs of the folder (made by ``bench_input_pipeline.py``, or any folder of class
sub-folders) once, then runs ``inception_preprocessing.preprocess_for_train`` (fast mode, no summaries) over them
``--passes`` times in each of ``N`` Python threads sharing the images, each with one torch thread of its own, as the
preprocessing threads of ``slim.data.thread_batching`` do. Each configuration runs in a fresh process (the torch
ops with ``SLIM_DISABLE_FUSED_PREPROCESSING=1``). Prints a Markdown table of images/s and the process's CPU time
per image.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import threading
import time


def run(image_folder: str, num_images: int, passes: int, threads: int) -> dict[str, float]:
    """Images/s and CPU µs per image of ``threads`` threads preprocessing the decoded images."""
    import numpy as np
    import torch
    from PIL import Image

    from slim.preprocessing import inception_preprocessing

    torch.set_num_threads(1)
    files = sorted(glob.glob(os.path.join(image_folder, "*", "*.jpg")))[:num_images]
    if not files:
        raise SystemExit(f"No JPEGs under {image_folder}/*/; run benchmarks/bench_input_pipeline.py first.")
    images = [np.asarray(Image.open(path).convert("RGB")) for path in files]

    def work(index: int) -> None:
        torch.set_num_threads(1)
        generator = torch.Generator().manual_seed(index)
        for image in images[index::threads] * passes:
            inception_preprocessing.preprocess_for_train(image, 224, 224, generator=generator)

    work(0)  # warm-up (and the kernel's compilation or cache load)
    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    start, cpu_start = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    count = len(images) * passes
    return {"images_per_sec": count / wall, "cpu_us_per_image": cpu / count * 1e6}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_folder", default="/tmp/bench_input_pipeline/images")
    parser.add_argument("--num_images", type=int, default=200)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--side", default=None, help=argparse.SUPPRESS)  # one measurement, in a fresh process
    args = parser.parse_args(argv)
    if args.side is not None:
        print(json.dumps(run(args.image_folder, args.num_images, args.passes, int(args.side))))
        return
    print("| preprocessing | threads | images/s | CPU per image (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, disable in (("torch ops", "1"), ("fused kernel", "0")):
        for threads in (int(t) for t in args.threads.split(",")):
            command = [sys.executable, __file__, "--side", str(threads), "--image_folder", args.image_folder,
                       "--num_images", str(args.num_images), "--passes", str(args.passes)]  # fmt: skip
            environment = dict(os.environ, SLIM_DISABLE_FUSED_PREPROCESSING=disable)
            out = subprocess.run(command, check=True, capture_output=True, text=True, env=environment).stdout
            result = json.loads(out.strip().splitlines()[-1])
            print(f"| {name} | {threads} | {result['images_per_sec']:.0f} | {result['cpu_us_per_image']:.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
