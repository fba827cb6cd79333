"""preprocessing_factory: every network name is covered, unknown names fail with the list, and the functions work in
DataLoader worker processes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from slim.preprocessing import (
    cifarnet_preprocessing,
    inception_preprocessing,
    lenet_preprocessing,
    preprocessing_factory,
    vgg_preprocessing,
)
from slim.preprocessing.preprocessing_factory import get_preprocessing

# The 40 networks of the nets factory (shared/reference/slim_reference.md §2.1), with the preprocessing TF-Slim
# mapped them to, or ours for the eight TF-Slim did not map (marked).
EXPECTED = {
    "alexnet_v2": "vgg",  # not in TF-Slim
    "cifarnet": "cifarnet",
    "overfeat": "vgg",  # not in TF-Slim
    "vgg_a": "vgg",
    "vgg_16": "vgg",
    "vgg_19": "vgg",
    "inception_v1": "inception",
    "inception_v2": "inception",
    "inception_v3": "inception",
    "inception_v4": "inception",
    "inception_resnet_v2": "inception",
    "i3d": "inception",  # not in TF-Slim
    "s3dg": "inception",  # not in TF-Slim
    "lenet": "lenet",
    "resnet_v1_50": "vgg",
    "resnet_v1_101": "vgg",
    "resnet_v1_152": "vgg",
    "resnet_v1_200": "vgg",
    "resnet_v2_50": "vgg",
    "resnet_v2_101": "vgg",
    "resnet_v2_152": "vgg",
    "resnet_v2_200": "vgg",
    "mobilenet_v1": "inception",
    "mobilenet_v1_075": "inception",  # not in TF-Slim
    "mobilenet_v1_050": "inception",  # not in TF-Slim
    "mobilenet_v1_025": "inception",  # not in TF-Slim
    "mobilenet_v2": "inception",
    "mobilenet_v2_140": "inception",
    "mobilenet_v2_035": "inception",
    "mobilenet_v3_small": "inception",
    "mobilenet_v3_large": "inception",
    "mobilenet_v3_small_minimalistic": "inception",
    "mobilenet_v3_large_minimalistic": "inception",
    "mobilenet_edgetpu": "inception",
    "mobilenet_edgetpu_075": "inception",
    "nasnet_cifar": "cifarnet",  # not in TF-Slim
    "nasnet_mobile": "inception",
    "nasnet_large": "inception",
    "pnasnet_large": "inception",
    "pnasnet_mobile": "inception",
}
MODULES = {
    "inception": inception_preprocessing,
    "vgg": vgg_preprocessing,
    "cifarnet": cifarnet_preprocessing,
    "lenet": lenet_preprocessing,
}
IMAGE = np.random.RandomState(3).randint(0, 256, size=(40, 44, 3)).astype(np.uint8)


def test_covers_the_forty_networks_and_the_aliases():
    assert len(EXPECTED) == 40
    for name, preprocessing in EXPECTED.items():
        assert get_preprocessing(name).preprocessing == preprocessing, name
    assert get_preprocessing("inception").preprocessing == "inception"
    assert get_preprocessing("vgg").preprocessing == "vgg"
    assert set(preprocessing_factory.list_preprocessing_names()) == set(EXPECTED) | {"inception", "vgg"}


def test_agrees_with_the_nets_factory_registry():
    nets_factory = pytest.importorskip("slim.nets.nets_factory")
    for name in nets_factory.list_networks():
        spec = nets_factory.get_network_spec(name)
        assert get_preprocessing(name).preprocessing == spec.preprocessing, name


@pytest.mark.parametrize("name", ["inception_v3", "resnet_v1_50", "cifarnet", "lenet"])
@pytest.mark.parametrize("is_training", [False, True])
def test_function_calls_the_module_with_its_flags(name, is_training):
    fn = get_preprocessing(name, is_training=is_training)
    module = MODULES[EXPECTED[name]]
    kwargs = {"resize_side_min": 36, "resize_side_max": 40} if module is vgg_preprocessing else {}
    ours = fn(IMAGE, 32, 32, generator=torch.Generator().manual_seed(1), **kwargs)
    direct = module.preprocess_image(
        IMAGE, 32, 32, is_training=is_training, generator=torch.Generator().manual_seed(1), **kwargs
    )
    torch.testing.assert_close(ours, direct, rtol=0, atol=0)
    assert ours.shape == (3, 32, 32) and ours.dtype == torch.float32


def test_use_grayscale_is_passed_on():
    assert get_preprocessing("inception_v1", use_grayscale=True)(IMAGE, 24, 24).shape == (1, 24, 24)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Preprocessing name \[resnet_v3\] was not recognized") as error:
        get_preprocessing("resnet_v3")
    for name in ("inception_v3", "vgg_16", "nasnet_cifar", "lenet"):
        assert name in str(error.value)


def test_function_pickles():
    fn = get_preprocessing("inception_v3", is_training=True)
    again = pickle.loads(pickle.dumps(fn))
    assert again == fn
    torch.testing.assert_close(
        again(IMAGE, 24, 24, generator=torch.Generator().manual_seed(0)),
        fn(IMAGE, 24, 24, generator=torch.Generator().manual_seed(0)),
    )


class _Images(torch.utils.data.Dataset):
    def __init__(self, fn):
        self.fn = fn

    def __len__(self):
        return 4

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)  # per-example seeds: the same result in any worker
        return self.fn(torch.from_numpy(IMAGE), 24, 24, generator=generator)


def test_runs_in_dataloader_workers_deterministically():
    fn = get_preprocessing("inception_v3", is_training=True)
    in_workers = torch.cat(list(torch.utils.data.DataLoader(_Images(fn), batch_size=2, num_workers=2)))
    in_process = torch.cat(list(torch.utils.data.DataLoader(_Images(fn), batch_size=2, num_workers=0)))
    assert in_workers.shape == (4, 3, 24, 24)
    torch.testing.assert_close(in_workers, in_process, rtol=0, atol=0)


def test_accepts_read_only_numpy_and_pil_images():
    from PIL import Image

    read_only = IMAGE.copy()
    read_only.flags.writeable = False
    fn = get_preprocessing("inception_v3")
    expected = fn(torch.from_numpy(IMAGE), 24, 24)
    torch.testing.assert_close(fn(read_only, 24, 24), expected, rtol=0, atol=0)
    torch.testing.assert_close(fn(Image.fromarray(IMAGE), 24, 24), expected, rtol=0, atol=0)
