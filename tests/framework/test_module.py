"""slim.Model: building, modes, errors, and the PyTorch ecosystem (compile, export, DDP, channels_last, autocast)."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import slim


def small_net(inputs, num_classes=5, is_training=None, scope="SmallNet"):
    with slim.variable_scope(scope, "SmallNet", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, slim.separable_conv2d, slim.max_pool2d, slim.avg_pool2d],
            outputs_collections=end_points_collection,
        ):
            with slim.arg_scope(
                [slim.conv2d, slim.separable_conv2d],
                normalizer_fn=slim.batch_norm,
                normalizer_params={"scale": True, "is_training": is_training},
                weights_regularizer=slim.l2_regularizer(1e-3),
            ):
                net = slim.conv2d(inputs, 8, [3, 3], stride=2, scope="conv1")
                net = slim.separable_conv2d(net, 8, [3, 3], depth_multiplier=2, scope="sep2")
                net = slim.max_pool2d(net, [3, 3], stride=2, padding="SAME", scope="pool2")
                net = slim.conv2d(net, 16, [3, 3], scope="conv3")
                net = slim.avg_pool2d(net, [2, 2], stride=1, padding="SAME", scope="pool3")
            net = slim.dropout(net, 0.8, is_training=is_training, scope="dropout")
            net = slim.flatten(net)
            logits = slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
            end_points = slim.utils.convert_collection_to_dict(end_points_collection)
            end_points["Logits"] = logits
            return logits, end_points


def build(shape=(1, 3, 17, 17), **kwargs):
    torch.manual_seed(0)
    return slim.Model(small_net, **kwargs).build(torch.zeros(shape))


def test_state_dict_keys_are_tf_slim_names():
    model = build()
    keys = list(model.state_dict())
    assert "SmallNet/conv1/weights" in keys
    assert "SmallNet/conv1/BatchNorm/moving_mean" in keys
    assert "SmallNet/sep2/depthwise_weights" in keys and "SmallNet/sep2/pointwise_weights" in keys
    assert "SmallNet/logits/weights" in keys
    assert not any("conv1/biases" in k for k in keys)  # a normalizer replaces the biases
    named = dict(model.named_parameters())
    assert "SmallNet/conv1/BatchNorm/moving_mean" not in named  # statistics are buffers


def test_end_points_and_outputs():
    model = build()
    logits, end_points = model(torch.randn(2, 3, 17, 17))
    assert logits.shape == (2, 5)
    assert list(end_points) == [
        "SmallNet/conv1",
        "SmallNet/sep2",
        "SmallNet/pool2",
        "SmallNet/conv3",
        "SmallNet/pool3",
        "Logits",
    ]
    assert end_points["SmallNet/pool2"].shape == (2, 8, 5, 5)  # 17 -> 9 (conv1, stride 2) -> 5 (pool2)


def test_build_does_not_touch_batch_norm_statistics_and_works_on_batch_1():
    model = build((1, 3, 9, 9))
    stats = {k: v.clone() for k, v in model.state_dict().items() if "moving" in k}
    assert all(torch.equal(v, torch.zeros_like(v)) for k, v in stats.items() if "moving_mean" in k)
    model.train()
    model(torch.randn(4, 3, 9, 9))
    assert not torch.equal(
        model.state_dict()["SmallNet/conv1/BatchNorm/moving_mean"], stats["SmallNet/conv1/BatchNorm/moving_mean"]
    )


def test_train_and_eval_modes_drive_batch_norm_and_dropout():
    model = build()
    x = torch.randn(4, 3, 17, 17)
    model.eval()
    with torch.no_grad():
        a, _ = model(x)
        b, _ = model(x)
    assert torch.equal(a, b)
    moving = model.state_dict()["SmallNet/conv3/BatchNorm/moving_variance"].clone()
    model.train()
    c, _ = model(x)
    assert not torch.allclose(a, c)
    assert not torch.equal(moving, model.state_dict()["SmallNet/conv3/BatchNorm/moving_variance"])


def test_explicit_is_training_wins_over_mode():
    model = build(is_training=False)
    x = torch.randn(4, 3, 17, 17)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    a, _ = model(x)
    b, _ = model(x)
    assert torch.equal(a, b)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_strict_state_dict_round_trip():
    model = build()
    model.train()
    model(torch.randn(4, 3, 17, 17))
    other = slim.Model(small_net).build(torch.zeros(1, 3, 17, 17))
    other.load_state_dict(model.state_dict(), strict=True)
    model.eval()
    other.eval()
    x = torch.randn(2, 3, 17, 17)
    assert torch.equal(model(x)[0], other(x)[0])
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({k: v for k, v in model.state_dict().items() if "logits" not in k}, strict=True)


def test_regularization_losses_and_total_loss():
    model = build()
    with slim.collection_scope():
        logits, _ = model(torch.randn(2, 3, 17, 17))
        slim.losses.sparse_softmax_cross_entropy(logits, torch.tensor([1, 2]))
        regs = slim.losses.get_regularization_losses()
        assert len(regs) == 4  # conv1, sep2 depthwise + pointwise, conv3
        w = model.state_dict()["SmallNet/conv1/weights"]
        expected = 1e-3 * w.square().sum() / 2
        assert any(torch.allclose(r, expected) for r in regs)
        total = slim.losses.get_total_loss()
        assert torch.allclose(total, slim.losses.get_losses()[0] + sum(regs))
    with slim.collection_scope():
        assert slim.losses.get_losses() == []


def test_variable_created_after_build_is_an_error():
    def fn(x, extra=False):
        x = slim.conv2d(x, 2, 1, scope="a")
        if extra:
            x = slim.conv2d(x, 2, 1, scope="b")
        return x

    model = slim.Model(fn).build(torch.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match="Variable b/weights is created after the model was built"):
        model(torch.zeros(1, 2, 3, 3), extra=True)


def test_unbuilt_model_errors_are_clear():
    model = slim.Model(small_net)
    with pytest.raises(slim.NotBuiltError, match="model.build"):
        list(model.parameters())
    with pytest.raises(slim.NotBuiltError):
        torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(slim.NotBuiltError):
        model.load_state_dict({})
    with pytest.raises(Exception, match="not been built"):
        torch.export.export(model, (torch.zeros(1, 3, 17, 17),))


def test_first_eager_call_builds():
    model = slim.Model(small_net)
    logits, _ = model(torch.randn(2, 3, 17, 17))
    assert model.built and logits.shape == (2, 5)


def test_torch_compile_has_no_graph_breaks():
    model = build()
    model.eval()
    x = torch.randn(2, 3, 17, 17)
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    model.train()
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons


def test_torch_compile_matches_eager():
    model = build()
    model.eval()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    x = torch.randn(2, 3, 17, 17)
    assert torch.allclose(compiled(x)[0], model(x)[0], atol=1e-5)


def test_torch_export_matches_eager_with_dynamic_batch():
    model = build()
    model.eval()
    x = torch.randn(2, 3, 17, 17)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (x,), dynamic_shapes={"inputs": {0: batch}})
    y = torch.randn(5, 3, 17, 17)
    assert torch.allclose(program.module()(y)[0], model(y)[0], atol=1e-5)


def test_channels_last_and_autocast_bfloat16():
    model = build()
    model.eval()
    x = torch.randn(2, 3, 17, 17)
    reference, _ = model(x)
    cl_model = build().to(memory_format=torch.channels_last)
    cl_model.load_state_dict(model.state_dict())
    cl_model.eval()
    out, _ = cl_model(x.to(memory_format=torch.channels_last))
    assert torch.allclose(out, reference, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low, _ = model(x)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), reference, atol=0.1, rtol=0.05)


def _ddp_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        torch.manual_seed(0)
        model = slim.Model(small_net).build(torch.zeros(1, 3, 17, 17))
        if rank == 1:  # different initial weights: DDP must broadcast rank 0's
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(1.0)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
        generator = torch.Generator().manual_seed(100 + rank)
        for _ in range(3):
            x = torch.randn(4, 3, 17, 17, generator=generator)
            labels = torch.randint(0, 5, (4,), generator=generator)
            logits, _ = ddp(x)
            loss = torch.nn.functional.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        torch.save(
            {k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(out_dir, f"rank{rank}.pt")
        )
    finally:
        dist.destroy_process_group()


def test_ddp_gloo_two_processes_keep_parameters_equal(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt")
    b = torch.load(tmp_path / "rank1.pt")
    trainable = [k for k in a if "moving" not in k]
    assert all(torch.equal(a[k], b[k]) for k in trainable)
    initial = slim.Model(small_net)
    torch.manual_seed(0)
    initial.build(torch.zeros(1, 3, 17, 17))
    assert not torch.equal(initial.state_dict()["SmallNet/logits/weights"], a["SmallNet/logits/weights"])


def test_collect_end_points_as_names_returns_only_those():
    model = slim.Model(small_net).build(torch.zeros(1, 3, 17, 17))
    logits, everything = model(torch.zeros(2, 3, 17, 17))
    assert len(everything) > 1
    chosen = sorted(everything)[:1]
    model.collect_end_points = tuple(chosen)
    same_logits, selected = model(torch.zeros(2, 3, 17, 17))
    assert list(selected) == chosen and torch.equal(same_logits, logits)
    model.collect_end_points = ()
    assert model(torch.zeros(2, 3, 17, 17))[1] == {}
