"""Building blocks shared by ResNet v1 and v2 (TF-Slim's ``resnet_utils``): ``Block``, ``subsample``,
``conv2d_same``, ``stack_blocks_dense`` and ``resnet_arg_scope``.

Activations are NCHW. A ResNet is described as a list of :class:`Block` s; :func:`stack_blocks_dense` runs them and,
given ``output_stride``, switches to atrous (dilated) convolution once that stride is reached, so later units keep
the feature resolution (Chen et al., DeepLab) with the same weights as the dense network:

    blocks = [resnet_v1.resnet_v1_block('block1', base_depth=64, num_units=3, stride=2), ...]
    net = resnet_utils.stack_blocks_dense(net, blocks, output_stride=16)
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.framework.collections import GraphKeys
from slim.framework.variable_scope import name_scope

__all__ = ["Block", "subsample", "conv2d_same", "stack_blocks_dense", "resnet_head", "resnet_arg_scope"]


class Block(collections.namedtuple("Block", ["scope", "unit_fn", "args"])):
    """One ResNet block: a variable scope holding units that share a unit function.

    Attributes:
      scope: the block's scope name, e.g. ``'block1'``.
      unit_fn: the unit function (e.g. a bottleneck), called as ``unit_fn(net, rate=..., **unit_args)``.
      args: one keyword dict per unit, e.g. ``{'depth': 256, 'depth_bottleneck': 64, 'stride': 1}``.
    """


def subsample(inputs: torch.Tensor, factor: int, scope: str | None = None) -> torch.Tensor:
    """Keeps every ``factor``-th row and column, starting with the first (the identity for factor 1).

    TF-Slim computes it as a 1x1 max-pool with stride ``factor``; a strided slice gives the same values (a 1x1
    window needs no SAME padding) without the pool's index tensor and its scatter in the backward pass, which made
    compiled training measurably slower. The op name is taken as the pool would take it, so names are unchanged.

    Example:
      ``subsample(x, 2)`` of a 1x1x3x3 ``arange(9)`` is ``[[0, 2], [6, 8]]``.
    """
    if factor == 1:
        return inputs
    name_scope(scope, "MaxPool2D")  # the op name the pool would take (it has no variables)
    return inputs[:, :, ::factor, ::factor]


def conv2d_same(
    inputs: torch.Tensor,
    num_outputs: int,
    kernel_size: int,
    stride: int,
    rate: int = 1,
    scope: str | None = None,
) -> torch.Tensor:
    """A convolution whose strided output is ``subsample(SAME conv, stride)``, whatever the input's parity.

    TF's SAME padding puts the extra pixel of an even total at the bottom/right, which makes a strided SAME conv
    sample different positions for even and odd inputs. For ``stride > 1`` this pads explicitly and symmetrically by
    ``k_eff - 1`` (the smaller half first, ``k_eff = kernel_size + (kernel_size - 1) * (rate - 1)``) and then runs a
    VALID conv, exactly as TF-Slim's ``conv2d_same``; for ``stride == 1`` it is a plain SAME conv.

    Args:
      inputs: ``[N, C, H, W]``.
      num_outputs: the number of output channels.
      kernel_size: the (square) kernel size.
      stride: the (square) stride.
      rate: the dilation rate.
      scope: the conv's variable scope.

    Returns:
      ``[N, num_outputs, ceil(H / stride), ceil(W / stride)]``.

    Example:
      ``net = conv2d_same(images, 64, 7, stride=2, scope='conv1')``  # 224 x 224 -> 112 x 112
    """
    if stride == 1:
        return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate, padding="SAME", scope=scope)
    kernel_size_effective = kernel_size + (kernel_size - 1) * (rate - 1)
    pad_total = kernel_size_effective - 1
    pad_beg = pad_total // 2
    pad_end = pad_total - pad_beg
    inputs = F.pad(inputs, [pad_beg, pad_end, pad_beg, pad_end])  # W then H
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride, rate=rate, padding="VALID", scope=scope)


def _unreachable(output_stride: int | float, current_stride: int | float) -> ValueError:
    return ValueError(
        f"stack_blocks_dense: the target output_stride {output_stride} (relative to the blocks' input) cannot be "
        f"reached: the blocks' strides give {current_stride} there. Use a power of 2 no larger than the product of "
        "the blocks' strides (times 4 for a network with a root block), or None for the nominal stride."
    )


@slim.add_arg_scope
def stack_blocks_dense(
    net: torch.Tensor,
    blocks: Sequence[Block],
    output_stride: int | float | None = None,
    store_non_strided_activations: bool = False,
    outputs_collections: Any = None,
) -> torch.Tensor:
    """Runs ResNet blocks one after another, optionally as an atrous network with a given ``output_stride``.

    Each block opens the scope ``block.scope`` and each unit ``unit_<i>`` (1-based). The block's output is collected
    under the block's full scope name (e.g. ``resnet_v1_50/block1``).

    Once the product of the strides so far equals ``output_stride``, every further unit runs with stride 1 and a
    dilation rate multiplied by the stride it skipped, so the features keep their resolution and, subsampled, equal
    those of the dense network.

    Args:
      net: ``[N, C, H, W]``.
      blocks: the :class:`Block` s to run, in order.
      output_stride: the wanted ratio of input to output resolution (relative to ``net``), or None for the
        network's nominal stride.
      store_non_strided_activations: if True, the last unit of each block runs unstrided and the block's output is
        collected before it is subsampled by that stride at the block's end, so the block's end point keeps full
        resolution; the final output is the same either way.
      outputs_collections: collection(s) the block outputs are added to.

    Returns:
      The output of the last block.

    Raises:
      ValueError: ``output_stride`` cannot be reached with the blocks' strides.
    """
    current_stride = 1  # the stride of the features so far, relative to net
    rate = 1  # the dilation rate of the atrous units once output_stride is reached
    for block in blocks:
        with slim.variable_scope(block.scope, "block", [net]) as sc:
            block_stride = 1
            for i, unit in enumerate(block.args):
                if store_non_strided_activations and i == len(block.args) - 1:
                    # The last unit's stride moves to the block's end.
                    block_stride = unit.get("stride", 1)
                    unit = dict(unit, stride=1)
                with slim.variable_scope(f"unit_{i + 1}", values=[net]):
                    if output_stride is not None and current_stride == output_stride:
                        net = block.unit_fn(net, rate=rate, **dict(unit, stride=1))
                        rate *= unit.get("stride", 1)
                    else:
                        net = block.unit_fn(net, rate=1, **unit)
                        current_stride *= unit.get("stride", 1)
                        if output_stride is not None and current_stride > output_stride:
                            raise _unreachable(output_stride, current_stride)
            # The block's end point, before any subsampling at the block's end.
            net = slim.utils.collect_named_outputs(outputs_collections, sc.name, net)
            if output_stride is not None and current_stride == output_stride:
                rate *= block_stride
            else:
                net = subsample(net, block_stride)
                current_stride *= block_stride
                if output_stride is not None and current_stride > output_stride:
                    raise _unreachable(output_stride, current_stride)
    if output_stride is not None and current_stride != output_stride:
        raise _unreachable(output_stride, current_stride)
    return net


def resnet_head(
    net: torch.Tensor,
    end_points: dict[str, torch.Tensor],
    scope_name: str,
    num_classes: int | None,
    global_pool: bool,
    spatial_squeeze: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The classifier head of ResNet v1 and v2 (TF-Slim writes it out in each): global pool, 1x1-conv logits.

    Args:
      net: the last block's output ``[N, C, H, W]``.
      end_points: the end points so far; ``global_pool``, ``<scope_name>/logits``, ``<scope_name>/spatial_squeeze``
        and ``predictions`` are added to it.
      scope_name: the network's full scope name.
      num_classes: the number of classes; 0 or None returns the (pooled) features.
      global_pool: average over space first (``pool5``).
      spatial_squeeze: squeeze the logits' spatial dims.

    Returns:
      ``(net, end_points)``.
    """
    if global_pool:
        net = torch.mean(net, dim=[2, 3], keepdim=True)  # pool5: [N, C, 1, 1]
        end_points["global_pool"] = net
    if num_classes:
        net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="logits")
        end_points[scope_name + "/logits"] = net
        if spatial_squeeze:
            net = torch.squeeze(net, [2, 3])  # SpatialSqueeze: [N, num_classes]
            end_points[scope_name + "/spatial_squeeze"] = net
        end_points["predictions"] = slim.softmax(net, scope="predictions")
    return net, end_points


def resnet_arg_scope(
    weight_decay: float = 0.0001,
    batch_norm_decay: float = 0.997,
    batch_norm_epsilon: float = 1e-5,
    batch_norm_scale: bool = True,
    activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = torch.relu,
    use_batch_norm: bool = True,
    batch_norm_updates_collections: Any = GraphKeys.UPDATE_OPS,
) -> dict:
    """TF-Slim's ResNet arg scope: He-initialised, L2-regularised convs followed by batch norm; SAME max-pooling.

    Args:
      weight_decay: the L2 regularization scale of the conv weights.
      batch_norm_decay: the moving-average decay of batch norm.
      batch_norm_epsilon: batch norm's variance epsilon.
      batch_norm_scale: whether batch norm learns a scale (``gamma``); TF-Slim's ResNet checkpoints have one.
      activation_fn: the convs' activation.
      use_batch_norm: whether the convs are followed by batch norm.
      batch_norm_updates_collections: the collection of the moving-statistics updates.

    Returns:
      The arg scope dict, for ``with slim.arg_scope(resnet_arg_scope()):``.

    Example:
      ``with slim.arg_scope(resnet_arg_scope(weight_decay=1e-5)): net, end_points = resnet_v1_50(images)``
    """
    batch_norm_params = {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "scale": batch_norm_scale,
        "updates_collections": batch_norm_updates_collections,
        "fused": None,  # the fused path where possible, as TF-Slim
    }
    with slim.arg_scope(
        [slim.conv2d],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=slim.batch_norm if use_batch_norm else None,
        normalizer_params=batch_norm_params,
    ):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params):
            # SAME: pool1 gives ceil(n / 2), e.g. 112 x 112 -> 56 x 56.
            with slim.arg_scope([slim.max_pool2d], padding="SAME") as arg_sc:
                return arg_sc
