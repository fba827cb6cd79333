"""ResNet v1 (He et al., 2015, "Deep Residual Learning for Image Recognition") with TF-Slim's names and end points:
``resnet_v1_50``, ``resnet_v1_101``, ``resnet_v1_152``, ``resnet_v1_200``.

As in TF-Slim, the stride-2 unit is the LAST unit of blocks 1-3 (torchvision strides the first), so TF-Slim's
published checkpoints give the same features. With ``num_classes`` None (the default) the networks return the pooled
``[N, 2048, 1, 1]`` features; with classes, 1x1-conv logits squeezed to ``[N, num_classes]``.

    model = slim.nets.get_network_fn('resnet_v1_50', num_classes=1000)
    logits, end_points = model(images)  # images [N, 3, 224, 224]; end_points['resnet_v1_50/block4']: [N, 2048, 7, 7]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets import resnet_utils
from slim.nets.nets_factory import register_network

__all__ = [
    "bottleneck",
    "resnet_v1",
    "resnet_v1_block",
    "resnet_v1_50",
    "resnet_v1_101",
    "resnet_v1_152",
    "resnet_v1_200",
    "resnet_arg_scope",
]

resnet_arg_scope = resnet_utils.resnet_arg_scope

# Bottleneck units in blocks 1-4 for each depth. The blocks' base depths are 64/128/256/512 (output depth 4x) and
# their strides 2/2/2/1, the stride sitting in the block's last unit.
RESNET_V1_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}
BLOCK_BASE_DEPTHS = (64, 128, 256, 512)
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
    """The v1 bottleneck unit: 1x1 -> 3x3 (strided, atrous at ``rate``) -> 1x1 convs and a shortcut, ReLU after the sum.

    Each conv gets the arg scope's normalizer (batch norm after the conv); the last one has no activation. The
    shortcut is the input subsampled by ``stride`` when the depth is unchanged, otherwise a strided 1x1 conv.

    Args:
      inputs: ``[N, C, H, W]``.
      depth: the unit's output depth.
      depth_bottleneck: the depth of the two inner convs.
      stride: the unit's stride (taken by the 3x3 conv and the shortcut).
      rate: the dilation rate of the 3x3 conv.
      outputs_collections: collection(s) the unit's output is added to.
      scope: the unit's scope (default ``bottleneck_v1``).
      use_bounded_activations: clip the residual to [-6, 6] and use ReLU6 (for quantized inference).

    Returns:
      ``[N, depth, ceil(H / stride), ceil(W / stride)]``.
    """
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
    """A ResNet v1 from its blocks: root block, ``stack_blocks_dense``, global pool, 1x1-conv logits.

    Args:
      inputs: ``[N, 3, H, W]`` images.
      blocks: the :class:`~slim.nets.resnet_utils.Block` s (see :func:`resnet_v1_block`).
      num_classes: the number of classes; 0 or None omits the logits and returns the features (pooled
        ``[N, C, 1, 1]`` with ``global_pool``, else the last block's map).
      is_training: batch norm's mode; None leaves it to an enclosing arg scope, else to the model's
        ``train()``/``eval()``.
      global_pool: average the last block's output over space (end point ``global_pool``).
      output_stride: the input-to-feature resolution ratio (a multiple of 4 with the root block); None for the
        nominal 32. Smaller values make the later blocks atrous.
      include_root_block: start with the 7x7/2 conv ``conv1`` and 3x3/2 max-pool ``pool1``; False for inputs that
        are already feature maps.
      spatial_squeeze: squeeze the logits to ``[N, num_classes]``.
      store_non_strided_activations: keep the blocks' end points at full resolution (see
        :func:`~slim.nets.resnet_utils.stack_blocks_dense`).
      reuse: reuse the variables of an earlier call with the same scope.
      scope: the network's variable scope (default ``resnet_v1``).

    Returns:
      ``(net, end_points)``: the logits (or features) and a dict of the full-scope-named unit, conv and block
      outputs plus ``global_pool``, ``<scope>/logits``, ``<scope>/spatial_squeeze`` and ``predictions``.

    Raises:
      ValueError: ``output_stride`` is not a multiple of 4 with the root block, or cannot be reached.

    Example:
      ``blocks = [resnet_v1_block('block1', base_depth=64, num_units=3, stride=2), ...]``
      ``net, end_points = resnet_v1(images, blocks, num_classes=10, scope='my_resnet')``
    """
    with slim.variable_scope(scope, "resnet_v1", [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, bottleneck, resnet_utils.stack_blocks_dense], outputs_collections=end_points_collection
        ):
            # TF-Slim leaves batch norm's mode alone when is_training is None.
            mode = (
                slim.arg_scope([slim.batch_norm], is_training=is_training)
                if is_training is not None
                else contextlib.nullcontext()
            )
            with mode:
                net = inputs
                if include_root_block:
                    if output_stride is not None:
                        if output_stride % 4 != 0:
                            raise ValueError(
                                f"resnet_v1 ({sc.name}): the output_stride needs to be a multiple of 4 (the root "
                                f"block, conv1 and pool1, already strides by 4); got output_stride={output_stride}."
                            )
                        output_stride //= 4
                    net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope="conv1")  # [N, 64, 112, 112] at 224
                    net = slim.max_pool2d(net, [3, 3], stride=2, scope="pool1")  # [N, 64, 56, 56]
                net = resnet_utils.stack_blocks_dense(net, blocks, output_stride, store_non_strided_activations)
                # [N, 2048, 7, 7] at 224 for the factory networks
                end_points = slim.utils.convert_collection_to_dict(end_points_collection)
                return resnet_utils.resnet_head(net, end_points, sc.name, num_classes, global_pool, spatial_squeeze)


resnet_v1.default_image_size = 224


def resnet_v1_block(scope: str, base_depth: int, num_units: int, stride: int) -> resnet_utils.Block:
    """A v1 block of ``num_units`` bottlenecks of depth ``4 * base_depth``; the LAST unit has ``stride``.

    Example:
      ``resnet_v1_block('block1', base_depth=64, num_units=3, stride=2)``: units 1-2 stride 1, unit 3 stride 2.
    """
    unit = {"depth": base_depth * 4, "depth_bottleneck": base_depth, "stride": 1}
    return resnet_utils.Block(scope, bottleneck, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def _resnet_v1_of_depth(num_layers: int) -> Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """The factory function ``resnet_v1_<num_layers>``, built from ``RESNET_V1_UNITS``."""
    units_per_block = RESNET_V1_UNITS[num_layers]
    name = f"resnet_v1_{num_layers}"

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
        scope: str = name,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        def depth_func(depth: int) -> int:
            return max(int(depth * depth_multiplier), min_base_depth)

        blocks = [
            resnet_v1_block(f"block{i}", base_depth=depth_func(base_depth), num_units=num_units, stride=stride)
            for i, (base_depth, num_units, stride) in enumerate(
                zip(BLOCK_BASE_DEPTHS, units_per_block, BLOCK_STRIDES), start=1
            )
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

    network.__name__ = network.__qualname__ = name
    network.__doc__ = f"""ResNet-{num_layers} v1: blocks of {units_per_block} bottleneck units.

    Block ``i`` has base depth ``max(int(d * depth_multiplier), min_base_depth)`` for d in 64/128/256/512 (output
    depth 4x); see :func:`resnet_v1` for the other arguments.

    Example:
      ``model = slim.Model({name}, arg_scope=resnet_arg_scope(), num_classes=1000)``
      ``logits, end_points = model(images)  # logits [N, 1000]; end_points['{name}/block4'] [N, 2048, 7, 7]``
    """
    network.default_image_size = resnet_v1.default_image_size
    return network


resnet_v1_50 = _resnet_v1_of_depth(50)
resnet_v1_101 = _resnet_v1_of_depth(101)
resnet_v1_152 = _resnet_v1_of_depth(152)
resnet_v1_200 = _resnet_v1_of_depth(200)

for _fn in (resnet_v1_50, resnet_v1_101, resnet_v1_152, resnet_v1_200):
    register_network(_fn.__name__, _fn, arg_scope_fn=resnet_arg_scope, default_image_size=224, preprocessing="vgg")
