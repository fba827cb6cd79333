"""slim.nets.resnet_utils, translated from TF-Slim's ResnetUtilsTest (resnet_v1_test.py and resnet_v2_test.py).

Inputs are NCHW. ``create_test_input`` is TF-Slim's test input: pixel (i, j) holds i + j in every channel.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import slim
from slim.nets import resnet_utils, resnet_v1, resnet_v2


def create_test_input(batch_size: int, height: int, width: int, channels: int) -> torch.Tensor:
    grid = torch.arange(height, dtype=torch.float32)[:, None] + torch.arange(width, dtype=torch.float32)[None, :]
    return grid.expand(batch_size, channels, height, width).contiguous()


def run(fn, inputs: torch.Tensor):
    """Builds ``fn`` in a fresh slim.Model (eval mode) and returns its outputs on ``inputs``."""
    model = slim.Model(fn).build(inputs)
    model.eval()
    with torch.no_grad():
        return model(inputs)


# --- subsample ------------------------------------------------------------------------------------------------------


def test_subsample_three_by_three():
    # Rows and columns 0 and 2 of [[0, 1, 2], [3, 4, 5], [6, 7, 8]].
    x = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3)
    y = run(lambda inputs: resnet_utils.subsample(inputs, 2), x)
    assert torch.equal(y, torch.tensor([[[[0.0, 2.0], [6.0, 8.0]]]]))


def test_subsample_four_by_four():
    # Rows and columns 0 and 2 of arange(16) as 4 x 4.
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    y = run(lambda inputs: resnet_utils.subsample(inputs, 2), x)
    assert torch.equal(y, torch.tensor([[[[0.0, 2.0], [8.0, 10.0]]]]))


def test_subsample_factor_one_is_identity():
    x = torch.randn(1, 2, 5, 5)
    assert torch.equal(run(lambda inputs: resnet_utils.subsample(inputs, 1), x), x)


# --- conv2d_same ----------------------------------------------------------------------------------------------------


def direct_correlation(x: np.ndarray, w: np.ndarray, pad_before: int, pad_after: int, stride: int) -> np.ndarray:
    """The worked calculation: zero-pad a 2-D map, then slide the kernel (a cross-correlation, as TF's conv)."""
    padded = np.pad(x, [(pad_before, pad_after), (pad_before, pad_after)])
    k = w.shape[0]
    out = (padded.shape[0] - k) // stride + 1
    return np.array(
        [
            [np.sum(padded[i * stride : i * stride + k, j * stride : j * stride + k] * w) for j in range(out)]
            for i in range(out)
        ]
    )


# The maps TF-Slim's testConv2DSameEven (n = 4) and testConv2DSameOdd (n = 5) assert, for x[i, j] = i + j and the
# 3 x 3 kernel w[a, b] = a + b. For example y1[0, 0] = sum over a, b in {1, 2} of (a - 1 + b - 1) * (a + b)
# = 0 * 2 + 1 * 3 + 1 * 3 + 2 * 4 = 14; direct_correlation recomputes every entry below.
TF_EXPECTED = {
    4: {
        "y1": [[14, 28, 43, 26], [28, 48, 66, 37], [43, 66, 84, 46], [26, 37, 46, 22]],
        "y2": [[14, 43], [43, 84]],
        "y4": [[48, 37], [37, 22]],
    },
    5: {
        "y1": [
            [14, 28, 43, 58, 34],
            [28, 48, 66, 84, 46],
            [43, 66, 84, 102, 55],
            [58, 84, 102, 120, 64],
            [34, 46, 55, 64, 30],
        ],
        "y2": [[14, 43, 34], [43, 84, 55], [34, 55, 30]],
        "y4": [[14, 43, 34], [43, 84, 55], [34, 55, 30]],
    },
}


@pytest.mark.parametrize("n", [4, 5], ids=["even", "odd"])
def test_conv2d_same(n):
    """testConv2DSameEven / testConv2DSameOdd: conv2d_same with stride 2 equals the subsampled stride-1 SAME conv,
    while a strided SAME conv differs from it for even inputs (TF puts the extra padding at the bottom/right)."""
    kernel = torch.arange(3, dtype=torch.float32)[:, None] + torch.arange(3, dtype=torch.float32)[None, :]

    def kernel_init(shape, dtype=torch.float32):
        return kernel.reshape(shape).to(dtype)  # kernel is symmetric, so HWIO and OIHW hold it alike

    def convs(inputs):
        with slim.arg_scope(
            [slim.conv2d], weights_initializer=kernel_init, biases_initializer=slim.zeros_initializer()
        ):
            y1 = slim.conv2d(inputs, 1, [3, 3], stride=1, scope="Conv")
            with slim.variable_scope(slim.get_variable_scope(), reuse=True):
                y2 = resnet_utils.subsample(y1, 2)
                y3 = resnet_utils.conv2d_same(inputs, 1, 3, stride=2, scope="Conv")
                y4 = slim.conv2d(inputs, 1, [3, 3], stride=2, scope="Conv")
        return y1, y2, y3, y4

    x = create_test_input(1, n, n, 1)
    model = slim.Model(convs).build(x)
    assert list(model.state_dict()) == ["Conv/weights", "Conv/biases"]  # one conv, reused three times
    with torch.no_grad():
        y1, y2, y3, y4 = (y[0, 0].numpy() for y in model(x))

    x_np, w_np = x[0, 0].numpy(), kernel.numpy()
    expected = TF_EXPECTED[n]
    # The worked calculation reproduces TF's numbers: SAME at stride 1 pads 1/1; a strided SAME conv pads
    # total (ceil(n/2) - 1) * 2 + 3 - n, the extra pixel after.
    np.testing.assert_array_equal(direct_correlation(x_np, w_np, 1, 1, 1), expected["y1"])
    same_total = (-(-n // 2) - 1) * 2 + 3 - n
    np.testing.assert_array_equal(
        direct_correlation(x_np, w_np, same_total // 2, same_total - same_total // 2, 2), expected["y4"]
    )
    np.testing.assert_allclose(y1, expected["y1"])
    np.testing.assert_allclose(y2, expected["y2"])
    np.testing.assert_allclose(y3, expected["y2"])  # conv2d_same == subsampled stride-1 conv
    np.testing.assert_allclose(y4, expected["y4"])


# --- resnet_arg_scope -----------------------------------------------------------------------------------------------


def test_resnet_arg_scope_defaults():
    scope = resnet_utils.resnet_arg_scope()
    bn_params = {"decay": 0.997, "epsilon": 1e-5, "scale": True, "updates_collections": "update_ops", "fused": None}
    conv = scope[slim.arg_scope_func_key(slim.conv2d)]
    assert conv["normalizer_fn"] is slim.batch_norm and conv["activation_fn"] is torch.relu
    assert conv["normalizer_params"] == bn_params
    assert scope[slim.arg_scope_func_key(slim.batch_norm)] == bn_params
    assert scope[slim.arg_scope_func_key(slim.max_pool2d)] == {"padding": "SAME"}

    plain = resnet_utils.resnet_arg_scope(use_batch_norm=False, activation_fn=None, batch_norm_scale=False)
    conv = plain[slim.arg_scope_func_key(slim.conv2d)]
    assert conv["normalizer_fn"] is None and conv["activation_fn"] is None
    assert plain[slim.arg_scope_func_key(slim.batch_norm)]["scale"] is False


def test_resnet_arg_scope_he_initializer_and_weight_decay():
    def conv(inputs):
        with slim.arg_scope(resnet_utils.resnet_arg_scope(weight_decay=0.5)):
            return slim.conv2d(inputs, 64, [3, 3], scope="conv")

    model = slim.Model(conv).build(torch.zeros(1, 64, 8, 8))
    weights = model.state_dict()["conv/weights"]
    # variance_scaling_initializer(): factor 2, fan_in = 3 * 3 * 64 = 576, truncated normal scaled so that the
    # standard deviation is sqrt(2 / fan_in) = 0.0589; 36864 samples estimate it to well within 3%.
    assert abs(weights.std().item() / (2 / 576) ** 0.5 - 1) < 0.03
    assert "conv/BatchNorm/gamma" in model.state_dict() and "conv/biases" not in model.state_dict()
    # l2_regularizer(0.5) = 0.5 * sum(w^2) / 2
    (loss,) = model.regularization_losses()
    torch.testing.assert_close(loss, 0.5 * weights.square().sum() / 2)


# --- stack_blocks_dense ---------------------------------------------------------------------------------------------

BLOCK_FNS = {"v1": resnet_v1.resnet_v1_block, "v2": resnet_v2.resnet_v2_block}


def tiny_blocks(block_fn) -> list[resnet_utils.Block]:
    """Four blocks of two units with base depths 1/2/4/8 and nominal stride 8 (TF-Slim's test blocks)."""
    return [
        block_fn("block1", base_depth=1, num_units=2, stride=2),
        block_fn("block2", base_depth=2, num_units=2, stride=2),
        block_fn("block3", base_depth=4, num_units=2, stride=2),
        block_fn("block4", base_depth=8, num_units=2, stride=1),
    ]


def stack_blocks_nondense(net: torch.Tensor, blocks) -> torch.Tensor:
    """A simplified block stacker without output-stride control (TF-Slim's test helper)."""
    for block in blocks:
        with slim.variable_scope(block.scope, "block", [net]):
            for i, unit in enumerate(block.args):
                with slim.variable_scope(f"unit_{i + 1}", values=[net]):
                    net = block.unit_fn(net, rate=1, **unit)
    return net


@pytest.mark.parametrize("output_stride", [1, 2, 4, 8, None])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_atrous_values_bottleneck(version, output_stride):
    """Dense (atrous) features subsampled to the nominal stride equal the nominal network's, odd and even sizes."""
    blocks = tiny_blocks(BLOCK_FNS[version])
    nominal_stride = 8
    factor = 1 if output_stride is None else nominal_stride // output_stride

    def dense_and_nominal(inputs):
        with slim.arg_scope(resnet_utils.resnet_arg_scope()):
            with slim.arg_scope([slim.batch_norm], is_training=False):
                output = resnet_utils.stack_blocks_dense(inputs, blocks, output_stride)
                output = resnet_utils.subsample(output, factor)
                with slim.variable_scope(slim.get_variable_scope(), reuse=True):  # the same weights
                    expected = stack_blocks_nondense(inputs, blocks)
        return output, expected

    output, expected = run(dense_and_nominal, create_test_input(1, 30, 31, 3))
    assert output.shape == expected.shape == (1, 32, 4, 4)  # ceil(30 / 8) x ceil(31 / 8)
    torch.testing.assert_close(output, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("output_stride", [1, 2, 4, 8, None])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_striding_last_unit_vs_subsample_block_end(version, output_stride):
    """Striding in a block's last unit equals subsampling at the block's end (store_non_strided_activations)."""
    blocks = tiny_blocks(BLOCK_FNS[version])

    def both(inputs):
        with slim.arg_scope(resnet_utils.resnet_arg_scope()):
            with slim.arg_scope([slim.batch_norm], is_training=False):
                output = resnet_utils.stack_blocks_dense(
                    inputs, blocks, output_stride, store_non_strided_activations=False, outputs_collections="output"
                )
                output_end_points = slim.utils.convert_collection_to_dict("output")
                with slim.variable_scope(slim.get_variable_scope(), reuse=True):
                    expected = resnet_utils.stack_blocks_dense(
                        inputs,
                        blocks,
                        output_stride,
                        store_non_strided_activations=True,
                        outputs_collections="expected",
                    )
                expected_end_points = slim.utils.convert_collection_to_dict("expected")
        return output, expected, output_end_points, expected_end_points

    output, expected, output_end_points, expected_end_points = run(both, create_test_input(1, 30, 31, 3))
    torch.testing.assert_close(output, expected, atol=1e-4, rtol=1e-4)
    assert list(output_end_points) == list(expected_end_points) == ["block1", "block2", "block3", "block4"]
    # The blocks' end points: the non-strided ones are the strided ones at twice the resolution, unless the
    # network had turned atrous before that block's end (then neither is strided).
    for i, block in enumerate(blocks[:-1]):
        atrous_activated = output_stride is not None and 2**i >= output_stride
        block_output, block_expected = output_end_points[block.scope], expected_end_points[block.scope]
        if not atrous_activated:
            block_expected = block_expected[:, :, ::2, ::2]  # subsample(block_expected, 2)
        torch.testing.assert_close(block_output, block_expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("output_stride", [3, 16])
def test_stack_blocks_dense_rejects_unreachable_output_stride(output_stride):
    blocks = tiny_blocks(resnet_v1.resnet_v1_block)
    with pytest.raises(ValueError, match=f"target output_stride {output_stride} .*cannot be reached"):
        slim.Model(lambda inputs: resnet_utils.stack_blocks_dense(inputs, blocks, output_stride)).build(
            create_test_input(1, 16, 16, 3)
        )
