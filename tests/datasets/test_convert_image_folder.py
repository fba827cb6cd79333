"""Your own folder of images: classes from sub-folders, formats by content, non-images reported, get_split."""

import io
import json
import logging

import numpy as np
import pytest
from PIL import Image

from slim.data.example import parse_example
from slim.data.tfrecord import tf_record_iterator
from slim.datasets import convert_image_folder, dataset_factory


def _make_folder(root, images):
    """cats: 2 JPEG + 1 PNG named .jpg; dogs: JPEG, PNG, CMYK JPEG, GIF, a text file; a stray top-level file."""
    files = {
        "cats/a.jpg": images.jpeg(5, 6, 1),
        "cats/b.jpeg": images.jpeg(7, 3, 2),
        "cats/nested/c.jpg": images.png(4, 4, 3),  # a PNG in disguise, one level down
        "dogs/d.JPG": images.jpeg(3, 3, 4),
        "dogs/e.png": images.png(2, 5, 5),
        "dogs/f_cmyk.jpg": images.jpeg(4, 5, 6, mode="CMYK"),
        "dogs/notes.txt": b"not an image",
        "README.md": b"# my photos",
    }
    gif = io.BytesIO()
    Image.fromarray(images.pattern(3, 4, 7)).convert("P").save(gif, format="GIF")
    files["dogs/g.gif"] = gif.getvalue()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def test_convert_image_folder(tmp_path, images, caplog, capsys):
    source = tmp_path / "photos"
    files = _make_folder(source, images)
    out = tmp_path / "converted"
    with caplog.at_level(logging.WARNING):
        assert convert_image_folder.run(str(source), str(out), num_validation=2, num_shards=2)
    # Non-images reported by file name.
    assert str(source / "dogs/notes.txt") in caplog.text and str(source / "README.md") in caplog.text

    metadata = json.loads((out / "image_folder.json").read_text())
    assert metadata["splits_to_sizes"] == {"train": 5, "validation": 2}
    assert metadata["class_names"] == ["cats", "dogs"] and metadata["num_classes"] == 2
    assert metadata["images_per_class"] == {"cats": 3, "dogs": 4}
    assert sorted(metadata["skipped_files"]) == sorted([str(source / "README.md"), str(source / "dogs/notes.txt")])
    assert (out / "labels.txt").read_text() == "0:cats\n1:dogs\n"
    assert sorted(metadata["files"]) == [
        "image_folder_train_00000-of-00002.tfrecord",
        "image_folder_train_00001-of-00002.tfrecord",
        "image_folder_validation_00000-of-00002.tfrecord",
        "image_folder_validation_00001-of-00002.tfrecord",
    ]

    by_name = {}
    for name in metadata["files"]:
        for record in tf_record_iterator(str(out / name)):
            parsed = parse_example(record)
            by_name[parsed["image/encoded"][0]] = parsed
    assert len(by_name) == 7
    # JPEG and PNG bytes are kept as they are, with their real format (the .jpg PNG says png).
    for name in ("cats/a.jpg", "cats/b.jpeg", "dogs/d.JPG"):
        assert by_name[files[name]]["image/format"][0] == b"jpeg"
    for name in ("cats/nested/c.jpg", "dogs/e.png"):
        assert by_name[files[name]]["image/format"][0] == b"png"
    assert by_name[files["cats/nested/c.jpg"]]["image/class/label"].tolist() == [0]
    assert by_name[files["dogs/e.png"]]["image/class/label"].tolist() == [1]
    # CMYK JPEG -> RGB JPEG; GIF -> PNG.
    converted = {k: v for k, v in by_name.items() if k not in files.values()}
    formats = sorted((v["image/format"][0], Image.open(io.BytesIO(k)).mode) for k, v in converted.items())
    assert formats == [(b"jpeg", "RGB"), (b"png", "RGB")]

    # get_split needs no code: split sizes, classes, names come from the converter's files.
    train = dataset_factory.get_dataset("image_folder", "train", str(out))
    validation = dataset_factory.get_dataset("image_folder", "validation", str(out))
    assert (train.num_samples, validation.num_samples, train.num_classes) == (5, 2, 2)
    assert train.labels_to_names == {0: "cats", 1: "dogs"}
    decoded = []
    for path in sorted(out.glob("image_folder_*.tfrecord")):
        for record in tf_record_iterator(str(path)):
            image, label = train.decoder.decode(record, ["image", "label"])
            decoded.append((tuple(image.shape), int(label)))
    assert sorted(decoded) == sorted(
        [((5, 6, 3), 0), ((7, 3, 3), 0), ((4, 4, 3), 0), ((3, 3, 3), 1), ((2, 5, 3), 1), ((4, 5, 3), 1), ((3, 4, 3), 1)]
    )
    with pytest.raises(ValueError, match="Dataset 'image_folder' has the splits 'train', 'validation'"):
        dataset_factory.get_dataset("image_folder", "test", str(out))

    capsys.readouterr()
    assert not convert_image_folder.run(str(source), str(out))
    assert "Dataset files already exist" in capsys.readouterr().out


def test_png_decodes_exactly(tmp_path, images):
    (tmp_path / "src/only").mkdir(parents=True)
    pixels = images.pattern(3, 2, 9)
    Image.fromarray(pixels).save(tmp_path / "src/only/x.png")
    convert_image_folder.run(str(tmp_path / "src"), str(tmp_path / "out"), num_validation=0)
    dataset = dataset_factory.get_dataset("image_folder", "train", str(tmp_path / "out"))
    [record] = list(tf_record_iterator(str(next((tmp_path / "out").glob("*.tfrecord")))))
    image, label = dataset.decoder.decode(record, ["image", "label"])
    np.testing.assert_array_equal(image.numpy(), pixels)
    with pytest.raises(ValueError, match="has the splits 'train' "):
        dataset_factory.get_dataset("image_folder", "validation", str(tmp_path / "out"))


def test_folder_errors(tmp_path, images):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        convert_image_folder.run(str(tmp_path / "missing"), str(tmp_path / "out"))
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat/a.jpg").write_bytes(images.jpeg())
    with pytest.raises(ValueError, match="has no sub-folders"):
        convert_image_folder.run(str(tmp_path / "flat"), str(tmp_path / "out"))
    (tmp_path / "flat/empty_class").mkdir()
    (tmp_path / "flat/full_class").mkdir()
    (tmp_path / "flat/full_class/a.jpg").write_bytes(images.jpeg())
    with pytest.raises(ValueError, match="Class folders without any image in .*: empty_class"):
        convert_image_folder.run(str(tmp_path / "flat"), str(tmp_path / "out"))
    (tmp_path / "flat/empty_class/b.jpg").write_bytes(images.jpeg())
    with pytest.raises(ValueError, match="leaves none for training"):
        convert_image_folder.run(str(tmp_path / "flat"), str(tmp_path / "out"), num_validation=2)
