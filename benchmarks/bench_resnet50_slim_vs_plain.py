"""ResNet-50 v1 written with slim layers vs the same network as a plain hand-written nn.Module.

Both hold identical weights (copied by name; outputs are checked equal), and are timed in one run on this machine:
forward and forward+backward, eager and torch.compile, median of repeats. Prints a Markdown table for
docs/performance.md.

    .venv/bin/python benchmarks/bench_resnet50_slim_vs_plain.py --batch_size 8 --image_size 224 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

from slim.nets import nets_factory


class SamePad(nn.Module):
    """TF SAME padding for a strided op with kernel k (explicit, asymmetric where TF pads asymmetrically)."""

    def __init__(self, kernel: int, stride: int, value: float = 0.0) -> None:
        super().__init__()
        self.kernel, self.stride, self.value = kernel, stride, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[3], x.shape[2]):
            out = -(-size // self.stride)
            total = max((out - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads, value=self.value)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.003)
    )


class Bottleneck(nn.Module):
    def __init__(self, cin: int, depth: int, bottleneck: int, stride: int) -> None:
        super().__init__()
        self.shortcut = conv_bn(cin, depth, 1, stride) if cin != depth else None
        self.stride = stride
        self.conv1 = conv_bn(cin, bottleneck, 1)
        self.pad2 = nn.ZeroPad2d((1, 1, 1, 1)) if stride > 1 else None  # conv2d_same: explicit symmetric pad
        self.conv2 = conv_bn(bottleneck, bottleneck, 3, stride, 0 if stride > 1 else 1)
        self.conv3 = conv_bn(bottleneck, depth, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is not None:
            shortcut = self.shortcut(x)
        else:
            shortcut = x if self.stride == 1 else F.max_pool2d(x, 1, self.stride)
        y = F.relu(self.conv1(x))
        y = F.relu(self.conv2(self.pad2(y) if self.pad2 is not None else y))
        y = self.conv3(y)
        return F.relu(shortcut + y)


class PlainResNet50(nn.Module):
    """resnet_v1_50 as an ordinary module (TF-Slim's structure: stride in the last unit of blocks 1-3)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = conv_bn(3, 64, 7, 2)
        self.pool_pad = SamePad(3, 2, float("-inf"))
        blocks, cin = [], 64
        for base, units, stride in zip((64, 128, 256, 512), (3, 4, 6, 3), (2, 2, 2, 1)):
            for u in range(units):
                blocks.append(Bottleneck(cin, base * 4, base, stride if u == units - 1 else 1))
                cin = base * 4
        self.blocks = nn.Sequential(*blocks)
        self.logits = nn.Conv2d(2048, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(F.pad(x, (3, 3, 3, 3))))
        x = F.max_pool2d(self.pool_pad(x), 3, 2)
        x = self.blocks(x)
        x = x.mean(dim=(2, 3), keepdim=True)
        return self.logits(x).flatten(1)


def copy_weights(slim_model: nn.Module, plain: PlainResNet50) -> None:
    """Copies slim's variables into the plain module, walking both in the same order."""
    state = slim_model.state_dict()

    def bn_conv(seq: nn.Sequential, prefix: str) -> None:
        seq[0].weight.data.copy_(state[f"{prefix}/weights"])
        seq[1].weight.data.copy_(state[f"{prefix}/BatchNorm/gamma"])
        seq[1].bias.data.copy_(state[f"{prefix}/BatchNorm/beta"])
        seq[1].running_mean.copy_(state[f"{prefix}/BatchNorm/moving_mean"])
        seq[1].running_var.copy_(state[f"{prefix}/BatchNorm/moving_variance"])

    bn_conv(plain.conv1, "resnet_v1_50/conv1")
    index = 0
    for b, units in enumerate((3, 4, 6, 3), start=1):
        for u in range(1, units + 1):
            unit = plain.blocks[index]
            prefix = f"resnet_v1_50/block{b}/unit_{u}/bottleneck_v1"
            if unit.shortcut is not None:
                bn_conv(unit.shortcut, f"{prefix}/shortcut")
            for name in ("conv1", "conv2", "conv3"):
                bn_conv(getattr(unit, name), f"{prefix}/{name}")
            index += 1
    plain.logits.weight.data.copy_(state["resnet_v1_50/logits/weights"])
    plain.logits.bias.data.copy_(state["resnet_v1_50/logits/biases"])


def time_it(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no_compile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor_bench_"))
    torch.manual_seed(0)
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    slim_model = nets_factory.get_network_fn("resnet_v1_50", num_classes=1000, is_training=False)
    slim_model.build(x[:1])
    # Non-trivial statistics so that equal outputs mean equal computations.
    with torch.no_grad():
        for name, value in slim_model.state_dict().items():
            if "moving_mean" in name:
                value.normal_(0, 0.1)
            elif "moving_variance" in name or "gamma" in name:
                value.uniform_(0.5, 1.5)
    plain = PlainResNet50()
    copy_weights(slim_model, plain)
    slim_model.eval()
    plain.eval()
    with torch.no_grad():
        difference = (slim_model(x)[0] - plain(x)).abs().max().item()
    print(f"max |slim - plain| = {difference:.3g} (outputs equal within float rounding)")
    assert difference < 1e-3

    def forward(model, slim_outputs: bool):
        def run():
            with torch.no_grad():
                model(x)

        return run

    def forward_backward(model, slim_outputs: bool):
        def run():
            out = model(x)
            logits = out[0] if slim_outputs else out
            logits.float().square().mean().backward()

        return run

    rows = []
    for collect in (True, False):
        slim_model.collect_end_points = collect
        variants = [("eager", slim_model, plain)]
        if not args.no_compile:
            explain = torch._dynamo.explain(slim_model)(x)
            print(f"graph breaks under torch.compile (end points {collect}): {explain.graph_break_count}")
            torch._dynamo.reset()
            variants.append(("compiled", torch.compile(slim_model), torch.compile(plain)))
        for mode, s_model, p_model in variants:
            for kind, make in (("forward", forward), ("forward+backward", forward_backward)):
                # Alternate the two models so that drifts in machine speed hit both alike.
                slim_times, plain_times = [], []
                for _ in range(args.repeats):
                    slim_times.append(time_it(make(s_model, True), 1))
                    plain_times.append(time_it(make(p_model, False), 1))
                s, p = statistics.median(slim_times), statistics.median(plain_times)
                rows.append(("kept" if collect else "not collected", mode, kind, s, p, s / p))
    print(
        f"\nResNet-50 v1, batch {args.batch_size} at {args.image_size}x{args.image_size}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, median of {args.repeats}\n"
    )
    print("| end points | mode | pass | slim (s) | plain nn.Module (s) | ratio slim/plain |")
    print("| --- | --- | --- | --- | --- | --- |")
    for collect, mode, kind, s, p, r in rows:
        print(f"| {collect} | {mode} | {kind} | {s:.3f} | {p:.3f} | {r:.3f}x |")


if __name__ == "__main__":
    main()
