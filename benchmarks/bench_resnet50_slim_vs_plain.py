"""ResNet-50 v1 written with slim layers vs the same network as a plain, hand-written ``nn.Module``.

The slim model is the factory's ``resnet_v1_50`` (1000 classes). The plain module below is written with
``nn.Conv2d`` / ``nn.BatchNorm2d`` and handles TF's padding the same way (explicit symmetric padding + VALID conv for
the strided ``conv2d_same`` convs, TF SAME max-pooling with the extra pixel at the bottom/right). The plain module
receives the slim model's weights (copied by name) and both must give the same logits in evaluation and training
mode before anything is timed.

Timed in one run, the two models alternating so that drifts in machine speed hit both alike: forward (eval mode,
no grad) and forward + backward (train mode, batch statistics), eager and ``torch.compile`` (inductor with a private
cache directory, so earlier compilations cannot make compile-time work disappear), with the slim model keeping its
end points or not. The median of ``--repeats`` timings is reported, with the slim/plain ratio and the number of graph
breaks dynamo finds. Prints a Markdown table (for docs/performance.md).

    .venv/bin/python benchmarks/bench_resnet50_slim_vs_plain.py --batch_size 8 --image_size 224 --repeats 5
"""

from __future__ import annotations

import os
import tempfile

# Before torch is imported: inductor reads its cache directory from the environment.
os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_resnet50_inductor_")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from slim.nets import nets_factory  # noqa: E402

# ResNet-50 v1 as TF-Slim builds it: (base depth, units, stride of the block's LAST unit) per block.
BLOCKS = ((64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1))
BATCH_NORM_DECAY = 0.997  # resnet_arg_scope's default; PyTorch's momentum is 1 - decay
BATCH_NORM_EPSILON = 1e-5


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    """A bias-free conv followed by batch norm with gamma (what resnet_arg_scope gives every conv)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False),
        nn.BatchNorm2d(out_channels, eps=BATCH_NORM_EPSILON, momentum=1 - BATCH_NORM_DECAY),
    )


def tf_same_max_pool(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Max-pooling with TF's SAME padding: total ``(ceil(n / s) - 1) * s + k - n``, the extra pixel after."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad order: width first
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), kernel, stride)


class Bottleneck(nn.Module):
    """bottleneck_v1: 1x1 -> 3x3 (strided; symmetric explicit padding when strided) -> 1x1, ReLU after the sum."""

    def __init__(self, in_channels: int, depth: int, depth_bottleneck: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.shortcut = conv_bn(in_channels, depth, 1, stride) if in_channels != depth else None
        self.conv1 = conv_bn(in_channels, depth_bottleneck, 1)
        # conv2d_same: SAME (pad 1 on each side) at stride 1; pad 1 on each side then VALID when strided.
        self.conv2 = conv_bn(depth_bottleneck, depth_bottleneck, 3, stride, padding=1)
        self.conv3 = conv_bn(depth_bottleneck, depth, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is not None:
            shortcut = self.shortcut(x)
        else:
            shortcut = x[:, :, :: self.stride, :: self.stride]  # subsample
        residual = F.relu(self.conv1(x))
        residual = F.relu(self.conv2(residual))
        residual = self.conv3(residual)
        return F.relu(shortcut + residual)


class PlainResNet50(nn.Module):
    """resnet_v1_50 as an ordinary module, with TF-Slim's structure (stride in the last unit of blocks 1-3)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        # conv2d_same(64, 7, stride 2): pad 3 on each side, then VALID.
        self.conv1 = conv_bn(3, 64, 7, 2, padding=3)
        units, in_channels = [], 64
        for base_depth, num_units, stride in BLOCKS:
            for unit in range(num_units):
                unit_stride = stride if unit == num_units - 1 else 1
                units.append(Bottleneck(in_channels, 4 * base_depth, base_depth, unit_stride))
                in_channels = 4 * base_depth
        self.units = nn.Sequential(*units)
        self.logits = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))  # [N, 64, 112, 112] at 224
        x = tf_same_max_pool(x, 3, 2)  # [N, 64, 56, 56]
        x = self.units(x)  # [N, 2048, 7, 7]
        x = x.mean(dim=(2, 3), keepdim=True)
        return self.logits(x).flatten(1)


def copy_weights(slim_model: nn.Module, plain: PlainResNet50) -> None:
    """Copies every variable of the slim model into the plain module, by TF-Slim name; fails on any left over."""
    state = dict(slim_model.state_dict())

    def take(name: str) -> torch.Tensor:
        return state.pop(name)

    def copy_conv_bn(module: nn.Sequential, prefix: str) -> None:
        conv, bn = module
        with torch.no_grad():
            conv.weight.copy_(take(f"{prefix}/weights"))
            bn.weight.copy_(take(f"{prefix}/BatchNorm/gamma"))
            bn.bias.copy_(take(f"{prefix}/BatchNorm/beta"))
            bn.running_mean.copy_(take(f"{prefix}/BatchNorm/moving_mean"))
            bn.running_var.copy_(take(f"{prefix}/BatchNorm/moving_variance"))

    copy_conv_bn(plain.conv1, "resnet_v1_50/conv1")
    units = iter(plain.units)
    for block, (_, num_units, _) in enumerate(BLOCKS, start=1):
        for unit_index in range(1, num_units + 1):
            unit = next(units)
            prefix = f"resnet_v1_50/block{block}/unit_{unit_index}/bottleneck_v1"
            if unit.shortcut is not None:
                copy_conv_bn(unit.shortcut, f"{prefix}/shortcut")
            for name in ("conv1", "conv2", "conv3"):
                copy_conv_bn(getattr(unit, name), f"{prefix}/{name}")
    with torch.no_grad():
        plain.logits.weight.copy_(take("resnet_v1_50/logits/weights"))
        plain.logits.bias.copy_(take("resnet_v1_50/logits/biases"))
    if state:
        raise RuntimeError(f"copy_weights: slim variables not copied into the plain module: {sorted(state)[:5]}")


def logits_of(output: torch.Tensor | tuple) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def check_equal(slim_model: nn.Module, plain: nn.Module, x: torch.Tensor) -> float:
    """The largest |slim - plain| of the logits in eval and in train mode (the latter on copies of the statistics)."""
    differences = []
    for training in (False, True):
        slim_model.train(training)
        plain.train(training)
        saved = {k: v.clone() for k, v in slim_model.state_dict().items()}
        saved_plain = {k: v.clone() for k, v in plain.state_dict().items()}
        with torch.no_grad():
            a, b = logits_of(slim_model(x)), plain(x)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
        differences.append((a - b).abs().max().item())
        slim_model.load_state_dict(saved)  # undo the moving-statistics update of the training-mode pass
        plain.load_state_dict(saved_plain)
    return max(differences)


def graph_breaks(model: nn.Module, x: torch.Tensor) -> int:
    model.eval()
    count = torch._dynamo.explain(model)(x).graph_break_count
    torch._dynamo.reset()
    return count


def make_pass(model: nn.Module, x: torch.Tensor, kind: str) -> Callable[[], None]:
    """One forward (eval, no grad) or forward + backward (train) pass of ``model`` on ``x``."""

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def forward_backward() -> None:
        logits_of(model(x)).square().mean().backward()
        model.zero_grad(set_to_none=True)

    return forward if kind == "forward" else forward_backward


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per model and configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first (compilation happens here)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    parser.add_argument("--no_compile", action="store_true", help="time eager mode only")
    parser.add_argument(
        "--end_points",
        choices=("both", "kept", "not_collected"),
        default="both",
        help="time the slim model keeping its end points, not collecting them, or both",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    slim_model = nets_factory.get_network_fn("resnet_v1_50", num_classes=1000, is_training=False)
    slim_model.build(x[:1])
    with torch.no_grad():  # non-trivial statistics and scales, so that equal outputs mean equal computations
        for name, value in slim_model.state_dict().items():
            if name.endswith(("moving_mean", "beta")):
                value.normal_(0, 0.1)
            elif name.endswith(("moving_variance", "gamma")):
                value.uniform_(0.5, 1.5)
    plain = PlainResNet50()
    copy_weights(slim_model, plain)
    difference = check_equal(slim_model, plain, x)
    print(f"max |slim - plain| of the logits, eval and train mode: {difference:.3g}")

    collect_modes = {"both": (True, False), "kept": (True,), "not_collected": (False,)}[args.end_points]
    rows = []
    for collect in collect_modes:
        slim_model.collect_end_points = collect
        modes = [("eager", slim_model, plain)]
        if not args.no_compile:
            breaks = (graph_breaks(slim_model, x), graph_breaks(plain, x))
            modes.append(("compiled", torch.compile(slim_model), torch.compile(plain)))
        for mode, slim_variant, plain_variant in modes:
            for kind in ("forward", "forward+backward"):
                training = kind != "forward"
                slim_variant.train(training)
                plain_variant.train(training)
                slim_pass, plain_pass = make_pass(slim_variant, x, kind), make_pass(plain_variant, x, kind)
                for _ in range(args.warmup):
                    slim_pass()
                    plain_pass()
                slim_times, plain_times = [], []
                for _ in range(args.repeats):
                    slim_times.append(timed(slim_pass))
                    plain_times.append(timed(plain_pass))
                s, p = statistics.median(slim_times), statistics.median(plain_times)
                graph_break_text = f"{breaks[0]}, {breaks[1]}" if mode == "compiled" else "-"
                rows.append(("kept" if collect else "not collected", mode, kind, s, p, s / p, graph_break_text))
                print(f"  {rows[-1][0]:13} {mode:8} {kind:16} slim {s:.3f}s plain {p:.3f}s ratio {s / p:.3f}")
        torch._dynamo.reset()

    print(
        f"\nResNet-50 v1 (resnet_v1_50, 1000 classes), batch {args.batch_size} at {args.image_size}x{args.image_size}, "
        f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}, median of {args.repeats} "
        f"(after {args.warmup} warm-up passes); max |slim - plain| of the logits {difference:.2g}\n"
    )
    print("| slim end points | mode | pass | slim (s) | plain module (s) | slim / plain | graph breaks slim, plain |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for collect, mode, kind, s, p, ratio, breaks_text in rows:
        print(f"| {collect} | {mode} | {kind} | {s:.3f} | {p:.3f} | {ratio:.3f}x | {breaks_text} |")


if __name__ == "__main__":
    main()
