"""The nets factory: a registry filled where each network is defined, and `get_network_fn`.

Each network module registers its public names with :func:`register_network` (one call per factory name, variants
included), so there are no hand-kept parallel dicts of functions, arg scopes and sizes:

    register_network('vgg_16', vgg_16, arg_scope_fn=vgg_arg_scope, default_image_size=224, preprocessing='vgg')

``get_network_fn(name, num_classes, weight_decay=0.0, is_training=False)`` returns a :class:`slim.Model` that calls
the network under its arg scope (built with ``weight_decay``); ``logits, end_points = network_fn(images)`` on NCHW
images (NCDHW clips for the video nets). The model starts in training mode if ``is_training`` else in eval mode, and
follows ``train()``/``eval()`` afterwards.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slim.framework.module import Model

__all__ = ["NetworkSpec", "register_network", "get_network_fn", "get_network_spec", "list_networks"]

# Modules whose import registers networks; imported on first use of the factory.
_NETWORK_MODULES = (
    "slim.nets.alexnet",
    "slim.nets.cifarnet",
    "slim.nets.overfeat",
    "slim.nets.vgg",
    "slim.nets.lenet",
    "slim.nets.inception_v1",
    "slim.nets.inception_v2",
    "slim.nets.inception_v3",
    "slim.nets.inception_v4",
    "slim.nets.inception_resnet_v2",
    "slim.nets.resnet_v1",
    "slim.nets.resnet_v2",
    "slim.nets.mobilenet_v1",
    "slim.nets.mobilenet.mobilenet_v2",
    "slim.nets.mobilenet.mobilenet_v3",
    "slim.nets.nasnet.nasnet",
    "slim.nets.nasnet.pnasnet",
    "slim.nets.i3d",
    "slim.nets.s3dg",
)


@dataclass(frozen=True)
class NetworkSpec:
    """Everything the factory knows about one registered name.

    Attributes:
      name: the factory name (``'mobilenet_v1_025'``).
      fn: the network function ``fn(images, num_classes=..., is_training=..., **kwargs) -> (logits, end_points)``.
      arg_scope_fn: ``arg_scope_fn(weight_decay=...) -> scope dict``.
      default_image_size: the input height/width the network was designed for.
      preprocessing: the preprocessing name for this network (see slim.preprocessing).
      kwargs: fixed keyword arguments of this variant (e.g. ``depth_multiplier=0.25``).
      is_video: whether the input is a 5-D clip ``[N, C, T, H, W]``.
    """

    name: str
    fn: Callable[..., Any]
    arg_scope_fn: Callable[..., dict]
    default_image_size: int
    preprocessing: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    is_video: bool = False


_REGISTRY: dict[str, NetworkSpec] = {}
_loaded = False


def register_network(
    name: str,
    fn: Callable[..., Any],
    *,
    arg_scope_fn: Callable[..., dict],
    default_image_size: int,
    preprocessing: str | None = None,
    is_video: bool = False,
    **kwargs: Any,
) -> NetworkSpec:
    """Registers ``fn`` under the factory name ``name`` (extra keyword arguments become fixed variant arguments)."""
    if name in _REGISTRY and _REGISTRY[name].fn is not fn:
        raise ValueError(f"A network named {name!r} is already registered (by {_REGISTRY[name].fn.__module__}).")
    spec = NetworkSpec(name, fn, arg_scope_fn, default_image_size, preprocessing, dict(kwargs), is_video)
    _REGISTRY[name] = spec
    return spec


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in _NETWORK_MODULES:
        importlib.import_module(module)
    _loaded = True


def list_networks() -> list[str]:
    """The registered factory names, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def get_network_spec(name: str) -> NetworkSpec:
    """The :class:`NetworkSpec` of ``name``; ValueError listing the known names otherwise."""
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"Name of network unknown {name}. Known networks: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def get_network_fn(name: str, num_classes: int | None, weight_decay: float = 0.0, is_training: bool = False) -> Model:
    """A :class:`slim.Model` for network ``name`` with ``num_classes`` outputs (0/None: pre-logits features).

    Args:
      name: a factory name (see :func:`list_networks`).
      num_classes: the number of classes; 0 or None returns the pre-logits features.
      weight_decay: the L2 weight decay of the network's arg scope (0.0 adds no regularization losses).
      is_training: the model's initial mode (batch norm and dropout); ``train()``/``eval()`` switch it later.

    Returns:
      The (unbuilt) model; ``network_fn.default_image_size`` is the network's default input size.
    """
    spec = get_network_spec(name)
    scope = spec.arg_scope_fn(weight_decay=weight_decay)
    model = Model(spec.fn, arg_scope=scope, num_classes=num_classes, is_training=None, **spec.kwargs)
    model.train(bool(is_training))
    model.default_image_size = spec.default_image_size
    model.network_name = name
    return model
