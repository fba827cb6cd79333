"""PNASNet-5 (Liu et al., 2017) with TF-Slim's names: pnasnet_large, pnasnet_mobile.

One cell type everywhere (reduction cells are the same cell with stride 2), stacked by the NASNet machinery.
"""

from __future__ import annotations

from typing import Any

import torch

import slim
from slim.layers.utils import model_is_training
from slim.nets.nasnet import nasnet, nasnet_utils
from slim.nets.nasnet.nasnet import NasnetConfig
from slim.nets.nets_factory import register_network


def large_imagenet_config() -> NasnetConfig:
    return NasnetConfig(
        stem_multiplier=3.0,
        dense_dropout_keep_prob=0.5,
        num_cells=12,
        filter_scaling_rate=2.0,
        num_conv_filters=216,
        drop_path_keep_prob=0.6,
        use_aux_head=1,
        num_reduction_layers=2,
        skip_reduction_layer_input=1,
        total_training_steps=250000,
    )


def mobile_imagenet_config() -> NasnetConfig:
    return NasnetConfig(
        stem_multiplier=1.0,
        dense_dropout_keep_prob=0.5,
        num_cells=9,
        filter_scaling_rate=2.0,
        num_conv_filters=54,
        drop_path_keep_prob=1.0,
        use_aux_head=1,
        num_reduction_layers=2,
        skip_reduction_layer_input=1,
        total_training_steps=250000,
    )


def pnasnet_large_arg_scope(
    weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997, batch_norm_epsilon: float = 0.001
) -> dict:
    """Same as NASNet-A Large's arg scope (other default weight decay)."""
    return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def pnasnet_mobile_arg_scope(
    weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997, batch_norm_epsilon: float = 0.001
) -> dict:
    """Same as NASNet-A Mobile's arg scope."""
    return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.NasNetABaseCell):
    """The PNASNet-5 cell."""

    def __init__(
        self,
        num_conv_filters: int,
        drop_path_keep_prob: float,
        total_num_cells: int,
        total_training_steps: int,
        use_bounded_activation: bool = False,
    ) -> None:
        operations = [
            "separable_5x5_2",
            "max_pool_3x3",
            "separable_7x7_2",
            "max_pool_3x3",
            "separable_5x5_2",
            "separable_3x3_2",
            "separable_3x3_2",
            "max_pool_3x3",
            "separable_3x3_2",
            "none",
        ]
        super().__init__(
            num_conv_filters,
            operations,
            [1, 1, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 4, 0, 1, 0],
            drop_path_keep_prob,
            total_num_cells,
            total_training_steps,
            use_bounded_activation,
        )


def _build_pnasnet_base(
    images: torch.Tensor,
    normal_cell: PNasNetNormalCell,
    num_classes: int | None,
    hparams: NasnetConfig,
    is_training: bool,
    final_endpoint: str | None = None,
):
    end_points: dict[str, torch.Tensor] = {}

    def add(name: str, net: torch.Tensor) -> bool:
        end_points[name] = net
        return bool(final_endpoint) and name == final_endpoint

    reduction_indices = nasnet_utils.calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    net, cell_outputs = nasnet._imagenet_stem(images, hparams, normal_cell)
    if add("Stem", net):
        return net, end_points
    aux_head_cell_idxes = [reduction_indices[1] - 1] if len(reduction_indices) >= 2 else []
    filter_scaling = 1.0
    true_cell_num = 2
    prev_layer = None
    for cell_num in range(hparams.num_cells):
        is_reduction = cell_num in reduction_indices
        stride = 2 if is_reduction else 1
        if is_reduction:
            filter_scaling *= hparams.filter_scaling_rate
        if hparams.skip_reduction_layer_input or not is_reduction:
            prev_layer = cell_outputs[-2]
        net = normal_cell(
            net,
            scope=f"cell_{cell_num}",
            filter_scaling=filter_scaling,
            stride=stride,
            prev_layer=prev_layer,
            cell_num=true_cell_num,
        )
        if add(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        cell_outputs.append(net)
        if hparams.use_aux_head and cell_num in aux_head_cell_idxes and num_classes and is_training:
            nasnet._build_aux_head(
                nasnet._activation(hparams)(net), end_points, num_classes, hparams, scope=f"aux_{cell_num}"
            )
    return nasnet._final_layer(net, end_points, add, num_classes, hparams)


def _build(
    images: torch.Tensor, num_classes: int | None, is_training: Any, config: NasnetConfig, final_endpoint: str | None
):
    training = model_is_training(is_training)
    hparams = nasnet._update_hparams(config, training)
    total_num_cells = hparams.num_cells + 2
    normal_cell = PNasNetNormalCell(
        hparams.num_conv_filters,
        hparams.drop_path_keep_prob,
        total_num_cells,
        hparams.total_training_steps,
        hparams.use_bounded_activation,
    )
    with slim.arg_scope([slim.dropout, nasnet_utils.drop_path, slim.batch_norm], is_training=is_training):
        return _build_pnasnet_base(images, normal_cell, num_classes, hparams, training, final_endpoint)


def build_pnasnet_large(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any = None,
    final_endpoint: str | None = None,
    config: NasnetConfig | None = None,
):
    """PNASNet-5 Large (331 x 331 inputs)."""
    return _build(images, num_classes, is_training, config or large_imagenet_config(), final_endpoint)


build_pnasnet_large.default_image_size = 331


def build_pnasnet_mobile(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any = None,
    final_endpoint: str | None = None,
    config: NasnetConfig | None = None,
):
    """PNASNet-5 Mobile (224 x 224 inputs)."""
    return _build(images, num_classes, is_training, config or mobile_imagenet_config(), final_endpoint)


build_pnasnet_mobile.default_image_size = 224

register_network(
    "pnasnet_large",
    build_pnasnet_large,
    arg_scope_fn=pnasnet_large_arg_scope,
    default_image_size=331,
    preprocessing="inception",
)
register_network(
    "pnasnet_mobile",
    build_pnasnet_mobile,
    arg_scope_fn=pnasnet_mobile_arg_scope,
    default_image_size=224,
    preprocessing="inception",
)
