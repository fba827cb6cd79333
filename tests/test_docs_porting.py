"""The ```python blocks of docs/porting_from_tf_slim.md run in order, in one namespace, as a reader would run them."""

from __future__ import annotations

import torch
from docs_commands import fenced_blocks

import slim

DOC = "porting_from_tf_slim.md"


def run_blocks() -> dict[str, object]:
    """Executes the page's python blocks in order in one fresh namespace; returns the namespace."""
    namespace: dict[str, object] = {"__name__": "porting_from_tf_slim"}
    for i, block in enumerate(fenced_blocks(DOC, "python")):
        exec(compile(block, f"{DOC} python block {i + 1}", "exec"), namespace)
    return namespace


def test_the_python_blocks_run_in_order_and_do_what_the_page_says() -> None:
    ns = run_blocks()
    assert len(fenced_blocks(DOC, "python")) == 3
    model, images, onehot = ns["model"], ns["images"], ns["onehot"]
    assert isinstance(model, slim.Model) and isinstance(model, torch.nn.Module) and model.built
    # The forward pass: TF-Slim's (logits, end_points); the state_dict keys are TF-Slim's variable names.
    assert ns["logits"].shape == (2, 10) and set(ns["end_points"]) == {"conv1", "pool1", "Logits"}
    assert "MyNet/conv1/conv1_1/weights" in model.state_dict()
    assert "MyNet/conv1/conv1_1/BatchNorm/moving_mean" in model.state_dict()
    # "includes the L2 terms of the model's regularizers": the total is the cross entropy plus the model's L2 terms.
    cross_entropy = torch.nn.functional.cross_entropy(ns["logits"], onehot.argmax(1))
    with torch.no_grad():
        regularization = sum(model.regularization_losses())
    assert float(regularization) > 0
    torch.testing.assert_close(ns["loss"].detach(), cross_entropy.detach() + regularization, rtol=1e-5, atol=1e-6)
    assert images.shape == (2, 3, 224, 224)
