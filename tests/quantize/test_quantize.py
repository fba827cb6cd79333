"""slim.quantize: TF's fake-quant numerics, quant_delay, batch-norm folding, checkpointed ranges, compile and export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import slim
from slim import quantize
from slim.framework import checkpoint as ckpt
from slim.framework.restore import assign_from_checkpoint
from slim.quantize.fake_quant import zero_debiased_ema_update


def tf_fake_quant(x: np.ndarray, min_value: float, max_value: float, num_bits: int = 8, narrow: bool = False):
    """TF's FakeQuantWithMinMaxVars kernel (fake_quant_ops_functor.h), in float64."""
    quant_min = 1 if narrow else 0
    quant_max = 2**num_bits - 1
    scale = (max_value - min_value) / (quant_max - quant_min)
    zero_point_from_min = quant_min - min_value / scale
    zero_point = min(max(np.floor(zero_point_from_min + 0.5), quant_min), quant_max)
    nudged_min, nudged_max = (quant_min - zero_point) * scale, (quant_max - zero_point) * scale
    clamped = np.clip(x, nudged_min, nudged_max)
    return np.floor((clamped - nudged_min) / scale + 0.5) * scale + nudged_min, nudged_min, nudged_max, scale


# --- fake quantization numerics ---


@pytest.mark.parametrize(
    "min_value, max_value, narrow, expected",
    [
        (-10.0, 53.75, False, (-10.0, 53.75, 0.25)),  # no nudging
        (-0.1, 63.65, False, (0.0, 63.75, 0.25)),  # zero point nudged down
        (-0.26, 63.49, False, (-0.25, 63.5, 0.25)),  # zero point nudged up
        (-0.1, 63.4, True, (0.0, 63.5, 0.25)),  # narrow range: 254 steps from level 1
        (0.5, 64.25, False, (0.0, 63.75, 0.25)),  # a range above 0 is moved to start at 0
    ],
)
def test_nudged_range_is_tfs(min_value, max_value, narrow, expected):
    scale, zero_point, nudged_min, nudged_max = quantize.nudged_quantization_params(
        torch.tensor(min_value), torch.tensor(max_value), narrow_range=narrow
    )
    assert (float(nudged_min), float(nudged_max), float(scale)) == pytest.approx(expected, abs=1e-5)
    assert zero_point.dtype == torch.int32


@pytest.mark.parametrize("narrow", [False, True])
def test_values_snap_to_the_levels_of_the_range(narrow):
    x = torch.linspace(-3.0, 5.0, 20001)
    low, high = torch.tensor(-2.1), torch.tensor(4.3)
    out = quantize.fake_quant_with_min_max_vars(x, low, high, narrow_range=narrow)
    expected, nudged_min, nudged_max, scale = tf_fake_quant(x.double().numpy(), -2.1, 4.3, narrow=narrow)
    levels = (out.double().numpy() - nudged_min) / scale
    assert np.allclose(levels, np.round(levels), atol=1e-3)
    assert levels.min() == pytest.approx(0.0, abs=1e-3) and levels.max() == pytest.approx(
        254 if narrow else 255, abs=1e-3
    )
    assert len(torch.unique(out)) == (255 if narrow else 256)
    assert np.abs(out.double().numpy() - np.clip(x.double().numpy(), nudged_min, nudged_max)).max() <= scale / 2 + 1e-5
    # Equal to TF's kernel except where float32 rounding meets an exact half step.
    assert np.mean(np.abs(out.double().numpy() - expected) > 1e-4) < 1e-3
    assert float(quantize.fake_quant_with_min_max_vars(torch.zeros(1), low, high, narrow_range=narrow)) == 0.0


def test_fewer_bits():
    x = torch.linspace(-2.0, 2.0, 1001)
    out = quantize.fake_quant_with_min_max_vars(x, torch.tensor(-1.0), torch.tensor(1.0), num_bits=4)
    assert len(torch.unique(out)) == 16
    with pytest.raises(ValueError, match="num_bits"):
        quantize.fake_quant_with_min_max_vars(x, torch.tensor(-1.0), torch.tensor(1.0), num_bits=9)


def test_gradient_is_straight_through_inside_the_range():
    x = torch.linspace(-3.0, 5.0, 801, requires_grad=True)
    low, high = torch.tensor(-2.1), torch.tensor(4.3)
    quantize.fake_quant_with_min_max_vars(x, low, high).sum().backward()
    _, nudged_min, nudged_max, _ = tf_fake_quant(np.zeros(1), -2.1, 4.3)
    inside = (x.detach().double() >= nudged_min - 1e-6) & (x.detach().double() <= nudged_max + 1e-6)
    assert torch.equal(x.grad, inside.float())


def test_zero_debiased_moving_average_is_tfs():
    variable, biased, step = torch.tensor(6.0), torch.tensor(0.0), torch.tensor(0.0)
    zero_debiased_ema_update(variable, biased, step, torch.tensor(2.0), 0.999)
    assert float(variable) == pytest.approx(2.0, rel=1e-4) and float(step) == 1.0  # float32, as TF
    zero_debiased_ema_update(variable, biased, step, torch.tensor(4.0), 0.999)
    expected = (0.999 * 0.001 * 2.0 + 0.001 * 4.0) / (1 - 0.999**2)
    assert float(variable) == pytest.approx(expected, rel=1e-4)


# --- models ---


def small_net(images, num_classes=3, is_training=None, scope="Small"):
    with slim.variable_scope(scope, "Small", [images]):
        net = slim.conv2d(images, 4, [3, 3], scope="conv1")
        net = slim.max_pool2d(net, [2, 2], 2, scope="pool1")
        net = slim.flatten(net)
        logits = slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
    return logits, {}


def bn_net(images, is_training=None, scope="BN"):
    params = {"scale": True, "epsilon": 0.01, "is_training": is_training}
    with slim.variable_scope(scope, "BN", [images]):
        with slim.arg_scope(
            [slim.conv2d, slim.separable_conv2d], normalizer_fn=slim.batch_norm, normalizer_params=params
        ):
            net = slim.conv2d(images, 4, [3, 3], activation_fn=F.relu6, scope="conv1")
            net = slim.separable_conv2d(net, None, [3, 3], activation_fn=F.relu6, scope="conv2_depthwise")
        net = slim.flatten(net)
        logits = slim.fully_connected(net, 3, activation_fn=None, scope="logits")
    return logits, {}


def randomize_batch_norm(model):
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if name.endswith(("moving_mean", "beta")):
                value.copy_(torch.randn_like(value) * 0.3)
            elif name.endswith(("moving_variance", "gamma")):
                value.copy_(torch.rand_like(value) + 0.5)


X = torch.randn(4, 3, 8, 8)


def test_training_graph_variables_have_tfs_names_and_collections():
    model = slim.Model(bn_net).build(X[:1])
    quantizer = quantize.create_training_graph(model, quant_delay=5, example_input=X[:1])
    assert list(quantizer.layers) == ["BN/conv1", "BN/conv2_depthwise", "BN/logits"]
    assert quantizer.layers["BN/conv1"].folded_batch_norm == "BN/conv1/BatchNorm"
    assert quantizer.layers["BN/logits"].folded_batch_norm is None
    names = set(model.state_dict())
    for layer in quantizer.layers:
        assert {f"{layer}/weights_quant/min", f"{layer}/weights_quant/max"} <= names
        for end in ("min", "max"):
            assert {f"{layer}/act_quant/{end}", f"{layer}/act_quant/{end}/biased"} <= names
            assert f"{layer}/act_quant/{end}/local_step" in names
    assert "fake_quantization_step" in names
    global_names = {v.op.name for v in slim.get_variables_to_restore(model=model)}
    model_names = {v.op.name for v in slim.get_model_variables(model=model)}
    assert set(quantizer.variable_names()) <= global_names
    assert not set(quantizer.variable_names()) & model_names  # TF: GLOBAL_VARIABLES only, never model variables
    assert not any("quant" in name for name, _ in model.named_parameters())
    with pytest.raises(ValueError, match="quantized already"):
        quantize.create_eval_graph(model, example_input=X[:1])


def test_quant_delay_identity_before_quantized_after():
    torch.manual_seed(1)
    model = slim.Model(small_net).build(X[:1])
    reference = slim.Model(small_net).build(X[:1])
    reference.load_state_dict(model.state_dict())
    quantize.create_training_graph(model, quant_delay=3, example_input=X[:1])
    state = model.state_dict()
    assert float(state["Small/conv1/act_quant/max"]) == 6.0  # TF's initial range, untouched by creating it
    for step in (1, 2):
        out, _ = model(X)
        assert int(state["fake_quantization_step"]) == step
        assert torch.allclose(out, reference(X)[0], atol=1e-6)
    # Ranges are tracked before the delay: the first update is the batch range itself (zero-debiased EMA).
    assert float(state["Small/conv1/act_quant/max/local_step"]) == 2.0
    assert float(state["Small/conv1/weights_quant/min"]) == pytest.approx(
        float(model.state_dict()["Small/conv1/weights"].min())
    )
    out, _ = model(X)
    assert not torch.allclose(out, reference(X)[0], atol=1e-4)
    scale, _, nudged_min, _ = quantize.nudged_quantization_params(
        state["Small/logits/act_quant/min"], state["Small/logits/act_quant/max"]
    )
    levels = (out.detach() - nudged_min) / scale
    assert torch.allclose(levels, levels.round(), atol=1e-3)


def test_quant_delay_zero_quantizes_from_the_start_and_eval_freezes_ranges():
    model = slim.Model(small_net).build(X[:1])
    reference = slim.Model(small_net).build(X[:1])
    reference.load_state_dict(model.state_dict())
    quantize.create_training_graph(model, quant_delay=0, example_input=X[:1])
    assert "fake_quantization_step" not in model.state_dict()  # TF makes the counter only for quant_delay > 0
    out, _ = model(X)
    assert not torch.allclose(out, reference(X)[0], atol=1e-4)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(X * 3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_gradients_flow_through_quantized_layers():
    model = slim.Model(bn_net).build(X[:1])
    quantize.create_training_graph(model, quant_delay=0, example_input=X[:1])
    out, _ = model(X)
    out.square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def conv_bn(images, is_training=None):
    params = {"scale": True, "epsilon": 0.01}
    with slim.variable_scope("BN", "BN", [images]):
        net = slim.conv2d(
            images,
            4,
            [3, 3],
            activation_fn=F.relu6,
            normalizer_fn=slim.batch_norm,
            normalizer_params=params,
            scope="conv1",
        )
    return net, {}


def test_eval_graph_folds_batch_norm_like_tf():
    torch.manual_seed(2)
    model = slim.Model(conv_bn).build(X[:1])
    randomize_batch_norm(model)
    model.eval()
    quantize.create_eval_graph(model, example_input=X[:1])
    state = model.state_dict()
    with torch.no_grad():
        state["BN/conv1/weights_quant/min"].fill_(-0.9)
        state["BN/conv1/weights_quant/max"].fill_(1.1)
        state["BN/conv1/act_quant/max"].fill_(5.0)
        got, _ = model(X)
        # TF's folded conv: quantized weights * gamma / sqrt(var + eps), bias beta - gamma * mean / sqrt(var + eps).
        factor = state["BN/conv1/BatchNorm/gamma"] / torch.sqrt(state["BN/conv1/BatchNorm/moving_variance"] + 0.01)
        folded = state["BN/conv1/weights"] * factor.reshape(-1, 1, 1, 1)
        weights = quantize.fake_quant_with_min_max_vars(
            folded, torch.tensor(-0.9), torch.tensor(1.1), narrow_range=True
        )
        bias = state["BN/conv1/BatchNorm/beta"] - factor * state["BN/conv1/BatchNorm/moving_mean"]
        expected = F.relu6(F.conv2d(X, weights, bias, padding=1))
        expected = quantize.fake_quant_with_min_max_vars(expected, torch.tensor(0.0), torch.tensor(5.0))
    assert torch.allclose(got, expected, atol=1e-5)


def test_folded_training_before_the_delay_is_the_float_model():
    torch.manual_seed(5)
    model = slim.Model(conv_bn).build(X[:1])
    randomize_batch_norm(model)
    reference = slim.Model(conv_bn).build(X[:1])
    reference.load_state_dict(model.state_dict())
    quantize.create_training_graph(model, quant_delay=10, example_input=X[:1])
    got, _ = model(X)
    expected, _ = reference(X)  # batch statistics, and the same moving-statistics update
    assert torch.allclose(got, expected, atol=1e-5)
    state, reference_state = model.state_dict(), reference.state_dict()
    assert torch.allclose(state["BN/conv1/BatchNorm/moving_mean"], reference_state["BN/conv1/BatchNorm/moving_mean"])


def test_ranges_are_saved_and_restored_from_a_checkpoint(tmp_path):
    torch.manual_seed(3)
    model = slim.Model(bn_net).build(X[:1])
    quantize.create_training_graph(model, quant_delay=1, example_input=X[:1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        out, _ = model(X)
        out.square().mean().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        expected, _ = model(X)
    prefix = ckpt.save_checkpoint(tmp_path / "model.ckpt-3", model.state_dict())
    saved = ckpt.read_checkpoint(prefix).tensors
    assert float(saved["BN/conv1/act_quant/max/local_step"]) == 3.0 and int(saved["fake_quantization_step"]) == 3

    evaluated = slim.Model(bn_net).build(X[:1]).eval()
    quantize.create_eval_graph(evaluated, example_input=X[:1])
    assign, feed = assign_from_checkpoint(prefix, slim.get_variables_to_restore(model=evaluated))
    assign(feed)
    for name in quantize.get_quantizer(evaluated).variable_names():
        assert torch.equal(evaluated.state_dict()[name], saved[name]), name
    with torch.no_grad():
        got, _ = evaluated(X)
    assert torch.allclose(got, expected, atol=1e-6)

    float_only = slim.Model(bn_net).build(X[:1])
    float_prefix = ckpt.save_checkpoint(tmp_path / "float.ckpt-0", float_only.state_dict())
    fresh = slim.Model(bn_net).build(X[:1])
    quantize.create_eval_graph(fresh, example_input=X[:1])
    with pytest.raises(ValueError, match="act_quant"):
        assign_from_checkpoint(float_prefix, slim.get_variables_to_restore(model=fresh))


def test_scope_and_errors():
    model = slim.Model(small_net).build(X[:1])
    quantizer = quantize.experimental_create_training_graph(model, X[:1], scope="Small/logits")
    assert list(quantizer.layers) == ["Small/logits"]
    assert not any(name.startswith("Small/conv1/") and "quant" in name for name in model.state_dict())
    with pytest.raises(slim.NotBuiltError):
        quantize.create_training_graph(slim.Model(small_net), example_input=X[:1])
    with pytest.raises(ValueError, match="example_input"):
        quantize.create_training_graph(slim.Model(small_net).build(X[:1]))


def test_compiles_without_graph_breaks_and_matches_eager():
    model = slim.Model(bn_net).build(X[:1])
    quantize.create_training_graph(model, quant_delay=2, example_input=X[:1])
    explanation = torch._dynamo.explain(model)(X)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    model.eval()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(X)[0], model(X)[0], atol=1e-5)


def test_export_has_quantize_dequantize_and_matches(tmp_path):
    import onnx
    import onnxruntime

    torch.manual_seed(4)
    model = slim.Model(bn_net).build(X[:1])
    randomize_batch_norm(model)
    quantize.create_training_graph(model, quant_delay=0, example_input=X[:1])
    for _ in range(2):
        model(X)
    model.eval()
    program = torch.export.export(model, (X,))
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert any("fake_quantize" in target for target in targets), targets
    with torch.no_grad():
        expected, _ = model(X)
    assert torch.allclose(program.module()(X)[0], expected, atol=1e-6)
    onnx_program = torch.onnx.export(program, (X,), input_names=["input"], dynamo=True)
    path = tmp_path / "quantized.onnx"
    onnx.save(onnx_program.model_proto, str(path))
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": X.numpy()})[0]
    # One output level at most (ONNX Runtime sums convolutions in another order; see test_quantize_train_eval).
    state = model.state_dict()
    scale, _, _, _ = quantize.nudged_quantization_params(
        state["BN/logits/act_quant/min"], state["BN/logits/act_quant/max"]
    )
    assert np.abs(got - expected.numpy()).max() <= float(scale) * 1.01
    # A dynamic batch exports too (the fake-quant kernel gets a shape function from slim.quantize).
    batch = torch.export.Dim("batch", min=1, max=64)
    dynamic = torch.export.export(model, (X,), dynamic_shapes={"inputs": {0: batch}})
    y = torch.randn(7, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(dynamic.module()(y)[0], model(y)[0], atol=1e-6)
