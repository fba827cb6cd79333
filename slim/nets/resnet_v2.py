"""ResNet v2 (He et al., 2016, "Identity Mappings in Deep Residual Networks", pre-activation units) with TF-Slim's
names and end points: ``resnet_v2_50``, ``resnet_v2_101``, ``resnet_v2_152``, ``resnet_v2_200``.

Each unit starts with batch norm + ReLU (``preact``); the root conv has neither, and a batch norm + ReLU
(``postnorm``) follows the last block. As in TF-Slim, the stride-2 unit is the LAST unit of blocks 1-3. TF-Slim's
published v2 checkpoints were trained with Inception preprocessing at 299 x 299 and 1001 classes, although the
factory lists them with VGG preprocessing at 224.

    model = slim.nets.get_network_fn('resnet_v2_50', num_classes=1001)
    logits, end_points = model(images)  # images [N, 3, 224, 224]; end_points['resnet_v2_50/block4']: [N, 2048, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets import resnet_utils
from slim.nets.nets_factory import register_network

__all__ = [
    "bottleneck",
    "resnet_v2",
    "resnet_v2_block",
    "resnet_v2_50",
    "resnet_v2_101",
    "resnet_v2_152",
    "resnet_v2_200",
    "resnet_arg_scope",
]

resnet_arg_scope = resnet_utils.resnet_arg_scope

# Bottleneck units in blocks 1-4 for each depth. The blocks' base depths are 64/128/256/512 (output depth 4x) and
# their strides 2/2/2/1, the stride sitting in the block's last unit.
RESNET_V2_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}
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
) -> torch.Tensor:
    """The v2 (pre-activation) bottleneck: BN + ReLU, then 1x1 -> 3x3 (strided) -> 1x1 convs, plus a shortcut.

    The first two convs are followed by the arg scope's normalizer; the last one has neither normalizer nor
    activation, and the sum is returned as is (the next unit's ``preact`` normalises it). The shortcut is the input
    subsampled by ``stride`` when the depth is unchanged, otherwise a strided 1x1 conv of the pre-activation.

    Args:
      inputs: ``[N, C, H, W]``.
      depth: the unit's output depth.
      depth_bottleneck: the depth of the two inner convs.
      stride: the unit's stride (taken by the 3x3 conv and the shortcut).
      rate: the dilation rate of the 3x3 conv.
      outputs_collections: collection(s) the unit's output is added to.
      scope: the unit's scope (default ``bottleneck_v2``).

    Returns:
      ``[N, depth, ceil(H / stride), ceil(W / stride)]``.
    """
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
    """A ResNet v2 from its blocks: root block, ``stack_blocks_dense``, ``postnorm``, global pool, 1x1-conv logits.

    Args:
      inputs: ``[N, 3, H, W]`` images.
      blocks: the :class:`~slim.nets.resnet_utils.Block` s (see :func:`resnet_v2_block`).
      num_classes: the number of classes; 0 or None omits the logits and returns the features (pooled
        ``[N, C, 1, 1]`` with ``global_pool``, else the normalised last block's map).
      is_training: batch norm's mode; None follows the model's ``train()``/``eval()``.
      global_pool: average over space before the logits (end point ``global_pool``).
      output_stride: the input-to-feature resolution ratio (a multiple of 4 with the root block); None for the
        nominal 32. Smaller values make the later blocks atrous.
      include_root_block: start with the 7x7/2 conv ``conv1`` (no batch norm or activation) and 3x3/2 max-pool
        ``pool1``; False for inputs that are already feature maps.
      spatial_squeeze: squeeze the logits to ``[N, num_classes]``.
      reuse: reuse the variables of an earlier call with the same scope.
      scope: the network's variable scope (default ``resnet_v2``).

    Returns:
      ``(net, end_points)``: the logits (or features) and a dict of the full-scope-named unit, conv and block
      outputs plus ``global_pool``, ``<scope>/logits``, ``<scope>/spatial_squeeze`` and ``predictions``.

    Raises:
      ValueError: ``output_stride`` is not a multiple of 4 with the root block, or cannot be reached.

    Example:
      ``blocks = [resnet_v2_block('block1', base_depth=64, num_units=3, stride=2), ...]``
      ``net, end_points = resnet_v2(images, blocks, num_classes=10, scope='my_resnet')``
    """
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
                            raise ValueError(
                                f"resnet_v2 ({sc.name}): the output_stride needs to be a multiple of 4 (the root "
                                f"block, conv1 and pool1, already strides by 4); got output_stride={output_stride}."
                            )
                        output_stride //= 4
                    # No batch norm or activation in conv1: the first unit's preact applies them.
                    with slim.arg_scope([slim.conv2d], activation_fn=None, normalizer_fn=None):
                        net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope="conv1")  # [N, 64, 112, 112] at 224
                    net = slim.max_pool2d(net, [3, 3], stride=2, scope="pool1")  # [N, 64, 56, 56]
                net = resnet_utils.stack_blocks_dense(net, blocks, output_stride)
                # The pre-activation units leave their sum un-normalised: normalise the last one here.
                net = slim.batch_norm(net, activation_fn=torch.relu, scope="postnorm")  # [N, 2048, 7, 7] at 224
                end_points = slim.utils.convert_collection_to_dict(end_points_collection)
                return resnet_utils.resnet_head(net, end_points, sc.name, num_classes, global_pool, spatial_squeeze)


resnet_v2.default_image_size = 224


def resnet_v2_block(scope: str, base_depth: int, num_units: int, stride: int) -> resnet_utils.Block:
    """A v2 block of ``num_units`` pre-activation bottlenecks of depth ``4 * base_depth``; the LAST has ``stride``.

    Example:
      ``resnet_v2_block('block1', base_depth=64, num_units=3, stride=2)``: units 1-2 stride 1, unit 3 stride 2.
    """
    unit = {"depth": base_depth * 4, "depth_bottleneck": base_depth, "stride": 1}
    return resnet_utils.Block(scope, bottleneck, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def _resnet_v2_of_depth(num_layers: int) -> Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """The factory function ``resnet_v2_<num_layers>``, built from ``RESNET_V2_UNITS``."""
    units_per_block = RESNET_V2_UNITS[num_layers]
    name = f"resnet_v2_{num_layers}"

    def network(
        inputs: torch.Tensor,
        num_classes: int | None = None,
        is_training: bool | None = None,
        global_pool: bool = True,
        output_stride: int | None = None,
        spatial_squeeze: bool = True,
        reuse: Any = None,
        scope: str = name,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        blocks = [
            resnet_v2_block(f"block{i}", base_depth=base_depth, num_units=num_units, stride=stride)
            for i, (base_depth, num_units, stride) in enumerate(
                zip(BLOCK_BASE_DEPTHS, units_per_block, BLOCK_STRIDES), start=1
            )
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

    network.__name__ = network.__qualname__ = name
    network.__doc__ = f"""ResNet-{num_layers} v2: blocks of {units_per_block} pre-activation bottleneck units.

    Base depths 64/128/256/512 (output depth 4x); see :func:`resnet_v2` for the arguments.

    Example:
      ``model = slim.Model({name}, arg_scope=resnet_arg_scope(), num_classes=1001)``
      ``logits, end_points = model(images)  # logits [N, 1001]; end_points['{name}/block4'] [N, 2048, 7, 7]``
    """
    network.default_image_size = resnet_v2.default_image_size
    return network


resnet_v2_50 = _resnet_v2_of_depth(50)
resnet_v2_101 = _resnet_v2_of_depth(101)
resnet_v2_152 = _resnet_v2_of_depth(152)
resnet_v2_200 = _resnet_v2_of_depth(200)

for _fn in (resnet_v2_50, resnet_v2_101, resnet_v2_152, resnet_v2_200):
    register_network(_fn.__name__, _fn, arg_scope_fn=resnet_arg_scope, default_image_size=224, preprocessing="vgg")
