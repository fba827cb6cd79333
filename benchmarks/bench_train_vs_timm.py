"""Training throughput (images/s) of ``train_image_classifier`` against timm's train.py loop: same nets, same images.

    .venv/bin/python benchmarks/bench_train_vs_timm.py --timm_python /work/timmenv/bin/python [--profile]

Makes (once, under ``--work_dir``) two folders of photo-like JPEGs (``--num_classes`` x ``--per_class``): 32 x 32
images for CifarNet and 144-176 pixel images for MobileNet v1 0.25, and converts each with ``image_folder``'s
converter. Then, for each network and each data-worker count, it times two fresh processes one after the other:

* slim: ``slim.scripts.train_image_classifier.train_image_classifier(**flags)`` (the script's Python API, so the
  whole script runs: TFRecords, the network's own preprocessing, one-hot cross-entropy plus the regularization
  losses, TF-Slim's optimizer, checkpoint at the end), run by the interpreter running this file;
* timm: this same file, run by ``--timm_python`` (timm lives in a separate virtualenv, never in the project) with
  ``--side timm``: timm's ``train.py`` loop reduced to the options used here (see :func:`run_timm`), fed from the
  same JPEG folder by ``timm.data.create_dataset`` / ``create_loader``.

Both train the same architecture (parameter counts are printed and must agree): CifarNet is not in timm, so timm's
loop trains :func:`plain_cifarnet`, a plain ``nn.Module`` with CifarNet's layers; MobileNet v1 0.25 is timm's own
MobileNet-V1 generator at channel multiplier 0.25. Both sides run float32, channels-first, no EMA, batch
``--batch_size``, torch's default number of threads in the training process, and the same number of DataLoader
worker processes. Each run trains ``--warmup + --steps`` steps and times the last ``--steps`` (from the end of step
``--warmup`` to the end of the last step), so start-up, the first batches and the final checkpoint are excluded.
Prints a Markdown table: network, size, workers, slim images/s, timm images/s, slim / timm, and the CPU cores other
processes used meanwhile. Each run waits for a quiet machine (``--max_busy``) and is repeated (up to ``--tries``)
when other processes used more than ``--max_other_load`` cores during it.

``--profile`` profiles instead, for the same steps: the slim side with cProfile (the training process's Python
functions) and ``torch.profiler`` (operators), the timm side with ``torch.profiler``; it prints the top costs.
``--slim_python`` runs the slim side under another interpreter (for example the timm virtualenv's, with slim's
dependencies installed there, so that both sides run the same torch build). ``--model_only`` times the two
networks alone (forward + backward, no data) under ``--slim_python``; ``--plain_lrn sum`` gives timm's CifarNet
slim's LRN algorithm instead of ``nn.LocalResponseNorm``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(HERE))

# What each network is trained with on both sides: the image size, how big the generated JPEGs are, the optimizer
# (slim flag name, timm ``create_optimizer_v2`` name with the same update rule) and its settings.
NETS: dict[str, dict[str, Any]] = {
    "cifarnet": {
        "image_size": 32,
        "jpeg_sizes": (32, 32),
        # TF-Slim's CifarNet recipe trains with weight decay 0.004; SGD with momentum on both sides.
        "slim_optimizer": "momentum",
        "timm_optimizer": "momentum",
        "weight_decay": 0.004,
    },
    "mobilenet_v1_025": {
        "image_size": 128,
        "jpeg_sizes": (144, 176),
        # train_image_classifier's default optimizer (TF's RMSProp, epsilon 1.0); timm's TF-style RMSProp.
        "slim_optimizer": "rmsprop",
        "timm_optimizer": "rmsproptf",
        "weight_decay": 0.00004,
    },
}
LEARNING_RATE = 0.01


def make_image_folder(folder: str, num_classes: int, per_class: int, sizes: tuple[int, int], seed: int = 0) -> None:
    """``folder/class_<k>/<i>.jpg``: photo-like JPEGs (colour gradient, a few ellipses, sensor noise), quality 90.

    Sides are drawn uniformly from ``sizes`` (inclusive), so that the pipelines resize as they would on photos.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for label in range(num_classes):
        class_dir = os.path.join(folder, f"class_{label:02d}")
        os.makedirs(class_dir, exist_ok=True)
        for index in range(per_class):
            width, height = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, size=2))
            yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
            base = rng.uniform(0, 255, size=(2, 3))
            t = (xx / width * rng.uniform(0.3, 1) + yy / height * rng.uniform(0.3, 1))[..., None] / 2
            image = Image.fromarray(np.clip(base[0] * (1 - t) + base[1] * t, 0, 255).astype(np.uint8))
            draw = ImageDraw.Draw(image)
            for _ in range(4):
                x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
                x1, y1 = (
                    x0 + int(rng.integers(width // 8, width // 2)),
                    y0 + int(rng.integers(height // 8, height // 2)),
                )
                draw.ellipse([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
            noisy = np.asarray(image, np.float32) + rng.normal(0, 6, size=(height, width, 3))
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
                os.path.join(class_dir, f"{index:04d}.jpg"), quality=90
            )


def prepare(work_dir: str, net: str, num_classes: int, per_class: int) -> tuple[str, str]:
    """``(JPEG folder, TFRecord dataset dir)`` for ``net``, made on the first run (slim's interpreter only)."""
    root = os.path.join(work_dir, f"{net}_{num_classes}x{per_class}")
    images, records = os.path.join(root, "images"), os.path.join(root, "records")
    if not os.path.exists(os.path.join(records, "labels.txt")):
        from slim.datasets import convert_image_folder

        make_image_folder(images, num_classes, per_class, NETS[net]["jpeg_sizes"])
        convert_image_folder.run(images, records, num_validation=0, num_shards=4)
    return images, records


class StepClock(logging.Handler):
    """Reads ``global step N: loss = ...`` records of slim's logger and notes when each step ended.

    ``train_image_classifier`` logs every step with ``log_every_n_steps=1``; the record is emitted right after the
    step (forward, backward, optimizer step, and the wait for its batch). ``on_step(step)`` is called with each step
    number, which starts and stops the profilers at the edges of the timed window.
    """

    def __init__(self, on_step: Callable[[int], None] | None = None) -> None:
        super().__init__(logging.INFO)
        self.times: dict[int, float] = {}
        self.on_step = on_step

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith("global step") or not record.args:
            return
        step = int(record.args[0])  # type: ignore[index]
        self.times[step] = time.perf_counter()
        if self.on_step is not None:
            self.on_step(step)


class WindowProfiler:
    """Profiles the steps after ``warmup`` up to ``total`` with cProfile or torch.profiler; prints the top costs."""

    def __init__(self, kind: str, warmup: int, total: int, rows: int = 25) -> None:
        self.kind, self.warmup, self.total, self.rows = kind, warmup, total, rows
        self.profiler: Any = None

    def __call__(self, step: int) -> None:
        if step == self.warmup:
            if self.kind == "cprofile":
                import cProfile

                self.profiler = cProfile.Profile()
                self.profiler.enable()
            else:
                import torch

                self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                self.profiler.start()
        elif step == self.total and self.profiler is not None:
            if self.kind == "cprofile":
                self.profiler.disable()
            else:
                self.profiler.stop()

    def report(self) -> None:
        steps = self.total - self.warmup
        if self.kind == "cprofile":
            import pstats

            print(f"\n### cProfile of the training process, {steps} steps, by own time")
            pstats.Stats(self.profiler, stream=sys.stdout).sort_stats("tottime").print_stats(self.rows)
            print(f"\n### cProfile of the training process, {steps} steps, by cumulative time")
            pstats.Stats(self.profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(self.rows)
        else:
            print(f"\n### torch.profiler, training process, {steps} steps, by self CPU time")
            table = self.profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=self.rows)
            print(table)


def images_per_second(times: dict[int, float], warmup: int, total: int, batch_size: int) -> float:
    """Images/s from the end of step ``warmup`` to the end of step ``total``."""
    return (total - warmup) * batch_size / (times[total] - times[warmup])


def step_seconds(times: dict[int, float], warmup: int, total: int) -> list[float]:
    """The duration of each timed step (end of the previous step to end of this one), in seconds."""
    return [round(times[step] - times[step - 1], 4) for step in range(warmup + 1, total + 1)]


def run_slim(args: argparse.Namespace) -> dict[str, Any]:
    """Times ``train_image_classifier`` (this process) on the converted records; returns images/s and details."""
    import torch

    from slim.scripts.train_image_classifier import train_image_classifier

    spec = NETS[args.net]
    total = args.warmup + args.steps
    profiler = WindowProfiler(args.profile, args.warmup, total) if args.profile else None
    clock = StepClock(profiler)
    logger = logging.getLogger("slim")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(clock)
    with tempfile.TemporaryDirectory() as train_dir:
        train_image_classifier(
            train_dir=train_dir,
            dataset_name="image_folder",
            dataset_split_name="train",
            dataset_dir=args.dataset_dir,
            model_name=args.net,
            train_image_size=spec["image_size"],
            batch_size=args.batch_size,
            max_number_of_steps=total,
            num_preprocessing_threads=args.workers,
            preprocessing_workers=args.slim_workers,
            optimizer=spec["slim_optimizer"],
            learning_rate=LEARNING_RATE,
            weight_decay=spec["weight_decay"],
            log_every_n_steps=1,
            save_summaries_secs=0,
            save_interval_secs=10**6,
            seed=0,
        )
    if profiler is not None:
        profiler.report()
    from slim.nets import nets_factory

    model = nets_factory.get_network_fn(args.net, num_classes=args.num_classes, is_training=True)
    model.build(torch.zeros(1, 3, spec["image_size"], spec["image_size"]))
    return {
        "images_per_sec": images_per_second(clock.times, args.warmup, total, args.batch_size),
        "step_seconds": step_seconds(clock.times, args.warmup, total),
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def plain_cifarnet(num_classes: int, lrn: str = "torch") -> Any:
    """CifarNet as a plain ``nn.Module`` (timm has no CifarNet), layer for layer as ``slim/nets/cifarnet.py``.

    conv1 5x5x64 + ReLU, 2x2 max pool, LRN, conv2 5x5x64 + ReLU, LRN, 2x2 max pool, fc3 384 + ReLU, dropout 0.5,
    fc4 192 + ReLU, logits. TF's SAME padding of a 5x5 stride-1 convolution is 2 on every side, so ``padding=2`` is
    the same. ``lrn="torch"``: ``nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1)``, which is ``tf.nn.lrn(
    depth_radius=4, bias=1, alpha=0.001 / 9, beta=0.75)`` (PyTorch divides alpha by the window size) computed with
    an ``avg_pool3d`` over the squares; ``lrn="sum"``: the same values as a sum of shifted slices (slim's
    algorithm), to compare the two training loops without the difference of the LRN kernels. The
    other difference: slim flattens pool2 in TF's (H, W, C) order (so fc3 matches TF checkpoints), this module in
    (C, H, W) order.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SumLocalResponseNorm(nn.Module):
        """``x / (bias + alpha * sum of x^2 over 2r+1 channels) ** beta`` (``tf.nn.lrn``), summing shifted slices."""

        def __init__(self, depth_radius: int, bias: float, alpha: float, beta: float) -> None:
            super().__init__()
            self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            channels, r = x.shape[1], self.depth_radius
            padded = F.pad(x.square(), (0, 0, 0, 0, r, r))
            total = padded[:, 0:channels]
            for offset in range(1, 2 * r + 1):
                total = total + padded[:, offset : offset + channels]
            return x * (self.bias + self.alpha * total).pow(-self.beta)

    def norm() -> nn.Module:
        if lrn == "sum":
            return SumLocalResponseNorm(4, bias=1.0, alpha=0.001 / 9, beta=0.75)
        return nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0)

    return nn.Sequential(
        nn.Conv2d(3, 64, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        norm(),
        nn.Conv2d(64, 64, 5, padding=2),
        nn.ReLU(),
        norm(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 384),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(384, 192),
        nn.ReLU(),
        nn.Linear(192, num_classes),
    )


def timm_model(net: str, num_classes: int, lrn: str = "torch", **kwargs: Any) -> Any:
    """The timm-side network: :func:`plain_cifarnet`, or timm's MobileNet-V1 generator at channel multiplier 0.25.

    timm registers MobileNet-V1 only at widths 1.0 and 1.25 (``mobilenetv1_100``, ``mobilenetv1_125``), both
    ``_gen_mobilenet_v1(variant, channel_multiplier)``; the 0.25 net is that generator with 0.25 (stem 8 channels,
    13 depthwise-separable blocks 16..256 without residuals, ReLU6, no head conv, average pool, linear classifier).
    Batch norm gets TF-Slim MobileNet's epsilon 0.001 and decay 0.9997, the classifier its dropout (keep 0.999).
    ``kwargs`` go to the generator (``pad_type="same"``: TF's SAME padding, as slim's layers pad).
    """
    if net == "cifarnet":
        return plain_cifarnet(num_classes, lrn)
    from timm.models.efficientnet import _gen_mobilenet_v1

    return _gen_mobilenet_v1(
        "mobilenetv1_025", channel_multiplier=0.25, num_classes=num_classes, drop_rate=0.001, bn_eps=1e-3,
        bn_momentum=1 - 0.9997, **kwargs,
    )  # fmt: skip


def run_model_only(args: argparse.Namespace) -> dict[str, Any]:
    """Forward + backward + ``zero_grad`` of the networks alone on one random batch, no data pipeline, no optimizer.

    Runs where both slim and timm import (the timm virtualenv with slim's dependencies, ``--slim_python``), so both
    use one torch build. The models take turns, step by step (after 5 untimed steps each); returns the median step
    time of each in ms: slim's network, timm's, and for MobileNet timm's with TF SAME padding (``pad_type="same"``,
    an explicit pad before each stride-2 convolution, as slim does).
    """
    import statistics

    import torch
    import torch.nn.functional as F

    from slim.framework.context import collection_scope
    from slim.nets import nets_factory

    size = NETS[args.net]["image_size"]
    torch.manual_seed(0)
    images = torch.randn(args.batch_size, 3, size, size)
    labels = torch.randint(0, args.num_classes, (args.batch_size,))
    slim_model = nets_factory.get_network_fn(args.net, num_classes=args.num_classes, is_training=True)
    slim_model.build(images[:1])
    models = {"timm": timm_model(args.net, args.num_classes, args.plain_lrn)}
    if args.net != "cifarnet":
        models["timm, TF SAME padding"] = timm_model(args.net, args.num_classes, pad_type="same")

    def slim_step() -> None:
        with collection_scope():  # as slim.learning's train op: the step's losses and end points stay in it
            logits, _ = slim_model(images)
            F.cross_entropy(logits, labels).backward()
        slim_model.zero_grad(set_to_none=True)

    def plain_step(model: Any) -> Callable[[], None]:
        def step() -> None:
            F.cross_entropy(model(images), labels).backward()
            model.zero_grad(set_to_none=True)

        return step

    steps = {"slim": slim_step, **{name: plain_step(model.train()) for name, model in models.items()}}
    for step in steps.values():
        for _ in range(5):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.steps):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: round(statistics.median(values) * 1e3, 1) for name, values in times.items()} | {
        "torch": torch.__version__
    }


def run_timm(args: argparse.Namespace) -> dict[str, Any]:
    """timm's train.py loop, reduced to the options used: returns images/s of the steps after the warm-up.

    What ``main()`` and ``train_one_epoch()`` of pytorch-image-models' ``train.py`` do with these settings, built
    from timm's library (``create_dataset``, ``create_loader``, ``create_optimizer_v2``, ``create_scheduler_v2``,
    ``AverageMeter``): an ``ImageFolder`` dataset on the JPEG folder; ``create_loader(is_training=True)`` with the
    prefetcher on (train.py's default; on CPU it normalizes the uint8 batch in the training process), random
    resized crop (bilinear), horizontal flip and colour jitter as close to the slim side's augmentation as timm's
    options allow, ``num_workers`` processes, ``drop_last``, persistent workers; cross-entropy without label
    smoothing (slim's ``label_smoothing`` is 0); the optimizer with weight decay on the weights; cosine schedule
    stepped per update. Each step: forward, loss, backward, optimizer step, ``loss.item()`` into the loss meter,
    ``zero_grad``, the update timer, a log line every 50 updates, ``lr_scheduler.step_update``. Left out: AMP,
    EMA, mixup, gradient accumulation and clipping, distributed, checkpoints and validation between epochs.
    """
    import torch
    from timm.data import create_dataset, create_loader
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2
    from timm.utils import AverageMeter, random_seed

    spec = NETS[args.net]
    size = spec["image_size"]
    random_seed(0)
    device = torch.device("cpu")
    model = timm_model(args.net, args.num_classes, args.plain_lrn).to(device)
    dataset = create_dataset("", root=args.image_folder, split="train", is_training=True, batch_size=args.batch_size)
    if args.net == "cifarnet":
        # slim: pad 4 + random 32x32 crop, flip, brightness +-63 (of 255), contrast 0.2-1.8, standardization.
        augment = {"scale": (0.64, 1.0), "color_jitter": (63 / 255, 0.8, 0.0)}
    else:
        # slim (inception, fast mode): distorted bounding-box crop (5-100 % of the area, aspect 3/4-4/3), bilinear
        # resize, flip, brightness +-32/255 and saturation 0.5-1.5 in random order, scale to [-1, 1].
        augment = {"scale": (0.05, 1.0), "color_jitter": (32 / 255, 0.0, 0.5)}
    loader = create_loader(
        dataset,
        input_size=(3, size, size),
        batch_size=args.batch_size,
        is_training=True,
        use_prefetcher=True,
        ratio=(3 / 4, 4 / 3),
        hflip=0.5,
        interpolation="bilinear",
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        num_workers=args.workers,
        device=device,
        **augment,
    )
    optimizer_kwargs: dict[str, Any] = {"momentum": 0.9}
    if spec["timm_optimizer"] == "rmsproptf":
        optimizer_kwargs.update(eps=1.0, alpha=0.9)  # slim's --opt_epsilon=1.0 and --rmsprop_decay=0.9
    optimizer = create_optimizer_v2(
        model, opt=spec["timm_optimizer"], lr=LEARNING_RATE, weight_decay=spec["weight_decay"], **optimizer_kwargs
    )
    lr_scheduler, _ = create_scheduler_v2(optimizer, sched="cosine", num_epochs=100, updates_per_epoch=len(loader))
    loss_fn = torch.nn.CrossEntropyLoss().to(device)
    log = logging.getLogger("train")
    total = args.warmup + args.steps
    profiler = WindowProfiler(args.profile, args.warmup, total) if args.profile else None
    times: dict[int, float] = {}
    losses_m, update_time_m, data_time_m = AverageMeter(), AverageMeter(), AverageMeter()
    num_updates, epoch = 0, 0
    model.train()
    optimizer.zero_grad()
    while num_updates < total:
        data_start_time = update_start_time = time.time()
        for batch_idx, (input, target) in enumerate(loader):
            data_time_m.update(time.time() - data_start_time)
            output = model(input)
            loss = loss_fn(output, target)
            loss.backward()
            optimizer.step()
            losses_m.update(loss.item(), input.size(0))
            num_updates += 1
            optimizer.zero_grad()
            time_now = time.time()
            update_time_m.update(time_now - update_start_time)
            update_start_time = time_now
            if batch_idx % 50 == 0:
                lrl = [group["lr"] for group in optimizer.param_groups]
                log.info(
                    f"Train: {epoch} [{batch_idx:>4d}/{len(loader)}]  Loss: {losses_m.val:#.3g} ({losses_m.avg:#.3g})  "
                    f"Time: {update_time_m.val:.3f}s  LR: {sum(lrl) / len(lrl):.3e}  Data: {data_time_m.val:.3f}"
                )
            lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)
            times[num_updates] = time.perf_counter()
            if profiler is not None:
                profiler(num_updates)
            if num_updates >= total:
                break
            data_start_time = time.time()
        epoch += 1
        lr_scheduler.step(epoch)
    if profiler is not None:
        profiler.report()
    import timm

    return {
        "images_per_sec": images_per_second(times, args.warmup, total, args.batch_size),
        "step_seconds": step_seconds(times, args.warmup, total),
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "timm": timm.__version__,
    }


def _cpu_jiffies() -> tuple[int, int]:
    """``(busy, total)`` jiffies of all CPUs since boot, from /proc/stat (idle and iowait count as not busy)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def wait_for_quiet(max_busy: float, timeout: float, window: float = 3.0) -> float:
    """Waits until the CPUs were at most ``max_busy`` busy (0-1) over ``window`` seconds; returns the last reading.

    The machine is shared, so a measurement started while something else runs is meaningless; after ``timeout``
    seconds it goes on anyway (and the table shows how busy the machine was).
    """
    deadline = time.monotonic() + timeout
    while True:
        busy0, total0 = _cpu_jiffies()
        time.sleep(window)
        busy1, total1 = _cpu_jiffies()
        busy = (busy1 - busy0) / max(total1 - total0, 1)
        if busy <= max_busy or time.monotonic() > deadline:
            return busy


def run_side(python: str, side: str, args: argparse.Namespace, net: str, workers: int, profile: str = "") -> dict:
    """Runs one measurement in a fresh process of ``python``; its last output line is the JSON result.

    Adds ``other_load``: the CPU time that other processes of the machine used during the run, in cores (from
    /proc/stat's busy time less this run's own CPU time), and ``busy_before``, the CPU use just before it.
    """
    import resource

    images, records = prepare(args.work_dir, net, args.num_classes, args.per_class)
    command = [
        python, HERE, "--side", side, "--net", net, "--workers", str(workers),
        "--image_folder", images, "--dataset_dir", records, "--num_classes", str(args.num_classes),
        "--batch_size", str(args.batch_size), "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--profile", profile, "--plain_lrn", args.plain_lrn, "--slim_workers", args.slim_workers,
    ]  # fmt: skip
    busy_before = wait_for_quiet(args.max_busy, args.quiet_timeout)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    jiffies0, start = _cpu_jiffies()[0], time.monotonic()
    # The repository root on the path, so that the slim side also runs under another interpreter (--slim_python).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    jiffies1, wall = _cpu_jiffies()[0], time.monotonic() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"{side} run failed ({' '.join(command)}):\n{completed.stderr[-4000:]}")
    own = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    machine = (jiffies1 - jiffies0) / os.sysconf("SC_CLK_TCK")
    lines = completed.stdout.strip().splitlines()
    if profile:
        print("\n".join(lines[:-1]))
    result = json.loads(lines[-1])
    result.update(other_load=max(machine - own, 0.0) / wall, busy_before=busy_before)
    return result


def measure(python: str, side: str, args: argparse.Namespace, net: str, workers: int) -> dict:
    """:func:`run_side`, repeated (up to ``--tries`` times) while other processes used more than
    ``--max_other_load`` cores during the run; the result counts the discarded runs in ``discarded``."""
    discarded = []
    while True:
        result = run_side(python, side, args, net, workers)
        if result["other_load"] <= args.max_other_load or len(discarded) + 1 >= args.tries:
            result["discarded"] = discarded
            return result
        discarded.append(round(result["images_per_sec"], 1))
        print(f"  ({side} {net} workers={workers}: other load {result['other_load']:.2f} cores, measuring again)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", default="/tmp/bench_train_vs_timm")
    parser.add_argument("--timm_python", default=None, help="a Python with timm (a virtualenv outside the project)")
    parser.add_argument(
        "--slim_python",
        default=sys.executable,
        help="the Python that runs the slim side (default: this one); e.g. the timm virtualenv's, with slim's "
        "dependencies installed there, to compare at the same torch build",
    )
    parser.add_argument(
        "--plain_lrn",
        choices=("torch", "sum"),
        default="torch",
        help="the LRN of the timm side's CifarNet: nn.LocalResponseNorm, or a sum of shifted slices (slim's way)",
    )
    parser.add_argument("--nets", default="cifarnet,mobilenet_v1_025")
    parser.add_argument("--workers", default="1,2", help="data worker counts to time (comma-separated)")
    parser.add_argument(
        "--slim_workers",
        choices=("threads", "processes"),
        default="processes",
        help="the slim side's --preprocessing_workers (the scripts' default: worker processes)",
    )
    parser.add_argument("--num_classes", type=int, default=10)
    parser.add_argument("--per_class", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40, help="timed steps, after the warm-up")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps at the start")
    parser.add_argument("--max_busy", type=float, default=0.1, help="start a run only when the CPUs are this idle")
    parser.add_argument("--quiet_timeout", type=float, default=900, help="seconds to wait for a quiet machine")
    parser.add_argument(
        "--max_other_load", type=float, default=0.1, help="measure again when other processes used more cores"
    )
    parser.add_argument("--tries", type=int, default=4, help="at most this many runs per measurement")
    parser.add_argument("--repeats", type=int, default=1, help="measure each configuration this many times")
    parser.add_argument("--profile", nargs="?", const="all", default="", help="profile instead (cprofile, torch, all)")
    parser.add_argument(
        "--model_only",
        action="store_true",
        help="time the networks alone instead (forward + backward, no data), under --slim_python",
    )
    parser.add_argument("--side", choices=("slim", "timm", "model"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--net", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--image_folder", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dataset_dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.side is not None:  # one measurement, in this process
        args.workers = int(args.workers)
        sides = {"slim": run_slim, "timm": run_timm, "model": run_model_only}
        result = sides[args.side](args)
        print(json.dumps(result))
        return

    nets = [net.strip() for net in args.nets.split(",") if net.strip()]
    worker_counts = [int(w) for w in args.workers.split(",")]
    if args.model_only:  # the networks alone instead of the table
        for net in nets:
            print(f"{net} at {NETS[net]['image_size']}, batch {args.batch_size}, median step (ms):", end=" ")
            print(json.dumps(run_side(args.slim_python, "model", args, net, 0)))
        return
    if args.profile:  # profiles instead of the table
        kinds = ("cprofile", "torch") if args.profile == "all" else (args.profile,)
        for net in nets:
            prepare(args.work_dir, net, args.num_classes, args.per_class)
            for kind in kinds:
                print(f"\n## {net}, slim side, workers={worker_counts[0]}, {kind}")
                run_side(args.slim_python, "slim", args, net, worker_counts[0], profile=kind)
            if args.timm_python and "torch" in kinds:
                print(f"\n## {net}, timm side, workers={worker_counts[0]}, torch")
                run_side(args.timm_python, "timm", args, net, worker_counts[0], profile="torch")
        return

    rows = []
    for net in nets:
        prepare(args.work_dir, net, args.num_classes, args.per_class)
        for workers in worker_counts:
            for _ in range(args.repeats):
                slim_result = measure(args.slim_python, "slim", args, net, workers)
                timm_result = measure(args.timm_python, "timm", args, net, workers) if args.timm_python else None
                rows.append((net, workers, slim_result, timm_result))
                print(f"{net} workers={workers}: slim {json.dumps(slim_result)}\n  timm {json.dumps(timm_result)}")
    print(
        f"\n{args.num_classes} classes x {args.per_class} JPEGs, batch {args.batch_size}, {args.steps} timed steps "
        f"after {args.warmup} warm-up steps; {os.cpu_count()} CPUs; other load = CPU cores used by other processes "
        "during the slim / timm run"
    )
    versions = f"slim side: torch {rows[0][2]['torch']}" if rows else ""
    if rows and rows[0][3]:
        versions += f"; timm side: torch {rows[0][3]['torch']}, timm {rows[0][3]['timm']}"
    threads = rows[0][2]["threads"] if rows else "-"
    print(f"{versions}; torch threads {threads}; slim's data workers: {args.slim_workers}\n")
    print("| network | size | workers | slim (images/s) | timm (images/s) | slim / timm | other load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for net, workers, slim_result, timm_result in rows:
        size = NETS[net]["image_size"]
        ours = slim_result["images_per_sec"]
        theirs = f"{timm_result['images_per_sec']:.1f}" if timm_result else "-"
        ratio = f"{ours / timm_result['images_per_sec']:.2f}x" if timm_result else "-"
        load = f"{slim_result['other_load']:.2f} / {timm_result['other_load']:.2f}" if timm_result else "-"
        print(f"| {net} | {size} | {workers} | {ours:.1f} | {theirs} | {ratio} | {load} |")
        if timm_result and slim_result["parameters"] != timm_result["parameters"]:
            print(f"  (parameters differ: slim {slim_result['parameters']}, timm {timm_result['parameters']})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
