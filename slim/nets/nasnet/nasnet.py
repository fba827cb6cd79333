"""NASNet-A (Zoph et al., 2017) with TF-Slim's names: nasnet_cifar, nasnet_mobile, nasnet_large.

The networks have no top-level scope (variables ``conv0``, ``cell_stem_0``, ``cell_<i>``, ``reduction_cell_<i>``,
``aux_<i>/aux_logits``, ``final_layer/FC``). The auxiliary head exists when the model is trained. Tensors are NCHW
whatever the config's ``data_format`` says (kept for TF-Slim compatibility).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.layers.utils import model_is_training
from slim.nets.nasnet import nasnet_utils
from slim.nets.nets_factory import register_network


@dataclasses.dataclass
class NasnetConfig:
    """TF-Slim's NASNet hyper-parameters (an ``HParams`` there)."""

    stem_multiplier: float
    drop_path_keep_prob: float
    num_cells: int
    use_aux_head: int
    num_conv_filters: int
    dense_dropout_keep_prob: float
    filter_scaling_rate: float
    num_reduction_layers: int
    skip_reduction_layer_input: int
    total_training_steps: int
    data_format: str = "NCHW"
    use_bounded_activation: bool = False

    def set_hparam(self, name: str, value: Any) -> None:
        setattr(self, name, value)


def cifar_config() -> NasnetConfig:
    return NasnetConfig(
        stem_multiplier=3.0,
        drop_path_keep_prob=0.6,
        num_cells=18,
        use_aux_head=1,
        num_conv_filters=32,
        dense_dropout_keep_prob=1.0,
        filter_scaling_rate=2.0,
        num_reduction_layers=2,
        skip_reduction_layer_input=0,
        total_training_steps=937500,
    )


def large_imagenet_config() -> NasnetConfig:
    return NasnetConfig(
        stem_multiplier=3.0,
        dense_dropout_keep_prob=0.5,
        num_cells=18,
        filter_scaling_rate=2.0,
        num_conv_filters=168,
        drop_path_keep_prob=0.7,
        use_aux_head=1,
        num_reduction_layers=2,
        skip_reduction_layer_input=1,
        total_training_steps=250000,
    )


def mobile_imagenet_config() -> NasnetConfig:
    return NasnetConfig(
        stem_multiplier=1.0,
        dense_dropout_keep_prob=0.5,
        num_cells=12,
        filter_scaling_rate=2.0,
        drop_path_keep_prob=1.0,
        num_conv_filters=44,
        use_aux_head=1,
        num_reduction_layers=2,
        skip_reduction_layer_input=0,
        total_training_steps=250000,
    )


def _update_hparams(hparams: NasnetConfig, is_training: bool) -> NasnetConfig:
    hparams = dataclasses.replace(hparams)
    if hparams.data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format must be NHWC or NCHW, got {hparams.data_format!r}.")
    if not is_training:
        hparams.drop_path_keep_prob = 1.0
    return hparams


def _nasnet_arg_scope(weight_decay: float, batch_norm_decay: float, batch_norm_epsilon: float) -> dict:
    batch_norm_params = {"decay": batch_norm_decay, "epsilon": batch_norm_epsilon, "scale": True, "fused": True}
    with slim.arg_scope(
        [slim.fully_connected, slim.conv2d, slim.separable_conv2d],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.variance_scaling_initializer(mode="FAN_OUT"),
    ):
        with slim.arg_scope([slim.fully_connected], activation_fn=None, scope="FC"):
            with slim.arg_scope([slim.conv2d, slim.separable_conv2d], activation_fn=None, biases_initializer=None):
                with slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
                    return sc


def nasnet_cifar_arg_scope(
    weight_decay: float = 5e-4, batch_norm_decay: float = 0.9, batch_norm_epsilon: float = 1e-5
) -> dict:
    """Arg scope of NASNet on CIFAR: FAN_OUT init, L2 decay, no conv biases, batch norm (decay 0.9, eps 1e-5)."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(
    weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997, batch_norm_epsilon: float = 1e-3
) -> dict:
    """Arg scope of NASNet-A Mobile."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(
    weight_decay: float = 5e-5, batch_norm_decay: float = 0.9997, batch_norm_epsilon: float = 1e-3
) -> dict:
    """Arg scope of NASNet-A Large."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def _activation(hparams: NasnetConfig) -> Callable:
    return F.relu6 if hparams.use_bounded_activation else torch.relu


def _build_aux_head(net: torch.Tensor, end_points: dict, num_classes: int, hparams: NasnetConfig, scope: str) -> None:
    activation_fn = _activation(hparams)
    with slim.variable_scope(scope):
        with slim.variable_scope("aux_logits"):
            aux_logits = slim.avg_pool2d(net, [5, 5], stride=3, padding="VALID")
            aux_logits = slim.conv2d(aux_logits, 128, [1, 1], scope="proj")
            aux_logits = activation_fn(slim.batch_norm(aux_logits, scope="aux_bn0"))
            aux_logits = slim.conv2d(aux_logits, 768, list(aux_logits.shape[2:4]), padding="VALID")
            aux_logits = activation_fn(slim.batch_norm(aux_logits, scope="aux_bn1"))
            aux_logits = slim.flatten(aux_logits)
            end_points["AuxLogits"] = slim.fully_connected(aux_logits, num_classes)


def _imagenet_stem(
    inputs: torch.Tensor, hparams: NasnetConfig, stem_cell: Callable, current_step: Any = None
) -> tuple[torch.Tensor, list]:
    num_stem_cells = 2
    num_stem_filters = int(32 * hparams.stem_multiplier)
    net = slim.conv2d(inputs, num_stem_filters, [3, 3], stride=2, scope="conv0", padding="VALID")
    net = slim.batch_norm(net, scope="conv0_bn")
    cell_outputs = [None, net]
    filter_scaling = 1.0 / (hparams.filter_scaling_rate**num_stem_cells)
    for cell_num in range(num_stem_cells):
        net = stem_cell(
            net,
            scope=f"cell_stem_{cell_num}",
            filter_scaling=filter_scaling,
            stride=2,
            prev_layer=cell_outputs[-2],
            cell_num=cell_num,
            current_step=current_step,
        )
        cell_outputs.append(net)
        filter_scaling *= hparams.filter_scaling_rate
    return net, cell_outputs


def _cifar_stem(inputs: torch.Tensor, hparams: NasnetConfig) -> tuple[torch.Tensor, list]:
    num_stem_filters = int(hparams.num_conv_filters * hparams.stem_multiplier)
    net = slim.conv2d(inputs, num_stem_filters, 3, scope="l1_stem_3x3")
    net = slim.batch_norm(net, scope="l1_stem_bn")
    return net, [None, net]


def _final_layer(
    net: torch.Tensor, end_points: dict, add: Callable, num_classes: int | None, hparams: NasnetConfig
) -> tuple[torch.Tensor, dict]:
    with slim.variable_scope("final_layer"):
        net = nasnet_utils.global_avg_pool(_activation(hparams)(net))
        if add("global_pool", net) or not num_classes:
            return net, end_points
        net = slim.dropout(net, hparams.dense_dropout_keep_prob, scope="dropout")
        logits = slim.fully_connected(net, num_classes)
        if add("Logits", logits):
            return net, end_points
        if add("Predictions", torch.softmax(logits, dim=-1)):
            return net, end_points
    return logits, end_points


def _build_nasnet_base(
    images: torch.Tensor,
    normal_cell: Callable,
    reduction_cell: Callable,
    num_classes: int | None,
    hparams: NasnetConfig,
    is_training: bool,
    stem_type: str,
    final_endpoint: str | None = None,
    current_step: Any = None,
) -> tuple[torch.Tensor, dict]:
    end_points: dict[str, torch.Tensor] = {}

    def add(name: str, net: torch.Tensor) -> bool:
        end_points[name] = net
        return bool(final_endpoint) and name == final_endpoint

    reduction_indices = nasnet_utils.calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    if stem_type == "imagenet":
        net, cell_outputs = _imagenet_stem(images, hparams, reduction_cell, current_step)
    elif stem_type == "cifar":
        net, cell_outputs = _cifar_stem(images, hparams)
    else:
        raise ValueError(f"Unknown stem_type: {stem_type}")
    if add("Stem", net):
        return net, end_points
    aux_head_cell_idxes = [reduction_indices[1] - 1] if len(reduction_indices) >= 2 else []
    filter_scaling = 1.0
    true_cell_num = 2 if stem_type == "imagenet" else 0
    prev_layer = None
    for cell_num in range(hparams.num_cells):
        if hparams.skip_reduction_layer_input:
            prev_layer = cell_outputs[-2]
        if cell_num in reduction_indices:
            filter_scaling *= hparams.filter_scaling_rate
            index = reduction_indices.index(cell_num)
            net = reduction_cell(
                net,
                scope=f"reduction_cell_{index}",
                filter_scaling=filter_scaling,
                stride=2,
                prev_layer=cell_outputs[-2],
                cell_num=true_cell_num,
                current_step=current_step,
            )
            if add(f"Reduction_Cell_{index}", net):
                return net, end_points
            true_cell_num += 1
            cell_outputs.append(net)
        if not hparams.skip_reduction_layer_input:
            prev_layer = cell_outputs[-2]
        net = normal_cell(
            net,
            scope=f"cell_{cell_num}",
            filter_scaling=filter_scaling,
            stride=1,
            prev_layer=prev_layer,
            cell_num=true_cell_num,
            current_step=current_step,
        )
        if add(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        if hparams.use_aux_head and cell_num in aux_head_cell_idxes and num_classes and is_training:
            _build_aux_head(_activation(hparams)(net), end_points, num_classes, hparams, scope=f"aux_{cell_num}")
        cell_outputs.append(net)
    return _final_layer(net, end_points, add, num_classes, hparams)


def _build(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any,
    config: NasnetConfig,
    stem_type: str,
    extra_cells: int,
    final_endpoint: str | None,
    current_step: Any,
):
    training = model_is_training(is_training)
    hparams = _update_hparams(config, training)
    total_num_cells = hparams.num_cells + extra_cells
    normal_cell = nasnet_utils.NasNetANormalCell(
        hparams.num_conv_filters,
        hparams.drop_path_keep_prob,
        total_num_cells,
        hparams.total_training_steps,
        hparams.use_bounded_activation,
    )
    reduction_cell = nasnet_utils.NasNetAReductionCell(
        hparams.num_conv_filters,
        hparams.drop_path_keep_prob,
        total_num_cells,
        hparams.total_training_steps,
        hparams.use_bounded_activation,
    )
    with slim.arg_scope([slim.dropout, nasnet_utils.drop_path, slim.batch_norm], is_training=is_training):
        return _build_nasnet_base(
            images, normal_cell, reduction_cell, num_classes, hparams, training, stem_type, final_endpoint, current_step
        )


def build_nasnet_cifar(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any = None,
    config: NasnetConfig | None = None,
    current_step: Any = None,
):
    """NASNet-A for CIFAR-10 (32 x 32 inputs); 18 cells + 2 reduction cells."""
    return _build(images, num_classes, is_training, config or cifar_config(), "cifar", 2, None, current_step)


build_nasnet_cifar.default_image_size = 32


def build_nasnet_mobile(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any = None,
    final_endpoint: str | None = None,
    config: NasnetConfig | None = None,
    current_step: Any = None,
):
    """NASNet-A Mobile (224 x 224 inputs)."""
    return _build(
        images,
        num_classes,
        is_training,
        config or mobile_imagenet_config(),
        "imagenet",
        4,
        final_endpoint,
        current_step,
    )


build_nasnet_mobile.default_image_size = 224


def build_nasnet_large(
    images: torch.Tensor,
    num_classes: int | None,
    is_training: Any = None,
    final_endpoint: str | None = None,
    config: NasnetConfig | None = None,
    current_step: Any = None,
):
    """NASNet-A Large (331 x 331 inputs)."""
    return _build(
        images, num_classes, is_training, config or large_imagenet_config(), "imagenet", 4, final_endpoint, current_step
    )


build_nasnet_large.default_image_size = 331

# TF-Slim's preprocessing factory has no 'nasnet_cifar' entry; CIFAR preprocessing is the sensible choice.
register_network(
    "nasnet_cifar",
    build_nasnet_cifar,
    arg_scope_fn=nasnet_cifar_arg_scope,
    default_image_size=32,
    preprocessing="cifarnet",
)
register_network(
    "nasnet_mobile",
    build_nasnet_mobile,
    arg_scope_fn=nasnet_mobile_arg_scope,
    default_image_size=224,
    preprocessing="inception",
)
register_network(
    "nasnet_large",
    build_nasnet_large,
    arg_scope_fn=nasnet_large_arg_scope,
    default_image_size=331,
    preprocessing="inception",
)
