"""Our checkpoint format and assign_from_checkpoint(_fn) on it (TF checkpoints: tests/framework/tf_checkpoint)."""

import os

import pytest
import torch

import slim
from slim.framework import checkpoint as ckpt
from slim.framework.restore import assign_from_checkpoint, assign_from_checkpoint_fn


def net(x, num_classes=4):
    with slim.variable_scope("Net"):
        x = slim.conv2d(x, 3, 3, normalizer_fn=slim.batch_norm, scope="conv1")
        x = slim.flatten(x)
        return slim.fully_connected(x, num_classes, activation_fn=None, scope="Logits")


def build(num_classes=4, seed=0):
    torch.manual_seed(seed)
    return slim.Model(net, num_classes=num_classes).build(torch.zeros(1, 2, 4, 4))


def test_save_read_round_trip_with_metadata(tmp_path):
    model = build()
    prefix = ckpt.save_checkpoint(
        tmp_path / "model.ckpt-7",
        model.state_dict(),
        {"global_step": 7, "model_name": "net", "model_args": {"num_classes": 4}},
    )
    assert prefix.endswith("model.ckpt-7")
    assert ckpt.latest_checkpoint(tmp_path) == str(tmp_path / "model.ckpt-7")
    data = ckpt.read_checkpoint(tmp_path)
    assert data.global_step == 7 and data.metadata["model_args"] == {"num_classes": 4}
    assert set(data.tensors) == set(model.state_dict())
    assert all(torch.equal(data.tensors[k], v) for k, v in model.state_dict().items())
    index = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt-7"' in index


def test_keeps_last_n(tmp_path):
    model = build()
    for step in range(1, 8):
        ckpt.save_checkpoint(tmp_path / f"model.ckpt-{step}", model.state_dict(), {"global_step": step}, max_to_keep=3)
    files = sorted(p.name for p in tmp_path.glob("*.safetensors"))
    assert files == ["model.ckpt-5.safetensors", "model.ckpt-6.safetensors", "model.ckpt-7.safetensors"]
    latest, all_paths = ckpt.get_checkpoint_state(tmp_path)
    assert latest.endswith("model.ckpt-7") and len(all_paths) == 3


def test_interrupted_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    model = build()
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", model.state_dict(), {"global_step": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed during write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path / "model.ckpt-2", model.state_dict(), {"global_step": 2})
    monkeypatch.undo()
    assert ckpt.latest_checkpoint(tmp_path).endswith("model.ckpt-1")
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "model.ckpt-2.safetensors").exists()
    assert ckpt.read_checkpoint(tmp_path).global_step == 1


def test_latest_checkpoint_ignores_index_pointing_to_missing_file(tmp_path):
    model = build()
    ckpt.save_checkpoint(tmp_path / "model.ckpt-3", model.state_dict(), {"global_step": 3})
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-9"\n')
    assert ckpt.latest_checkpoint(tmp_path).endswith("model.ckpt-3")
    assert ckpt.latest_checkpoint(tmp_path / "nothing") is None


def test_corrupt_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.ckpt-1.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="model.ckpt-1.safetensors is not a readable slim checkpoint"):
        ckpt.read_checkpoint(tmp_path / "model.ckpt-1")
    with pytest.raises(FileNotFoundError, match="No slim checkpoint"):
        ckpt.read_checkpoint(tmp_path / "model.ckpt-2")


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.Adam(p, lr=0.01),
        lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    ],
)
def test_optimizer_state_round_trip_by_name(tmp_path, make_optimizer):
    model = build()
    optimizer = make_optimizer(model.parameters())
    for _ in range(2):
        logits = model(torch.randn(3, 2, 4, 4))
        optimizer.zero_grad()
        logits.square().mean().backward()
        optimizer.step()
    names = {id(p): n for n, p in model.named_parameters()}
    tensors, meta = ckpt.optimizer_state_to_tensors(optimizer, names)
    ckpt.save_checkpoint(
        tmp_path / "model.ckpt-2", {**model.state_dict(), **tensors}, {"global_step": 2, "optimizer": meta}
    )
    data = ckpt.read_checkpoint(tmp_path)

    other = build(seed=1)
    other.load_state_dict(data.variables())
    other_optimizer = make_optimizer(other.parameters())
    ckpt.optimizer_state_from_tensors(
        other_optimizer, {id(p): n for n, p in other.named_parameters()}, data.tensors, data.metadata["optimizer"]
    )
    x = torch.randn(3, 2, 4, 4)
    for m, opt in ((model, optimizer), (other, other_optimizer)):
        opt.zero_grad()
        m(x).square().mean().backward()
        opt.step()
    assert all(torch.allclose(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    with pytest.raises(ValueError, match="optimizer state is for"):
        ckpt.optimizer_state_from_tensors(
            torch.optim.Adagrad(other.parameters()), names, data.tensors, data.metadata["optimizer"]
        )


def test_assign_from_checkpoint_with_exclusions_and_dict(tmp_path):
    source = build(seed=0)
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", source.state_dict(), {"global_step": 1})
    target = build(num_classes=7, seed=1)
    variables = slim.get_variables_to_restore(exclude=["Net/Logits"], model=target)
    assign_op, feed = assign_from_checkpoint(str(tmp_path), variables)
    assign_op(feed)
    for name in ("Net/conv1/weights", "Net/conv1/BatchNorm/moving_variance"):
        assert torch.equal(target.state_dict()[name], source.state_dict()[name])
    assert target.state_dict()["Net/Logits/weights"].shape == (7, 48)  # 3 channels x 4 x 4 (SAME conv)
    # A dict maps checkpoint names onto variables of other names (here: the moving mean onto beta).
    init_fn = assign_from_checkpoint_fn(
        str(tmp_path / "model.ckpt-1"), {"Net/conv1/BatchNorm/moving_variance": "Net/conv1/BatchNorm/beta"}
    )
    init_fn(target)
    assert torch.equal(
        target.state_dict()["Net/conv1/BatchNorm/beta"], source.state_dict()["Net/conv1/BatchNorm/moving_variance"]
    )


def test_head_mismatch_message_names_the_fix(tmp_path):
    source = build(num_classes=1001)
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", source.state_dict(), {})
    target = build(num_classes=5)
    with pytest.raises(
        ValueError,
        match=r"Net/Logits/weights.*exclude.*--checkpoint_exclude_scopes=Net/Logits"
        r".*1001 classes",
    ):
        assign_from_checkpoint(str(tmp_path), slim.get_variables_to_restore(model=target))


def test_missing_variables(tmp_path):
    source = build()
    state = {k: v for k, v in source.state_dict().items() if "Logits" not in k}
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", state, {})
    target = build(seed=2)
    with pytest.raises(ValueError, match=r"missing variable\(s\) \['Net/Logits/weights', 'Net/Logits/biases'\]"):
        assign_from_checkpoint(str(tmp_path), slim.get_variables_to_restore(model=target))
    init_fn = assign_from_checkpoint_fn(
        str(tmp_path), slim.get_variables_to_restore(model=target), ignore_missing_vars=True
    )
    init_fn(target)
    assert torch.equal(target.state_dict()["Net/conv1/weights"], source.state_dict()["Net/conv1/weights"])
    only_missing = slim.get_variables_to_restore(include=["Net/Logits"], model=target)
    assert assign_from_checkpoint_fn(str(tmp_path), only_missing, ignore_missing_vars=True) is None
    with pytest.raises(ValueError, match="var_list cannot be empty"):
        assign_from_checkpoint_fn(str(tmp_path), [])


def test_reshape_variables(tmp_path):
    slim.variable("v", shape=[2, 3], initializer=slim.zeros_initializer())
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", {"v": torch.arange(6.0).reshape(3, 2)}, {})
    with pytest.raises(ValueError, match="Variable v has shape"):
        assign_from_checkpoint_fn(str(tmp_path), ["v"])()
    assign_from_checkpoint_fn(str(tmp_path), ["v"], reshape_variables=True)()
    assert torch.equal(slim.get_variables("v")[0].value(), torch.arange(6.0).reshape(2, 3))


def test_lenet_head_mismatch_names_its_fc4_head(tmp_path):
    from slim.nets import nets_factory

    source = nets_factory.get_network_fn("lenet", num_classes=1001).build(torch.zeros(1, 1, 28, 28))
    ckpt.save_checkpoint(tmp_path / "model.ckpt-1", source.state_dict(), {})
    target = nets_factory.get_network_fn("lenet", num_classes=10).build(torch.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"classification head.*--checkpoint_exclude_scopes=LeNet/fc4"):
        assign_from_checkpoint(str(tmp_path), slim.get_variables_to_restore(model=target))
