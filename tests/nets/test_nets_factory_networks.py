"""Every factory network against what real TF-Slim built (tests/golden/*.json, made from ../shared/reference).

For each network: the variable names and shapes (our layout), the parameter count, the end-point names and shapes
(NCHW) at TF's input size, and a forward + backward pass in training and evaluation mode at batch 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from slim.nets import nets_factory

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_NAMES = sorted(p.stem for p in GOLDEN_DIR.glob("*.json"))


def not_model_variable(name: str) -> bool:
    """TF's NASNet drop-path schedule creates the global step inside the first cell's scope
    (``cell_0/comb_iter_0/left/global_step``); it is training state, not a model variable."""
    return name.rsplit("/", 1)[-1] == "global_step"


# Smaller inputs (without the batch dim) for the forward/backward check where the network allows it (CI time);
# default: the golden size.
REDUCED_SHAPES: dict[str, list[int]] = {
    "i3d": [3, 16, 112, 112],
    "s3dg": [3, 16, 112, 112],
    "inception_v3": [3, 150, 150],
    "inception_v4": [3, 150, 150],
    "inception_resnet_v2": [3, 150, 150],
    "nasnet_large": [3, 160, 160],
    "pnasnet_large": [3, 160, 160],
    "nasnet_mobile": [3, 128, 128],
    "pnasnet_mobile": [3, 128, 128],
    **{f"resnet_v{v}_{d}": [3, 96, 96] for v in (1, 2) for d in (50, 101, 152, 200)},
    **{
        name: [3, 96, 96]
        for name in (
            "mobilenet_v1",
            "mobilenet_v1_075",
            "mobilenet_v1_050",
            "mobilenet_v1_025",
            "mobilenet_v2",
            "mobilenet_v2_140",
            "mobilenet_v2_035",
            "mobilenet_v3_small",
            "mobilenet_v3_large",
            "mobilenet_v3_small_minimalistic",
            "mobilenet_v3_large_minimalistic",
            "mobilenet_edgetpu",
            "mobilenet_edgetpu_075",
        )
    },
}


def load_golden(name: str) -> dict:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text())


@pytest.fixture(scope="module", params=GOLDEN_NAMES)
def built(request):
    """(golden, model built in training mode at TF's input size with batch 1)."""
    name = request.param
    if name not in nets_factory.list_networks():
        pytest.fail(f"network {name} is not registered in the nets factory")
    golden = load_golden(name)
    torch.manual_seed(0)
    model = nets_factory.get_network_fn(name, num_classes=golden["num_classes"], is_training=True)
    shape = [1] + golden["input_shape"][1:]
    model.build(torch.zeros(shape))
    yield golden, model


def test_variables_match_tf(built):
    golden, model = built
    expected = {name: tuple(shape) for name, shape in golden["variables"] if not not_model_variable(name)}
    ours = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    missing = sorted(set(expected) - set(ours))
    unexpected = sorted(set(ours) - set(expected))
    assert not missing and not unexpected, f"missing: {missing[:10]} unexpected: {unexpected[:10]}"
    wrong = {n: (ours[n], expected[n]) for n in expected if ours[n] != expected[n]}
    assert not wrong, f"shape mismatches (ours, TF in our layout): {dict(list(wrong.items())[:10])}"


def test_parameter_count_matches_tf(built):
    golden, model = built
    expected = sum(math.prod(s) for n, s in golden["variables"] if not not_model_variable(n))
    assert sum(v.numel() for v in model.state_dict().values()) == expected


@torch.no_grad()
def test_end_points_match_tf(built):
    golden, model = built
    model.eval()
    torch.manual_seed(1)
    shape = [1] + golden["input_shape"][1:]
    logits, end_points = model(torch.randn(shape))
    expected = golden["end_points_eval"]
    assert sorted(end_points) == sorted(expected)
    wrong = {
        k: (list(v.shape[1:]), expected[k][1:]) for k, v in end_points.items() if list(v.shape[1:]) != expected[k][1:]
    }
    assert not wrong, f"end-point shape mismatches (ours, TF) without the batch dim: {wrong}"
    assert list(logits.shape[1:]) == golden["logits_shape"][1:]
    if golden["end_points_train_only"]:
        model.train()
        _, train_end_points = model(torch.randn(shape))
        for key, tf_shape in golden["end_points_train_only"].items():
            assert key in train_end_points, f"{key} missing in training mode"
            assert list(train_end_points[key].shape[1:]) == tf_shape[1:]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_forward_backward_batch2(built, training):
    golden, model = built
    shape = [2] + REDUCED_SHAPES.get(golden["name"], golden["input_shape"][1:])
    model.train(training)
    torch.manual_seed(2)
    try:
        logits, _ = model(torch.randn(shape))
    except ValueError:
        # Some heads size their kernels to the input (as in TF-Slim): build again at the reduced size.
        model = nets_factory.get_network_fn(golden["name"], num_classes=golden["num_classes"], is_training=training)
        model.build(torch.zeros([1] + shape[1:]))
        logits, _ = model(torch.randn(shape))
    assert logits.shape[0] == 2
    assert torch.isfinite(logits).all()
    logits.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, "no parameter received a gradient"
    assert all(torch.isfinite(g).all() for g in grads)
    model.zero_grad(set_to_none=True)
