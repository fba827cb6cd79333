"""ResNet v2 (He et al., 2016, pre-activation) with TF-Slim's names: resnet_v2_50, _101, _152, _200.

Each unit starts with batch norm + ReLU (``preact``); the root conv has neither, and a final ``postnorm`` follows the
last block. TF-Slim's published v2 checkpoints expect Inception preprocessing at 299x299 (see docs/pretrained.md).
"""

from __future__ import annotations

from typing import Any

import torch

import slim
from slim.nets import resnet_utils
from slim.nets.nets_factory import register_network
from slim.nets.resnet_v1 import BASE_DEPTHS, BLOCK_STRIDES, BLOCK_UNITS

resnet_arg_scope = resnet_utils.resnet_arg_scope


@slim.add_arg_scope
def bottleneck(
    inputs: torch.Tensor,
    depth: int,
    depth_bottleneck: int,
    stride: int,
    rate: int = 1,
    outputs_collections: Any = None,
    scope: str | None = None,
) -> torch.Tensor:
    """Pre-activation bottleneck: BN+ReLU, then 1x1 -> 3x3 (strided) -> 1x1 (no BN after the last), plus shortcut."""
    with slim.variable_scope(scope, "bottleneck_v2", [inputs]) as sc:
        depth_in = int(inputs.shape[1])
        preact = slim.batch_norm(inputs, activation_fn=torch.relu, scope="preact")
        if depth == depth_in:
            shortcut = resnet_utils.subsample(inputs, stride, "shortcut")
        else:
            shortcut = slim.conv2d(
                preact, depth, [1, 1], stride=stride, normalizer_fn=None, activation_fn=None, scope="shortcut"
            )
        residual = slim.conv2d(preact, depth_bottleneck, [1, 1], stride=1, scope="conv1")
        residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride, rate=rate, scope="conv2")
        residual = slim.conv2d(residual, depth, [1, 1], stride=1, normalizer_fn=None, activation_fn=None, scope="conv3")
        output = shortcut + residual
        return slim.utils.collect_named_outputs(outputs_collections, sc.name, output)


def resnet_v2(
    inputs: torch.Tensor,
    blocks: list[resnet_utils.Block],
    num_classes: int | None = None,
    is_training: bool | None = None,
    global_pool: bool = True,
    output_stride: int | None = None,
    include_root_block: bool = True,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The ResNet v2 body and head (see :func:`slim.nets.resnet_v1.resnet_v1` for the arguments)."""
    with slim.variable_scope(scope, "resnet_v2", [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, bottleneck, resnet_utils.stack_blocks_dense], outputs_collections=end_points_collection
        ):
            with slim.arg_scope([slim.batch_norm], is_training=is_training):
                net = inputs
                if include_root_block:
                    if output_stride is not None:
                        if output_stride % 4 != 0:
                            raise ValueError("The output_stride needs to be a multiple of 4.")
                        output_stride //= 4
                    # No batch norm or activation in conv1: the first unit's preact does them.
                    with slim.arg_scope([slim.conv2d], activation_fn=None, normalizer_fn=None):
                        net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope="conv1")
                    net = slim.max_pool2d(net, [3, 3], stride=2, scope="pool1")
                net = resnet_utils.stack_blocks_dense(net, blocks, output_stride)
                # The pre-activation units leave the output un-normalised: normalise it once here.
                net = slim.batch_norm(net, activation_fn=torch.relu, scope="postnorm")
                end_points = slim.utils.convert_collection_to_dict(end_points_collection)
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)  # pool5
                    end_points["global_pool"] = net
                if num_classes:
                    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="logits")
                    end_points[sc.name + "/logits"] = net
                    if spatial_squeeze:
                        net = torch.squeeze(net, [2, 3])
                        end_points[sc.name + "/spatial_squeeze"] = net
                    end_points["predictions"] = slim.softmax(net, scope="predictions")
                return net, end_points


resnet_v2.default_image_size = 224


def resnet_v2_block(scope: str, base_depth: int, num_units: int, stride: int) -> resnet_utils.Block:
    """A v2 block: ``num_units`` pre-activation bottlenecks, the last one strided."""
    unit = {"depth": base_depth * 4, "depth_bottleneck": base_depth, "stride": 1}
    return resnet_utils.Block(scope, bottleneck, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def _resnet_v2_depth(depth: int):
    def network(
        inputs: torch.Tensor,
        num_classes: int | None = None,
        is_training: bool | None = None,
        global_pool: bool = True,
        output_stride: int | None = None,
        spatial_squeeze: bool = True,
        reuse: Any = None,
        scope: str = f"resnet_v2_{depth}",
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        blocks = [
            resnet_v2_block(f"block{i + 1}", base_depth=base, num_units=units, stride=stride)
            for i, (base, units, stride) in enumerate(zip(BASE_DEPTHS, BLOCK_UNITS[depth], BLOCK_STRIDES))
        ]
        return resnet_v2(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool=global_pool,
            output_stride=output_stride,
            include_root_block=True,
            spatial_squeeze=spatial_squeeze,
            reuse=reuse,
            scope=scope,
        )

    network.__name__ = network.__qualname__ = f"resnet_v2_{depth}"
    network.__doc__ = f"ResNet-{depth} v2 (blocks of {BLOCK_UNITS[depth]} pre-activation bottleneck units)."
    network.default_image_size = resnet_v2.default_image_size
    return network


resnet_v2_50 = _resnet_v2_depth(50)
resnet_v2_101 = _resnet_v2_depth(101)
resnet_v2_152 = _resnet_v2_depth(152)
resnet_v2_200 = _resnet_v2_depth(200)

for _depth, _fn in ((50, resnet_v2_50), (101, resnet_v2_101), (152, resnet_v2_152), (200, resnet_v2_200)):
    register_network(
        f"resnet_v2_{_depth}", _fn, arg_scope_fn=resnet_arg_scope, default_image_size=224, preprocessing="vgg"
    )
