"""The MNIST converter on fake IDX gz files (16-byte image header, 8-byte label header), with mirror fallback."""

import gzip
import io
import os

import numpy as np
import pytest
from PIL import Image

from slim.datasets import download_and_convert_mnist


def _idx_images(path, images):
    header = (2051).to_bytes(4, "big") + len(images).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with gzip.open(path, "wb") as f:
        f.write(header + images.tobytes())


def _idx_labels(path, labels, magic=2049):
    with gzip.open(path, "wb") as f:
        f.write(magic.to_bytes(4, "big") + len(labels).to_bytes(4, "big") + bytes(labels))


def _make_files(folder):
    folder.mkdir()
    rng = np.random.default_rng(1)
    expected = {}
    for prefix, split, count in (("train", "train", 3), ("t10k", "test", 2)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=count)]
        _idx_images(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        _idx_labels(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        expected[split] = (images, labels)
    return expected


def test_convert_mnist_with_mirror_fallback(tmp_path, images, capsys):
    expected = _make_files(tmp_path / "mirror")
    dataset_dir = tmp_path / "mnist"
    missing = (tmp_path / "nowhere").as_uri()  # the first base URL fails for every file; the mirror serves them
    assert download_and_convert_mnist.run(
        str(dataset_dir), base_urls=[missing, (tmp_path / "mirror").as_uri()], check_md5=False
    )
    assert sorted(os.listdir(dataset_dir)) == ["labels.txt", "mnist_test.tfrecord", "mnist_train.tfrecord"]
    assert (dataset_dir / "labels.txt").read_text().splitlines()[6] == "6:size"  # TF-Slim's spelling
    for split, (want_images, want_labels) in expected.items():
        records = images.read_records([dataset_dir / f"mnist_{split}.tfrecord"])
        assert [r["image/class/label"].tolist() for r in records] == [[label] for label in want_labels]
        for record, want in zip(records, want_images):
            assert record["image/format"][0] == b"png"
            assert record["image/height"].tolist() == [28] and record["image/width"].tolist() == [28]
            np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(record["image/encoded"][0]))), want)
    capsys.readouterr()
    assert not download_and_convert_mnist.run(str(dataset_dir), base_urls=[missing])
    assert "Dataset files already exist" in capsys.readouterr().out


def test_published_md5_rejects_fake_files(tmp_path):
    _make_files(tmp_path / "mirror")
    with pytest.raises(download_and_convert_mnist.DownloadError, match="Checksum mismatch.*train-images-idx3-ubyte"):
        download_and_convert_mnist.run(str(tmp_path / "out"), base_urls=[(tmp_path / "mirror").as_uri()])


def test_bad_idx_header_names_the_file(tmp_path):
    path = tmp_path / "labels.gz"
    _idx_labels(path, [1, 2], magic=2051)
    with pytest.raises(ValueError, match="labels.gz: IDX magic number 2051, expected 2049"):
        download_and_convert_mnist.extract_labels(str(path))
