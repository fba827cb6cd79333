"""`python -m slim`: the main job on an embedded default, offline.

Until the end-to-end demo lands, it builds a TF-Slim network from the nets factory (LeNet by default, or the one
named by ``--model_name``), runs it on a random batch, and prints its variables (TF-Slim names, our shapes) and its
end points, the way a TF-Slim user would inspect a network.
"""

from __future__ import annotations

import argparse

import torch

from slim.nets import nets_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slim", description=__doc__.splitlines()[0])
    parser.add_argument("--model_name", default="lenet", help="a nets factory name (default: lenet)")
    parser.add_argument("--num_classes", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=2)
    args = parser.parse_args(argv)
    model = nets_factory.get_network_fn(args.model_name, num_classes=args.num_classes, is_training=False)
    size = model.default_image_size
    channels = 1 if args.model_name == "lenet" else 3
    images = torch.rand(args.batch_size, channels, size, size)
    model.build(images)
    with torch.no_grad():
        logits, end_points = model(images)
    total = 0
    print(f"{args.model_name}: variables (name, shape)")
    for name, value in model.state_dict().items():
        total += value.numel()
        print(f"  {name:70s} {tuple(value.shape)}")
    print(f"  {total:,} values in all")
    print("end points (name, shape NCHW)")
    for name, value in end_points.items():
        print(f"  {name:70s} {tuple(value.shape)}")
    print(f"logits {tuple(logits.shape)}; predicted classes {logits.argmax(-1).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
