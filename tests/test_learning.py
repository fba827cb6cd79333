"""slim.learning: the train op and the training loop (checkpoints, resume, summaries, signals, NaN)."""

import logging
import os
import signal

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import slim
from slim.framework import checkpoint as ckpt


def regression_net(x):
    x = slim.fully_connected(x, 8, weights_regularizer=slim.l2_regularizer(1e-4), scope="hidden")
    return slim.fully_connected(x, 1, activation_fn=None, scope="out")


def make_problem(seed=0):
    torch.manual_seed(seed)
    model = slim.Model(regression_net).build(torch.zeros(1, 3))
    generator = torch.Generator().manual_seed(seed)
    target = torch.tensor([[1.0], [-2.0], [0.5]])

    def total_loss():
        x = torch.randn(16, 3, generator=generator)
        prediction = model(x)
        slim.losses.mean_squared_error(prediction, x @ target)
        slim.summaries.add_scalar_summary(prediction.mean(), name="prediction_mean")
        return slim.losses.get_total_loss()

    return model, total_loss


def test_train_op_steps_and_counts():
    model, total_loss = make_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    train_op = slim.learning.create_train_op(total_loss, optimizer, model=model)
    losses = [float(train_op()) for _ in range(60)]
    assert int(slim.get_global_step()) == 60
    assert losses[-1] < losses[0] / 4
    assert [s.tag for s in train_op.last_summaries] == ["prediction_mean"]


def test_loss_scaler_unscales_gradients_and_skips_overflowing_steps():
    model, total_loss = make_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    reference_model, reference_loss = make_problem()
    reference = slim.learning.create_train_op(
        reference_loss, torch.optim.SGD(reference_model.parameters(), lr=0.05), global_step=None, model=reference_model
    )
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    train_op = slim.learning.create_train_op(
        total_loss, optimizer, global_step=None, clip_gradient_norm=0.5, model=model, loss_scaler=scaler
    )
    reference.clip_gradient_norm = 0.5
    for _ in range(3):  # scaled by 1024, unscaled before clipping: the same steps as without scaling
        train_op()
        reference()
    for name, value in reference_model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    overflowing = torch.amp.GradScaler("cpu", init_scale=3e38)  # the scaled gradients are infinite
    train_op.loss_scaler = overflowing
    train_op()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())  # step skipped
    assert overflowing.get_scale() < 3e38  # and the scale lowered


def test_variables_to_train_restricts_updates():
    model, total_loss = make_problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_op = slim.learning.create_train_op(
        total_loss, optimizer, variables_to_train=slim.get_trainable_variables("out", model=model), model=model
    )
    train_op()
    after = model.state_dict()
    assert torch.equal(before["hidden/weights"], after["hidden/weights"])
    assert not torch.equal(before["out/weights"], after["out/weights"])


def test_clip_and_multipliers():
    grads = [(torch.tensor([3.0, 4.0]), "a"), (torch.tensor([0.3, 0.4]), "b"), (None, "c")]
    clipped = slim.learning.clip_gradient_norms(grads, 1.0)
    assert torch.allclose(clipped[0][0], torch.tensor([0.6, 0.8])) and torch.allclose(clipped[1][0], grads[1][0])
    w = torch.zeros(2)
    assert torch.equal(slim.learning.multiply_gradients([(torch.ones(2), w)], {w: 3.0})[0][0], torch.full((2,), 3.0))
    with pytest.raises(ValueError, match="empty"):
        slim.learning.multiply_gradients([(torch.ones(2), w)], {})
    model, total_loss = make_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    before = model.state_dict()["out/biases"].clone()
    train_op = slim.learning.create_train_op(
        total_loss, optimizer, gradient_multipliers={"out/biases": 0.0}, clip_gradient_norm=0.1, model=model
    )
    train_op()
    assert torch.equal(model.state_dict()["out/biases"], before)


def test_nan_loss_stops_with_the_step():
    model, _ = make_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_op = slim.learning.create_train_op(
        lambda: model(torch.full((1, 3), float("nan"))).sum(), optimizer, model=model
    )
    with pytest.raises(FloatingPointError, match="LossTensor is inf or nan at global step 0"):
        train_op()


def test_train_writes_checkpoints_summaries_and_resumes(tmp_path, caplog):
    model, total_loss = make_problem()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train_op = slim.learning.create_train_op(total_loss, optimizer, model=model)
    with caplog.at_level(logging.INFO, logger="slim"):
        loss = slim.learning.train(
            train_op,
            str(tmp_path),
            number_of_steps=20,
            log_every_n_steps=10,
            save_summaries_secs=1e-9,
            save_interval_secs=1e-9,
        )
    assert loss is not None
    assert any(
        r.getMessage().startswith("global step 10: loss = ") and "sec/step" in r.getMessage() for r in caplog.records
    )
    assert ckpt.latest_checkpoint(tmp_path).endswith("model.ckpt-20")
    assert len(list(tmp_path.glob("*.safetensors"))) == 5  # keeps the last 5
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert {"prediction_mean", "global_step/sec"} <= set(events.Tags()["scalars"])

    # A fresh run in the same directory resumes at step 20 and skips init_fn.
    slim.reset_default_graph()
    model2, total_loss2 = make_problem(seed=5)
    optimizer2 = torch.optim.Adam(model2.parameters(), lr=0.01)
    train_op2 = slim.learning.create_train_op(total_loss2, optimizer2, model=model2)
    called = []
    slim.learning.train(
        train_op2, str(tmp_path), number_of_steps=25, init_fn=called.append, save_summaries_secs=0, save_interval_secs=0
    )
    assert called == [] and int(train_op2.global_step) == 25
    assert ckpt.latest_checkpoint(tmp_path).endswith("model.ckpt-25")
    assert ckpt.read_checkpoint(tmp_path).metadata["optimizer"]["class"] == "Adam"


def test_init_fn_runs_without_checkpoint(tmp_path):
    model, total_loss = make_problem()
    train_op = slim.learning.create_train_op(total_loss, torch.optim.SGD(model.parameters(), lr=0.1), model=model)
    called = []
    slim.learning.train(train_op, str(tmp_path), number_of_steps=2, init_fn=called.append, save_summaries_secs=0)
    assert called == [model]


def test_sigint_stops_cleanly_with_a_final_checkpoint(tmp_path):
    model, total_loss = make_problem()
    calls = []

    def interrupted_loss():
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return total_loss()

    train_op = slim.learning.create_train_op(interrupted_loss, torch.optim.SGD(model.parameters(), lr=0.1), model=model)
    slim.learning.train(train_op, str(tmp_path), number_of_steps=1000, save_summaries_secs=0, save_interval_secs=0)
    assert int(train_op.global_step) == 3
    assert ckpt.latest_checkpoint(tmp_path).endswith("model.ckpt-3")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_bad_arguments():
    model, total_loss = make_problem()
    train_op = slim.learning.create_train_op(total_loss, torch.optim.SGD(model.parameters(), lr=0.1), model=model)
    with pytest.raises(ValueError, match="number_of_steps"):
        slim.learning.train(train_op, None, number_of_steps=0)
    with pytest.raises(ValueError, match="graph and master"):
        slim.learning.train(train_op, None, master="grpc://x")
    with pytest.raises(TypeError, match="callable"):
        slim.learning.create_train_op(torch.tensor(1.0), torch.optim.SGD(model.parameters(), lr=0.1))


def test_summaries_recorded_on_another_timer_are_written(tmp_path):
    """Summaries recorded at one step (as train_image_classifier does on its own timer) reach the event file even
    when the steps after it record nothing; they are written at the step that recorded them."""
    model, _ = make_problem()
    calls = {"n": 0}

    def total_loss():
        x = torch.randn(16, 3)
        prediction = model(x)
        slim.losses.mean_squared_error(prediction, x.sum(1, keepdim=True))
        if calls["n"] == 1:
            slim.summaries.add_scalar_summary(prediction.mean(), name="recorded_once")
        calls["n"] += 1
        return slim.losses.get_total_loss()

    train_op = slim.learning.create_train_op(total_loss, torch.optim.SGD(model.parameters(), lr=0.01), model=model)
    slim.learning.train(train_op, str(tmp_path), number_of_steps=5, save_summaries_secs=3600, save_interval_secs=0)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [event.step for event in events.Scalars("recorded_once")] == [2]
