"""The preprocessing factory: ``get_preprocessing(name)`` picks the preprocessing that matches a network name.

``fn = get_preprocessing('inception_v3', is_training=True)`` returns ``fn(image, output_height, output_width,
**kwargs)``, which calls the module's ``preprocess_image`` with ``is_training`` and ``use_grayscale`` filled in and
passes ``**kwargs`` on (``generator=``, ``image_summary_fn=``, ``fast_mode=``, ``resize_side_min=``, ...). The
returned object is picklable, so it can be handed to ``torch.utils.data`` worker processes.

Every network name of the nets factory has an entry (plus TF-Slim's aliases ``inception`` and ``vgg``). TF-Slim's
factory lacked eight of them, so ``--model_name`` alone failed there; the entries chosen here are:

- ``alexnet_v2``, ``overfeat`` -> ``vgg`` (ImageNet nets trained with VGG-style mean subtraction);
- ``mobilenet_v1_075``, ``mobilenet_v1_050``, ``mobilenet_v1_025`` -> ``inception`` (as ``mobilenet_v1``, whose
  published checkpoints expect ``[-1, 1]`` inputs);
- ``i3d``, ``s3dg`` -> ``inception``, applied to one frame at a time. To give every frame of a clip the same random
  crop and flip, restore the generator's state before each frame (``generator.set_state(state)``);
- ``nasnet_cifar`` -> ``cifarnet`` (a CIFAR-10 network; 32x32 inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from slim.preprocessing import (
    cifarnet_preprocessing,
    inception_preprocessing,
    lenet_preprocessing,
    vgg_preprocessing,
)

__all__ = ["get_preprocessing", "list_preprocessing_names", "PreprocessingFn"]

_MODULES: dict[str, ModuleType] = {
    "cifarnet": cifarnet_preprocessing,
    "inception": inception_preprocessing,
    "lenet": lenet_preprocessing,
    "vgg": vgg_preprocessing,
}

_INCEPTION_NAMES = (
    "inception",
    "inception_v1",
    "inception_v2",
    "inception_v3",
    "inception_v4",
    "inception_resnet_v2",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v2_035",
    "mobilenet_v2_140",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "mobilenet_v3_small_minimalistic",
    "mobilenet_v3_large_minimalistic",
    "mobilenet_edgetpu",
    "mobilenet_edgetpu_075",
    "nasnet_mobile",
    "nasnet_large",
    "pnasnet_mobile",
    "pnasnet_large",
)
_VGG_NAMES = (
    "vgg",
    "vgg_a",
    "vgg_16",
    "vgg_19",
    "resnet_v1_50",
    "resnet_v1_101",
    "resnet_v1_152",
    "resnet_v1_200",
    "resnet_v2_50",
    "resnet_v2_101",
    "resnet_v2_152",
    "resnet_v2_200",
)
# Names TF-Slim's factory did not know (see the module docstring for the reasoning).
_ADDED = {
    "alexnet_v2": "vgg",
    "overfeat": "vgg",
    "mobilenet_v1_075": "inception",
    "mobilenet_v1_050": "inception",
    "mobilenet_v1_025": "inception",
    "i3d": "inception",
    "s3dg": "inception",
    "nasnet_cifar": "cifarnet",
}

PREPROCESSING_FOR_NAME: dict[str, str] = {
    "cifarnet": "cifarnet",
    "lenet": "lenet",
    **{name: "inception" for name in _INCEPTION_NAMES},
    **{name: "vgg" for name in _VGG_NAMES},
    **_ADDED,
}


def list_preprocessing_names() -> list[str]:
    """Every name :func:`get_preprocessing` accepts, sorted."""
    return sorted(PREPROCESSING_FOR_NAME)


@dataclass(frozen=True)
class PreprocessingFn:
    """``fn(image, output_height, output_width, **kwargs)`` for one preprocessing module (picklable).

    Attributes:
      name: the name it was looked up by (e.g. ``'inception_v3'``).
      preprocessing: the preprocessing it runs (``'inception'``, ``'vgg'``, ``'cifarnet'`` or ``'lenet'``).
      is_training: passed to ``preprocess_image``.
      use_grayscale: passed to ``preprocess_image``.
    """

    name: str
    preprocessing: str
    is_training: bool = False
    use_grayscale: bool = False

    def __call__(self, image: Any, output_height: int, output_width: int, **kwargs: Any) -> torch.Tensor:
        module = _MODULES[self.preprocessing]
        return module.preprocess_image(
            image,
            output_height,
            output_width,
            is_training=self.is_training,
            use_grayscale=self.use_grayscale,
            **kwargs,
        )


def get_preprocessing(name: str, is_training: bool = False, use_grayscale: bool = False) -> PreprocessingFn:
    """Returns the preprocessing function for a network (or preprocessing) name.

    Args:
      name: a nets-factory network name (``'resnet_v1_50'``) or ``'inception'``/``'vgg'``/``'cifarnet'``/``'lenet'``.
      is_training: training-time (random) or evaluation preprocessing.
      use_grayscale: output one grey channel.

    Returns:
      ``fn(image, output_height, output_width, **kwargs)`` returning a float32 CHW tensor.

    Raises:
      ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in PREPROCESSING_FOR_NAME:
        raise ValueError(
            f"Preprocessing name [{name}] was not recognized. Known names: {', '.join(list_preprocessing_names())}. "
            "Pass --preprocessing_name with one of them (e.g. inception or vgg) for other networks."
        )
    return PreprocessingFn(name, PREPROCESSING_FOR_NAME[name], bool(is_training), bool(use_grayscale))
