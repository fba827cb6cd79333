"""Variables: creation functions, collections, queries, global step, assignment and device placement."""

import pytest
import torch

import slim
from slim import GraphKeys


def test_variable_and_model_variable_at_top_level():
    weights = slim.model_variable(
        "weights",
        shape=[10, 10, 3, 3],
        initializer=slim.truncated_normal_initializer(stddev=0.1),
        regularizer=slim.l2_regularizer(0.05),
        device="/CPU:0",
    )
    my_var = slim.variable("my_var", shape=[20, 1], initializer=slim.zeros_initializer())
    assert weights.shape == (10, 10, 3, 3) and weights.device.type == "cpu"
    assert weights.abs().max() <= 0.2 + 1e-6  # truncated at two standard deviations
    assert [v.op.name for v in slim.get_model_variables()] == ["weights"]
    assert [v.op.name for v in slim.get_variables()] == ["weights", "my_var"]
    assert slim.get_variables()[1].name == "my_var:0"
    assert torch.equal(my_var, torch.zeros(20, 1))
    assert len(slim.losses.get_regularization_losses()) == 1


def test_get_variables_filters_by_scope_and_suffix():
    def fn(x):
        with slim.variable_scope("A"):
            x = slim.conv2d(x, 2, 1, scope="c1")
        with slim.variable_scope("B"):
            x = slim.conv2d(x, 2, 1, scope="c1", normalizer_fn=slim.batch_norm)
        return x

    model = slim.Model(fn).build(torch.zeros(1, 2, 4, 4))
    names = lambda vs: [v.op.name for v in vs]  # noqa: E731
    assert names(slim.get_variables("A", model=model)) == ["A/c1/weights", "A/c1/biases"]
    assert names(slim.get_variables(suffix="weights", model=model)) == ["A/c1/weights", "B/c1/weights"]
    assert names(slim.get_variables_by_name("beta", model=model)) == ["B/c1/BatchNorm/beta"]
    assert names(slim.get_variables_by_suffix("moving_mean", model=model)) == ["B/c1/BatchNorm/moving_mean"]
    trainable = names(slim.get_trainable_variables(model=model))
    assert "B/c1/BatchNorm/moving_mean" not in trainable and "B/c1/BatchNorm/beta" in trainable
    with model.as_default():
        assert len(slim.get_model_variables()) == 6
    restore = names(slim.get_variables_to_restore(exclude=["B/c1/BatchNorm"], model=model))
    assert restore == ["A/c1/weights", "A/c1/biases", "B/c1/weights"]
    assert names(slim.get_variables_to_restore(include=["B"], exclude=["B/c1/weights"], model=model)) == [
        "B/c1/BatchNorm/beta",
        "B/c1/BatchNorm/moving_mean",
        "B/c1/BatchNorm/moving_variance",
    ]
    with pytest.raises(TypeError):
        slim.get_variables_to_restore(exclude="B", model=model)
    assert slim.get_unique_variable("A/c1/weights", model=model).op.name == "A/c1/weights"
    with pytest.raises(ValueError, match="Couldn't find"):
        slim.get_unique_variable("C", model=model)
    assert names(
        slim.filter_variables(slim.get_variables(model=model), include_patterns=["weights"], exclude_patterns=["A/"])
    ) == ["B/c1/weights"]


def test_handles_follow_the_live_tensor():
    model = slim.Model(lambda x: slim.fully_connected(x, 3)).build(torch.zeros(1, 2))
    handle = slim.get_variables("fully_connected/weights", model=model)[0]
    assert handle.shape == (3, 2) and handle.trainable
    model.load_state_dict({k: torch.ones_like(v) for k, v in model.state_dict().items()})
    assert torch.equal(handle.value(), torch.ones(3, 2))


def test_local_and_global_variables():
    total = slim.local_variable(torch.zeros(3), name="total")
    count = slim.global_variable(0.5, name="count")
    assert [v.op.name for v in slim.get_local_variables()] == ["total"]
    assert "count" in [v.op.name for v in slim.get_variables()]
    assert "total" not in [v.op.name for v in slim.get_variables()]
    assert total.requires_grad is False and count.requires_grad is False


def test_collections_argument_and_add_model_variable():
    slim.variable("v", shape=[2], collections=["mine", GraphKeys.GLOBAL_VARIABLES])
    assert [v.op.name for v in slim.get_variables(collection="mine")] == ["v"]
    assert slim.get_model_variables() == []
    slim.add_model_variable("v")
    assert [v.op.name for v in slim.get_model_variables()] == ["v"]


def test_global_step():
    assert slim.get_global_step() is None
    step = slim.get_or_create_global_step()
    assert step.dtype == torch.int64 and step.dim() == 0
    assert slim.get_or_create_global_step() is step
    with pytest.raises(ValueError, match="already exists"):
        slim.create_global_step()
    slim.assert_global_step(step)
    with pytest.raises(TypeError):
        slim.assert_global_step(torch.zeros(()))
    assert slim.assert_or_get_global_step() is step


def test_assign_from_values():
    model = slim.Model(lambda x: slim.fully_connected(x, 2, scope="fc")).build(torch.zeros(1, 3))
    assign_op, feed = slim.assign_from_values({"fc/weights": torch.arange(6.0), "fc/biases": [1.0, 2.0]}, model=model)
    assign_op(feed)
    assert torch.equal(model.state_dict()["fc/weights"], torch.arange(6.0).reshape(2, 3))
    slim.assign_from_values_fn({"fc/biases": [5.0, 6.0]}, model=model)(None)
    assert torch.equal(model.state_dict()["fc/biases"], torch.tensor([5.0, 6.0]))
    with pytest.raises(ValueError, match="fc/nothing wasn't found"):
        slim.assign_from_values({"fc/nothing": 1.0}, model=model)
    with pytest.raises(ValueError, match="fc/biases: the value has 3 elements"):
        slim.assign_from_values({"fc/biases": [1.0, 2.0, 3.0]}, model=model)


def test_device_strings_and_chooser():
    chooser = slim.VariableDeviceChooser(num_tasks=2, device_type="CPU")
    a = slim.variable("a", shape=[1], device=chooser)
    b = slim.variable("b", shape=[1], device="/job:ps/task:0/device:CPU:0")
    assert a.device.type == "cpu" and b.device.type == "cpu"
    from slim.framework.store import _VariableOp

    # 'a' took task 0, so the round robin goes on with task 1, then wraps.
    assert chooser(_VariableOp("x")) == "/job:ps/task:1/device:CPU:0"
    assert chooser(_VariableOp("y")) == "/job:ps/task:0/device:CPU:0"
    with pytest.raises(ValueError, match="cannot understand the device"):
        slim.variable("c", shape=[1], device="/TPU_SYSTEM")


def test_partitioner_is_refused_clearly():
    with pytest.raises(ValueError, match="partitioned variables are not supported"):
        slim.variable("p", shape=[4], partitioner=lambda *a: [2])


def test_arg_scope_on_model_variable_reaches_layers():
    def fn(x):
        with slim.arg_scope([slim.model_variable], device="/cpu:0"):
            return slim.conv2d(x, 2, 1)

    model = slim.Model(fn).build(torch.zeros(1, 2, 3, 3))
    assert all(v.device.type == "cpu" for v in model.state_dict().values())
