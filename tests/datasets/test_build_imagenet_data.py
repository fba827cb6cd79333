"""The ImageNet builder on a tiny fake ILSVRC tree: labels, shuffling, shards, boxes, the CMYK and PNG fixes."""

import io
import os
import random
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from slim.data.example import parse_example
from slim.data.tfrecord import tf_record_iterator
from slim.datasets import build_imagenet_data, dataset_factory, imagenet

SYNSETS = ["n01440764", "n01443537", "n01484850"]
NAMES = {
    "n01440764": "tench, Tinca tinca",
    "n01443537": "goldfish, Carassius auratus",
    "n01484850": "great white shark",
}


def _make_tree(root, images):
    """train/<synset>/*.JPEG (one CMYK JPEG, one PNG named .JPEG), a flat validation folder, labels, boxes."""
    files = {}
    train = {
        "n01440764": {"n01440764_1.JPEG": images.jpeg(5, 4, 1), "n01440764_2.JPEG": images.jpeg(6, 6, 2, mode="CMYK")},
        "n01443537": {"n01443537_1.JPEG": images.jpeg(3, 5, 3), "n01443537_2933.JPEG": images.png(4, 3, 4)},
        "n01484850": {"n01484850_1.JPEG": images.jpeg(7, 2, 5), "n01484850_2.JPEG": images.jpeg(2, 2, 6)},
    }
    for synset, members in train.items():
        (root / "train" / synset).mkdir(parents=True)
        for name, data in members.items():
            (root / "train" / synset / name).write_bytes(data)
            files[name] = (synset, data)
    (root / "train" / "n01440764" / "notes.txt").write_text("ignored: not a .JPEG")
    (root / "val").mkdir()
    val_synsets = ["n01484850", "n01440764", "n01484850"]
    for i, synset in enumerate(val_synsets, start=1):
        name = f"ILSVRC2012_val_{i:08d}.JPEG"
        data = images.jpeg(4, 4, 10 + i)
        (root / "val" / name).write_bytes(data)
        files[name] = (synset, data)
    (root / "val_labels.txt").write_text("\n".join(val_synsets) + "\n")
    (root / "synsets.txt").write_text("\n".join(SYNSETS) + "\n")
    metadata = {**NAMES, "n00004475": "organism, being"}
    (root / "metadata.txt").write_text("".join(f"{s}\t{n}\n" for s, n in metadata.items()))
    (root / "boxes.csv").write_text(
        "n01440764_1.JPEG,0.1,0.2,0.5,0.6\nn01440764_1.JPEG,0.0,0.0,1.0,1.0\nILSVRC2012_val_00000002.JPEG,0.3,0.1,0.9,0.8\n"
    )
    return files


def _flags(root, out, **overrides):
    flags = dict(
        train_directory=str(root / "train"),
        validation_directory=str(root / "val"),
        validation_labels_file=str(root / "val_labels.txt"),
        output_directory=str(out),
        train_shards=2,
        validation_shards=2,
        num_threads=2,
        labels_file=str(root / "synsets.txt"),
        imagenet_metadata_file=str(root / "metadata.txt"),
        bounding_box_file=str(root / "boxes.csv"),
    )
    flags.update(overrides)
    return flags


def _expected_order(files, split):
    """The builder's order: synsets in labels-file order, sorted files within each, then the seed-12345 shuffle."""
    names = [
        n
        for synset in SYNSETS
        for n in sorted(files)
        if files[n][0] == synset and (n.startswith("ILSVRC2012_val_") == (split == "validation"))
    ]
    index = list(range(len(names)))
    random.Random(12345).shuffle(index)
    return [names[i] for i in index]


def test_build_imagenet_data(tmp_path, images, capsys):
    files = _make_tree(tmp_path, images)
    out = tmp_path / "out"
    assert build_imagenet_data.build_imagenet_data(**_flags(tmp_path, out))
    assert sorted(os.listdir(out)) == [
        "labels.txt",
        "train-00000-of-00002",
        "train-00001-of-00002",
        "validation-00000-of-00002",
        "validation-00001-of-00002",
    ]
    assert (out / "labels.txt").read_text() == "0:background\n" + "".join(
        f"{i}:{NAMES[s]}\n" for i, s in enumerate(SYNSETS, start=1)
    )
    for split, count in (("train", 6), ("validation", 3)):
        records = [
            parse_example(r) for i in range(2) for r in tf_record_iterator(str(out / f"{split}-{i:05d}-of-00002"))
        ]
        assert len(records) == count
        assert [r["image/filename"][0].decode() for r in records] == _expected_order(files, split)
        for record in records:
            name = record["image/filename"][0].decode()
            synset, data = files[name]
            assert record["image/class/label"].tolist() == [SYNSETS.index(synset) + 1]
            assert record["image/class/synset"][0] == synset.encode()
            assert record["image/class/text"][0] == NAMES[synset].encode()
            assert record["image/format"][0] == b"JPEG" and record["image/colorspace"][0] == b"RGB"
            assert record["image/channels"].tolist() == [3]
            encoded = record["image/encoded"][0]
            decoded = Image.open(io.BytesIO(encoded))
            assert decoded.format == "JPEG" and decoded.mode in ("RGB", "L")
            assert [record["image/height"][0], record["image/width"][0]] == [decoded.height, decoded.width]
            if name in ("n01440764_2.JPEG", "n01443537_2933.JPEG"):  # CMYK JPEG and PNG-in-disguise: re-encoded
                assert encoded != data and decoded.mode == "RGB"
            else:
                assert encoded == data
    train = {
        r["image/filename"][0].decode(): r
        for i in range(2)
        for r in map(parse_example, tf_record_iterator(str(out / f"train-{i:05d}-of-00002")))
    }
    boxed = train["n01440764_1.JPEG"]
    # CSV columns are xmin, ymin, xmax, ymax; one record field per coordinate.
    np.testing.assert_allclose(boxed["image/object/bbox/xmin"], [0.1, 0.0])
    np.testing.assert_allclose(boxed["image/object/bbox/ymin"], [0.2, 0.0])
    np.testing.assert_allclose(boxed["image/object/bbox/xmax"], [0.5, 1.0])
    np.testing.assert_allclose(boxed["image/object/bbox/ymax"], [0.6, 1.0])
    assert boxed["image/object/bbox/label"].tolist() == [1, 1]
    assert train["n01484850_1.JPEG"]["image/object/bbox/xmin"].tolist() == []

    # Through the imagenet dataset's decoder: boxes as [ymin, xmin, ymax, xmax], object labels from bbox/label.
    dataset = dataset_factory.get_dataset("imagenet", "train", str(out))
    assert dataset.labels_to_names[0] == "background" and dataset.labels_to_names[1] == NAMES["n01440764"]
    record = next(
        r
        for i in range(2)
        for r in tf_record_iterator(str(out / f"train-{i:05d}-of-00002"))
        if parse_example(r)["image/filename"][0] == b"n01440764_1.JPEG"
    )
    image, label, text, bbox, object_label = dataset.decoder.decode(
        record, ["image", "label", "label_text", "object/bbox", "object/label"]
    )
    assert tuple(image.shape) == (5, 4, 3) and int(label) == 1 and text == NAMES["n01440764"].encode()
    torch.testing.assert_close(bbox, torch.tensor([[0.2, 0.1, 0.6, 0.5], [0.0, 0.0, 1.0, 1.0]]))
    assert object_label.tolist() == [1, 1]

    capsys.readouterr()
    assert not build_imagenet_data.build_imagenet_data(**_flags(tmp_path, out))
    assert "Dataset files already exist" in capsys.readouterr().out


def test_build_from_archives(tmp_path, images):
    files = _make_tree(tmp_path, images)
    train_tar = tmp_path / "ILSVRC2012_img_train.tar"
    with tarfile.open(train_tar, "w") as outer:
        for synset in SYNSETS:
            inner = tmp_path / f"{synset}.tar"
            with tarfile.open(inner, "w") as tar:
                for name in sorted(os.listdir(tmp_path / "train" / synset)):
                    tar.add(tmp_path / "train" / synset / name, arcname=name)
            outer.add(inner, arcname=f"{synset}.tar")
    val_tar = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(val_tar, "w") as tar:
        for name in sorted(os.listdir(tmp_path / "val")):
            tar.add(tmp_path / "val" / name, arcname=name)
    out = tmp_path / "out"
    flags = _flags(tmp_path, out, train_directory=str(train_tar), validation_directory=str(val_tar), num_threads=1)
    flags.update(train_shards=1, validation_shards=1, bounding_box_file="")
    assert build_imagenet_data.build_imagenet_data(**flags)
    assert [p for p in os.listdir(out) if p.startswith(".")] == []  # the unpacked archives are gone
    train = [
        parse_example(r)["image/filename"][0].decode() for r in tf_record_iterator(str(out / "train-00000-of-00001"))
    ]
    assert train == _expected_order(files, "train")


def test_shard_assignment_matches_tf_slim_arithmetic():
    # 10 images, 2 threads: np.linspace(0, 10, 3) = [0, 5, 10]; each thread's range in 2 shards:
    # linspace(0, 5, 3) = [0, 2.5, 5] -> [0, 2, 5]; linspace(5, 10, 3) = [5, 7.5, 10] -> [5, 7, 10].
    assert build_imagenet_data.shard_assignment(10, 4, 2) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    with pytest.raises(ValueError, match="commensurate"):
        build_imagenet_data.shard_assignment(10, 3, 2)


def test_flat_validation_needs_labels(tmp_path, images):
    _make_tree(tmp_path, images)
    with pytest.raises(ValueError, match="pass --validation_labels_file"):
        build_imagenet_data.build_imagenet_data(**_flags(tmp_path, tmp_path / "out", validation_labels_file=""))


def test_create_readable_names_for_imagenet_labels(tmp_path):
    synsets = [f"n{i:08d}" for i in range(1000)]
    (tmp_path / "imagenet_lsvrc_2015_synsets.txt").write_text("\n".join(synsets) + "\n")
    (tmp_path / "imagenet_metadata.txt").write_text("".join(f"{s}\tname {i}\n" for i, s in enumerate(synsets)))
    names = imagenet.create_readable_names_for_imagenet_labels(base_url=tmp_path.as_uri())
    assert len(names) == 1001 and names[0] == "background" and names[1] == "name 0" and names[1000] == "name 999"


def test_missing_bounding_box_file_says_how_to_skip(tmp_path, images):
    _make_tree(tmp_path, images)
    with pytest.raises(FileNotFoundError, match="pass --bounding_box_file= to convert without"):
        build_imagenet_data.build_imagenet_data(**_flags(tmp_path, tmp_path / "out", bounding_box_file="nope.csv"))
