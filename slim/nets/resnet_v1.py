"""ResNet v1 (He et al., 2015) with TF-Slim's names: resnet_v1_50, _101, _152, _200.

The stride-2 unit is the LAST unit of blocks 1-3 (TF-Slim's choice, unlike torchvision's first), so published TF-Slim
checkpoints give the same features. Example::

    model = slim.nets.get_network_fn('resnet_v1_50', num_classes=1000)
    logits, end_points = model(images)   # end_points['resnet_v1_50/block4'] is [N, 2048, 7, 7]
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets import resnet_utils
from slim.nets.nets_factory import register_network

resnet_arg_scope = resnet_utils.resnet_arg_scope

# Units per block for each depth; base depths 64/128/256/512 (x4 output); strides 2, 2, 2, 1.
BLOCK_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}
BASE_DEPTHS = (64, 128, 256, 512)
BLOCK_STRIDES = (2, 2, 2, 1)


@slim.add_arg_scope
def bottleneck(
    inputs: torch.Tensor,
    depth: int,
    depth_bottleneck: int,
    stride: int,
    rate: int = 1,
    outputs_collections: Any = None,
    scope: str | None = None,
    use_bounded_activations: bool = False,
) -> torch.Tensor:
    """Bottleneck residual unit v1: 1x1 -> 3x3 (strided) -> 1x1, each with batch norm; ReLU after the sum."""
    with slim.variable_scope(scope, "bottleneck_v1", [inputs]) as sc:
        depth_in = int(inputs.shape[1])
        if depth == depth_in:
            shortcut = resnet_utils.subsample(inputs, stride, "shortcut")
        else:
            shortcut = slim.conv2d(
                inputs,
                depth,
                [1, 1],
                stride=stride,
                activation_fn=F.relu6 if use_bounded_activations else None,
                scope="shortcut",
            )
        residual = slim.conv2d(inputs, depth_bottleneck, [1, 1], stride=1, scope="conv1")
        residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride, rate=rate, scope="conv2")
        residual = slim.conv2d(residual, depth, [1, 1], stride=1, activation_fn=None, scope="conv3")
        if use_bounded_activations:
            output = F.relu6(shortcut + torch.clamp(residual, -6.0, 6.0))
        else:
            output = torch.relu(shortcut + residual)
        return slim.utils.collect_named_outputs(outputs_collections, sc.name, output)


def resnet_v1(
    inputs: torch.Tensor,
    blocks: list[resnet_utils.Block],
    num_classes: int | None = None,
    is_training: bool | None = None,
    global_pool: bool = True,
    output_stride: int | None = None,
    include_root_block: bool = True,
    spatial_squeeze: bool = True,
    store_non_strided_activations: bool = False,
    reuse: Any = None,
    scope: str | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The ResNet v1 body and head: root (7x7/2 conv + 3x3/2 max-pool), blocks, global pool, 1x1-conv logits.

    Args:
      num_classes: 0/None returns the pooled features ``[N, 2048, 1, 1]`` (or the block4 map without global_pool).
      is_training: batch-norm mode; None follows the model's train()/eval().
      output_stride: 8, 16, ... for atrous features (must be a multiple of 4 with the root block).
    """
    with slim.variable_scope(scope, "resnet_v1", [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, bottleneck, resnet_utils.stack_blocks_dense], outputs_collections=end_points_collection
        ):
            bn_scope = (
                slim.arg_scope([slim.batch_norm], is_training=is_training)
                if is_training is not None
                else contextlib.nullcontext()
            )
            with bn_scope:
                net = inputs
                if include_root_block:
                    if output_stride is not None:
                        if output_stride % 4 != 0:
                            raise ValueError("The output_stride needs to be a multiple of 4.")
                        output_stride //= 4
                    net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope="conv1")
                    net = slim.max_pool2d(net, [3, 3], stride=2, scope="pool1")
                net = resnet_utils.stack_blocks_dense(net, blocks, output_stride, store_non_strided_activations)
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


resnet_v1.default_image_size = 224


def resnet_v1_block(scope: str, base_depth: int, num_units: int, stride: int) -> resnet_utils.Block:
    """A v1 block: ``num_units`` bottlenecks, the last one strided."""
    unit = {"depth": base_depth * 4, "depth_bottleneck": base_depth, "stride": 1}
    return resnet_utils.Block(scope, bottleneck, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def _resnet_v1_depth(depth: int):
    def network(
        inputs: torch.Tensor,
        num_classes: int | None = None,
        is_training: bool | None = None,
        global_pool: bool = True,
        output_stride: int | None = None,
        spatial_squeeze: bool = True,
        store_non_strided_activations: bool = False,
        min_base_depth: int = 8,
        depth_multiplier: float = 1,
        reuse: Any = None,
        scope: str = f"resnet_v1_{depth}",
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        def depth_func(d: int) -> int:
            return max(int(d * depth_multiplier), min_base_depth)

        blocks = [
            resnet_v1_block(f"block{i + 1}", base_depth=depth_func(base), num_units=units, stride=stride)
            for i, (base, units, stride) in enumerate(zip(BASE_DEPTHS, BLOCK_UNITS[depth], BLOCK_STRIDES))
        ]
        return resnet_v1(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool=global_pool,
            output_stride=output_stride,
            include_root_block=True,
            spatial_squeeze=spatial_squeeze,
            store_non_strided_activations=store_non_strided_activations,
            reuse=reuse,
            scope=scope,
        )

    network.__name__ = network.__qualname__ = f"resnet_v1_{depth}"
    network.__doc__ = f"ResNet-{depth} v1 (blocks of {BLOCK_UNITS[depth]} bottleneck units)."
    network.default_image_size = resnet_v1.default_image_size
    return network


resnet_v1_50 = _resnet_v1_depth(50)
resnet_v1_101 = _resnet_v1_depth(101)
resnet_v1_152 = _resnet_v1_depth(152)
resnet_v1_200 = _resnet_v1_depth(200)

for _depth, _fn in ((50, resnet_v1_50), (101, resnet_v1_101), (152, resnet_v1_152), (200, resnet_v1_200)):
    register_network(
        f"resnet_v1_{_depth}", _fn, arg_scope_fn=resnet_arg_scope, default_image_size=224, preprocessing="vgg"
    )
