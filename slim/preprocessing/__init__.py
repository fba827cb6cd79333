"""Image preprocessing for the model library (research/slim ``preprocessing/``), in PyTorch.

``get_preprocessing(name, is_training)`` returns ``fn(image, output_height, output_width, **kwargs)`` for a network
name. Each function takes one decoded image, uint8 HWC (torch tensor or numpy array, as the data decoder yields),
and returns a float32 CHW tensor, ready to batch for an NCHW network. Random choices go through an optional
``generator=torch.Generator`` keyword, so a seeded pipeline is deterministic; nothing keeps global state, so the
functions run in ``torch.utils.data`` worker processes.

Modules: ``inception_preprocessing``, ``vgg_preprocessing``, ``cifarnet_preprocessing``, ``lenet_preprocessing``
(TF-Slim's), and the TF ops they need, reproduced to TF's numerics: ``image_ops`` (colour ops, standardization),
``crop_ops`` (central crop, crop-or-pad), ``resize_ops`` (TF1 resize kernels), ``distorted_bounding_box``
(``sample_distorted_bounding_box``).
"""

from slim.preprocessing import (
    cifarnet_preprocessing,
    crop_ops,
    distorted_bounding_box,
    image_ops,
    inception_preprocessing,
    lenet_preprocessing,
    preprocessing_factory,
    resize_ops,
    vgg_preprocessing,
)
from slim.preprocessing.preprocessing_factory import PreprocessingFn, get_preprocessing, list_preprocessing_names

__all__ = [
    "PreprocessingFn",
    "cifarnet_preprocessing",
    "crop_ops",
    "distorted_bounding_box",
    "get_preprocessing",
    "image_ops",
    "inception_preprocessing",
    "lenet_preprocessing",
    "list_preprocessing_names",
    "preprocessing_factory",
    "resize_ops",
    "vgg_preprocessing",
]
