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

On a GPU: ``--device cuda --amp bfloat16 --channels_last --batch_size 64 --repeats 20`` (the passes then run under
autocast, and each timing waits for the GPU). ``--timm`` adds timm's ``resnet50`` (torchvision's layout: stride in
the first unit of a stage, so not the same network; same depth and width) as a third, independent reference.
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


def timed(fn: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def with_autocast(fn: Callable[[], None], device: torch.device, amp: str) -> Callable[[], None]:
    """``fn`` under ``torch.autocast`` to ``amp`` ('' = none)."""
    if not amp:
        return fn

    def run() -> None:
        with torch.autocast(device.type, dtype=getattr(torch, amp)):
            fn()

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per model and configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first (compilation happens here)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    parser.add_argument("--no_compile", action="store_true", help="time eager mode only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", default="", choices=("", "bfloat16", "float16"), help="autocast dtype ('': none)")
    parser.add_argument("--channels_last", action="store_true", help="models and input in channels_last")
    parser.add_argument("--timm", action="store_true", help="also time timm's resnet50 (needs timm)")
    parser.add_argument("--modes", default="eager,compiled", help="comma-separated: eager, compiled")
    parser.add_argument("--kinds", default="forward,forward+backward", help="comma-separated passes to time")
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
    device = torch.device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    x = x.to(device).contiguous(memory_format=memory_format)
    slim_model.to(device, memory_format=memory_format)
    plain.to(device, memory_format=memory_format)
    reference = None
    if args.timm:
        import timm

        reference = timm.create_model("resnet50", num_classes=1000).to(device, memory_format=memory_format)

    collect_modes = {"both": (True, False), "kept": (True,), "not_collected": (False,)}[args.end_points]
    rows = []
    for collect in collect_modes:
        slim_model.collect_end_points = collect
        wanted_modes = set(args.modes.split(",")) - ({"compiled"} if args.no_compile else set())
        modes = [("eager", slim_model, plain, reference)] if "eager" in wanted_modes else []
        if "compiled" in wanted_modes:
            breaks = (graph_breaks(slim_model, x), graph_breaks(plain, x))
            compiled_reference = torch.compile(reference) if reference is not None else None
            modes.append(("compiled", torch.compile(slim_model), torch.compile(plain), compiled_reference))
        for mode, slim_variant, plain_variant, reference_variant in modes:
            for kind in args.kinds.split(","):
                training = kind != "forward"
                variants = [v for v in (slim_variant, plain_variant, reference_variant) if v is not None]
                passes = []
                for variant in variants:
                    variant.train(training)
                    passes.append(with_autocast(make_pass(variant, x, kind), device, args.amp))
                for _ in range(args.warmup):
                    for one_pass in passes:
                        one_pass()
                times: list[list[float]] = [[] for _ in passes]
                for _ in range(args.repeats):  # alternating, so that drifts in machine speed hit all alike
                    for one_pass, record in zip(passes, times):
                        record.append(timed(one_pass, device))
                medians = [statistics.median(record) for record in times]
                s, p = medians[0], medians[1]
                r = medians[2] if len(medians) > 2 else None
                graph_break_text = f"{breaks[0]}, {breaks[1]}" if mode == "compiled" else "-"
                rows.append(("kept" if collect else "not collected", mode, kind, s, p, s / p, graph_break_text, r))
                timm_text = f" timm {r:.4f}s" if r is not None else ""
                print(
                    f"  {rows[-1][0]:13} {mode:8} {kind:16} slim {s:.4f}s plain {p:.4f}s ratio {s / p:.3f}{timm_text}",
                    flush=True,
                )
        torch._dynamo.reset()

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"\nResNet-50 v1 (resnet_v1_50, 1000 classes), batch {args.batch_size} at {args.image_size}x{args.image_size}, "
        f"{where}, torch {torch.__version__}, autocast {args.amp or 'off'}, channels_last {args.channels_last}, "
        f"median of {args.repeats} (after {args.warmup} warm-up passes); max |slim - plain| of the logits "
        f"{difference:.2g}\n"
    )
    timm_header = " timm resnet50 (s) |" if reference is not None else ""
    print(
        "| slim end points | mode | pass | slim (s) | plain module (s) | slim / plain | graph breaks slim, plain |"
        + timm_header
    )
    print("| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if reference is not None else ""))
    for collect, mode, kind, s, p, ratio, breaks_text, r in rows:
        timm_cell = f" {r:.4f} |" if r is not None else ""
        print(f"| {collect} | {mode} | {kind} | {s:.4f} | {p:.4f} | {ratio:.3f}x | {breaks_text} |{timm_cell}")


if __name__ == "__main__":
    main()
