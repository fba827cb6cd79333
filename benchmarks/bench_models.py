"""Forward time of every nets-factory network on this machine, for docs/models.md.

    .venv/bin/python benchmarks/bench_models.py [--names inception_v3,resnet_v1_50] [--repeats 3] > table.md

Each network is built in eval mode at its default size with TF-Slim's ImageNet class count (video nets: 64 frames at
224), end points not collected; the median of ``repeats`` timed forward passes (after one warm-up) is reported at
batch 1 and batch 8, with the parameter count and the preprocessing the factory maps the network to.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from slim.nets import nets_factory

# TF-Slim's class counts of the published checkpoints (1001 with background, 1000 for VGG/ResNet v1/AlexNet/OverFeat).
CLASSES = {"cifarnet": 10, "nasnet_cifar": 10, "lenet": 10}
THOUSAND = ("vgg", "resnet_v1", "alexnet", "overfeat", "i3d", "s3dg")


def num_classes(name: str) -> int:
    if name in CLASSES:
        return CLASSES[name]
    return 1000 if name.startswith(THOUSAND) else 1001


def time_forward(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="", help="comma-separated subset (default: all 40)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=64, help="frames of the video networks' clips")
    args = parser.parse_args()
    names = [n for n in args.names.split(",") if n] or nets_factory.list_networks()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}\n")
    print("| network | parameters | input (NCHW) | classes | preprocessing | batch 1 (ms) | batch 8 (ms) |")
    print("| --- | ---: | --- | ---: | --- | ---: | ---: |")
    for name in names:
        spec = nets_factory.get_network_spec(name)
        size = spec.default_image_size
        channels = 3
        shape = [channels, args.frames, size, size] if spec.is_video else [channels, size, size]
        torch.manual_seed(0)
        model = nets_factory.get_network_fn(name, num_classes=num_classes(name), is_training=False)
        model.build(torch.zeros([1] + shape))
        model.collect_end_points = False
        parameters = sum(v.numel() for v in model.state_dict().values())
        one = time_forward(model, torch.randn([1] + shape), args.repeats)
        eight = time_forward(model, torch.randn([8] + shape), args.repeats)
        print(
            f"| {name} | {parameters:,} | {'x'.join(map(str, shape))} | {num_classes(name)} | "
            f"{spec.preprocessing} | {one * 1000:.0f} | {eight * 1000:.0f} |",
            flush=True,
        )
        del model


if __name__ == "__main__":
    main()
