"""Our layers against real TF-Slim outputs (tests/fixtures/layers/make_layer_fixtures.py).

Inputs are NHWC in the fixture and transposed to NCHW here; weights are TF-layout and loaded through the same
layout permutations the checkpoint converter uses.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import slim

REF = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "layers" / "layer_numerics.npz")
CASES = sorted({key.split("/")[0] for key in REF.files})


def nchw(array):
    array = torch.from_numpy(np.ascontiguousarray(array))
    return array.permute(0, 3, 1, 2) if array.dim() == 4 else array


def nhwc(tensor):
    return tensor.permute(0, 2, 3, 1).detach().numpy() if tensor.dim() == 4 else tensor.detach().numpy()


def load_tf_weights(model, values):
    """Copies TF-layout arrays into the model's variables with each variable's own layout permutation."""
    state = {}
    for name, array in values.items():
        info = model.store.infos[name]
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        state[name] = tensor.permute(*info.layout) if info.layout else tensor
    model.load_state_dict(state, strict=False)


def close(ours, theirs, atol=1e-5):
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert np.allclose(ours, theirs, atol=atol, rtol=1e-5), np.abs(ours - theirs).max()


def parse(name):
    parts = name.split("_")
    return {p[0]: int(p[1:]) for p in parts if p[:1] in "ksrm" and p[1:].isdigit()}


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("conv_")])
def test_conv2d_same_and_valid_padding(case):
    args = parse(case)
    padding = case.rsplit("_", 1)[1]
    x = nchw(REF[f"{case}/input"])
    model = slim.Model(
        lambda t: slim.conv2d(
            t, 4, args["k"], stride=args["s"], rate=args["r"], padding=padding, activation_fn=None, scope="c"
        )
    ).build(x)
    load_tf_weights(model, {"c/weights": REF[f"{case}/weights"], "c/biases": REF[f"{case}/biases"]})
    close(nhwc(model(x)), REF[f"{case}/output"])


@pytest.mark.parametrize("case", [c for c in CASES if "pool_" in c])
def test_pooling_padding_and_divisor(case):
    args = parse(case)
    padding = case.rsplit("_", 1)[1]
    layer = slim.max_pool2d if case.startswith("max") else slim.avg_pool2d
    x = nchw(REF[f"{case}/input"])
    y = slim.Model(lambda t: layer(t, args["k"], stride=args["s"], padding=padding)).build(x)(x)
    close(nhwc(y), REF[f"{case}/output"])


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("sep_")])
def test_separable_conv2d(case):
    num_outputs = None if case.split("_")[1] == "None" else int(case.split("_")[1])
    args = parse(case)
    x = nchw(REF[f"{case}/input"])
    model = slim.Model(
        lambda t: slim.separable_conv2d(
            t,
            num_outputs,
            3,
            depth_multiplier=args["m"],
            stride=args["s"],
            rate=args["r"],
            activation_fn=None,
            scope="sep",
        )
    ).build(x)
    weights = {"sep/depthwise_weights": REF[f"{case}/depthwise_weights"], "sep/biases": REF[f"{case}/biases"]}
    if num_outputs:
        weights["sep/pointwise_weights"] = REF[f"{case}/pointwise_weights"]
    load_tf_weights(model, weights)
    close(nhwc(model(x)), REF[f"{case}/output"], atol=1e-4)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("convt_")])
def test_conv2d_transpose_sizes_and_values(case):
    args = parse(case)
    padding = case.rsplit("_", 1)[1]
    x = nchw(REF[f"{case}/input"])
    model = slim.Model(
        lambda t: slim.conv2d_transpose(
            t, 4, args["k"], stride=args["s"], padding=padding, activation_fn=None, biases_initializer=None, scope="ct"
        )
    ).build(x)
    load_tf_weights(model, {"ct/weights": REF[f"{case}/weights"]})
    close(nhwc(model(x)), REF[f"{case}/output"])


@pytest.mark.parametrize("tag", ["rank4", "rank2"])
def test_batch_norm_inference(tag):
    x = nchw(REF[f"bn_{tag}/input"])
    model = slim.Model(lambda t: slim.batch_norm(t, scale=True, is_training=False, scope="bn")).build(x)
    load_tf_weights(
        model, {f"bn/{k}": REF[f"bn_{tag}/{k}"] for k in ("beta", "gamma", "moving_mean", "moving_variance")}
    )
    close(nhwc(model(x)), REF[f"bn_{tag}/eval_output"])


@pytest.mark.parametrize("tag", ["rank4", "rank2"])
@pytest.mark.parametrize("variant", ["fused", "nonfused", "debias"])
def test_batch_norm_training_update(tag, variant):
    kwargs = {"fused": {}, "nonfused": {"fused": False}, "debias": {"fused": False, "zero_debias_moving_mean": True}}
    x = nchw(REF[f"bn_{tag}/input"])
    model = slim.Model(
        lambda t: slim.batch_norm(t, decay=0.9, scale=True, is_training=True, scope="bn", **kwargs[variant])
    ).build(x)
    load_tf_weights(
        model, {f"bn/{k}": REF[f"bn_{tag}/{k}"] for k in ("beta", "gamma", "moving_mean", "moving_variance")}
    )
    close(nhwc(model(x)), REF[f"bn_{tag}_{variant}/train_output"], atol=1e-4)
    state = model.state_dict()
    close(state["bn/moving_mean"].numpy(), REF[f"bn_{tag}_{variant}/moving_mean_1"])
    close(state["bn/moving_variance"].numpy(), REF[f"bn_{tag}_{variant}/moving_variance_1"], atol=1e-4)
    model(x)
    close(model.state_dict()["bn/moving_mean"].numpy(), REF[f"bn_{tag}_{variant}/moving_mean_2"])


def test_regularizers():
    w = torch.from_numpy(REF["reg/weights"])
    close(slim.l2_regularizer(0.25)(w).numpy(), REF["reg/l2"])
    close(slim.l1_regularizer(0.25)(w).numpy(), REF["reg/l1"])
    close(slim.l1_l2_regularizer(0.25, 0.5)(w).numpy(), REF["reg/l1_l2"])


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("layer_norm")])
def test_layer_norm(case):
    x = torch.from_numpy(REF[f"{case}/input"])
    axis = int(case.rsplit("axis", 1)[1])
    model = slim.Model(lambda t: slim.layer_norm(t, begin_norm_axis=axis, begin_params_axis=-1, scope="ln")).build(x)
    model.load_state_dict(
        {"ln/beta": torch.from_numpy(REF[f"{case}/beta"]), "ln/gamma": torch.from_numpy(REF[f"{case}/gamma"])}
    )
    close(model(x).detach().numpy(), REF[f"{case}/output"])


def test_unit_norm_softmax_flatten_fc():
    close(slim.unit_norm(torch.from_numpy(REF["unit_norm/input"]), 1).numpy(), REF["unit_norm/dim1"])
    x4 = nchw(REF["softmax/input4"])
    close(nhwc(slim.softmax(x4)), REF["softmax/output4"])
    close(slim.Model(lambda t: slim.flatten(t)).build(x4)(x4).numpy(), REF["flatten/output4"])
    x3 = torch.from_numpy(REF["fc3/input"])
    model = slim.Model(lambda t: slim.fully_connected(t, 6, activation_fn=None, scope="fc")).build(x3)
    load_tf_weights(model, {"fc/weights": REF["fc3/weights"]})
    close(model(x3).detach().numpy(), REF["fc3/output"])


def test_group_and_instance_norm():
    x = nchw(REF["group_norm/input"])
    close(nhwc(slim.Model(lambda t: slim.group_norm(t, groups=2)).build(x)(x)), REF["group_norm/output"], atol=1e-4)
    close(nhwc(slim.Model(lambda t: slim.instance_norm(t)).build(x)(x)), REF["instance_norm/output"], atol=1e-4)
