"""The CIFAR-10 converter on a fake python-pickles tarball; pickles that reference anything but arrays are refused."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from slim.datasets import download_and_convert_cifar10
from slim.datasets.download import ChecksumError


def _batch(images_hwc, labels):
    # CIFAR rows are the R plane, then G, then B (each 32 x 32, row-major): [N, 3, 32, 32] flattened.
    data = images_hwc.transpose(0, 3, 1, 2).reshape(len(images_hwc), -1)
    return pickle.dumps({b"batch_label": b"fake", b"labels": labels, b"data": data}, protocol=2)


def _make_archive(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cifar-10-python.tar.gz"
    expected = {}
    with tarfile.open(path, "w:gz") as tar:
        for name, count in [(f"data_batch_{i}", 2) for i in range(1, 6)] + [("test_batch", 3)]:
            images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 10, size=count)]
            payload = _batch(images, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            expected[name] = (images, labels)
    return path, expected


def test_convert_cifar10(tmp_path, images, capsys):
    archive, expected = _make_archive(tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    dataset_dir = tmp_path / "cifar10"
    assert download_and_convert_cifar10.run(str(dataset_dir), data_url=archive.as_uri(), md5=md5)
    assert sorted(os.listdir(dataset_dir)) == ["cifar10_test.tfrecord", "cifar10_train.tfrecord", "labels.txt"]
    assert (dataset_dir / "labels.txt").read_text().splitlines() == [
        f"{i}:{n}" for i, n in enumerate(download_and_convert_cifar10.CLASS_NAMES)
    ]
    for split, batches in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
        records = images.read_records([dataset_dir / f"cifar10_{split}.tfrecord"])
        want_images = np.concatenate([expected[b][0] for b in batches])
        want_labels = sum((expected[b][1] for b in batches), [])
        assert len(records) == len(want_labels)
        for record, want_image, want_label in zip(records, want_images, want_labels):
            assert record["image/format"][0] == b"png"
            assert record["image/height"].tolist() == [32] and record["image/width"].tolist() == [32]
            assert record["image/class/label"].tolist() == [want_label]
            decoded = np.asarray(Image.open(io.BytesIO(record["image/encoded"][0])))
            np.testing.assert_array_equal(decoded, want_image)  # lossless PNG, HWC order restored

    capsys.readouterr()
    assert not download_and_convert_cifar10.run(str(dataset_dir), data_url=archive.as_uri(), md5=md5)
    assert "Dataset files already exist" in capsys.readouterr().out


def test_wrong_md5_is_refused(tmp_path):
    archive, _ = _make_archive(tmp_path)
    with pytest.raises(ChecksumError, match="expected md5 c58f30108f718f92721af3b95e74349a"):
        download_and_convert_cifar10.run(str(tmp_path / "out"), data_url=archive.as_uri())


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_referencing_code_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"references (posix|nt)\.system"):
        download_and_convert_cifar10.load_batch(str(path))
