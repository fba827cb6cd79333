"""model_deploy on torch.distributed: two CPU clones (gloo) against one process on the same global batch."""

from __future__ import annotations

import os

import pytest
import torch

import slim
from slim import learning
from slim.deployment import model_deploy
from slim.nets import nets_factory

GLOBAL_BATCH = 8
STEPS = 3


def _global_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(7)
    return [
        (
            torch.randn(GLOBAL_BATCH, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (GLOBAL_BATCH,), generator=generator),
        )
        for _ in range(STEPS)
    ]


def train_clone(out_dir: str) -> None:
    """Trains lenet (with weight decay) for STEPS steps on this clone's share of each global batch, then saves its
    variables as ``rank<R>.pt``. Module level so that model_deploy's spawned processes can unpickle it."""
    rank, world = model_deploy.rank(), model_deploy.world_size()
    slim.reset_default_graph()
    torch.manual_seed(0)
    # is_training=False only turns lenet's dropout off (its masks would differ per process); no batch norm here.
    model = nets_factory.get_network_fn("lenet", num_classes=10, weight_decay=0.01, is_training=False)
    model.build(torch.zeros(1, 1, 28, 28))
    runner = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)  # small: larger rates make 3 steps chaotic
    per_clone = GLOBAL_BATCH // world
    batches = iter(_global_batches())

    def total_loss() -> torch.Tensor:
        images, labels = next(batches)
        images = images[rank * per_clone : (rank + 1) * per_clone]
        labels = labels[rank * per_clone : (rank + 1) * per_clone]
        logits, _ = runner(images)
        slim.losses.softmax_cross_entropy(logits, torch.nn.functional.one_hot(labels, 10).float())
        return slim.losses.get_total_loss()  # this clone's mean loss + the regularization losses

    train_op = learning.create_train_op(total_loss, optimizer, model=model)
    for _ in range(STEPS):
        train_op()
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(out_dir, f"rank{rank}.pt"))


def test_two_cpu_clones_equal_each_other_and_one_process_on_the_global_batch(tmp_path):
    clones, single = tmp_path / "clones", tmp_path / "single"
    clones.mkdir()
    single.mkdir()
    model_deploy.deploy(model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True), train_clone, str(clones))
    model_deploy.deploy(model_deploy.DeploymentConfig(num_clones=1, clone_on_cpu=True), train_clone, str(single))
    rank0, rank1 = torch.load(clones / "rank0.pt"), torch.load(clones / "rank1.pt")
    one_process = torch.load(single / "rank0.pt")
    torch.manual_seed(0)
    initial = nets_factory.get_network_fn("lenet", num_classes=10, is_training=False).build(torch.zeros(1, 1, 28, 28))
    for name, value in one_process.items():
        assert torch.equal(rank0[name], rank1[name]), name  # DDP keeps the clones identical
        # model_deploy's semantics: mean of the clones' (mean loss + regularization) = the global batch's loss.
        torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6, msg=name)
        assert not torch.equal(value, initial.state_dict()[name]), name  # every variable trained


def test_parameter_servers_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="parameter servers have no equivalent"):
        model_deploy.DeploymentConfig(num_ps_tasks=1)


def test_more_gpu_clones_than_gpus_is_refused_before_spawning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    config = model_deploy.DeploymentConfig(num_clones=2)
    with pytest.raises(ValueError, match="--num_clones=2 needs 2 GPUs on this machine"):
        model_deploy.deploy(config, train_clone, "unused")


def test_master_without_a_port_is_a_clear_error():
    with pytest.raises(ValueError, match="--master=host0 must be host:port"):
        model_deploy.DeploymentConfig(num_replicas=2, replica_id=1, master="host0")


def restore_different_steps(out_dir: str) -> None:
    """Each clone 'restores' a different global step, as with unshared train_dirs: train() must refuse."""
    slim.reset_default_graph()
    model = nets_factory.get_network_fn("lenet", num_classes=10, is_training=False).build(torch.zeros(1, 1, 28, 28))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_op = learning.create_train_op(lambda: model(torch.zeros(1, 1, 28, 28))[0].sum(), optimizer, model=model)
    train_op.global_step.fill_(model_deploy.rank() * 5)
    try:
        learning.train(train_op, None, number_of_steps=1)
    except RuntimeError as error:
        with open(os.path.join(out_dir, f"error{model_deploy.rank()}.txt"), "w") as f:
            f.write(str(error))


def test_clones_starting_from_different_steps_are_refused(tmp_path):
    model_deploy.deploy(
        model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True), restore_different_steps, str(tmp_path)
    )
    for rank in (0, 1):
        assert "start from different global steps [0, 5]" in (tmp_path / f"error{rank}.txt").read_text()
