"""The flowers converter on a fake flower_photos.tgz: shard names, split sizes, labels, records, rerun, clean-up."""

import io
import os
import random
import tarfile

import pytest

from slim.data.dataset_data_provider import DatasetDataProvider
from slim.datasets import dataset_factory, download_and_convert_flowers

CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
PER_CLASS = 3


def _make_archive(tmp_path, images):
    """flower_photos/<class>/<i>.jpg (sizes vary per image) plus the LICENSE.txt the real archive has."""
    path = tmp_path / "flower_photos.tgz"
    sources = {}
    with tarfile.open(path, "w:gz") as tar:
        for c, name in enumerate(CLASSES):
            for i in range(PER_CLASS):
                data = images.jpeg(height=4 + i, width=3 + c, seed=10 * c + i)
                member = f"flower_photos/{name}/{i:03d}.jpg"
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                sources[data] = (name, 4 + i, 3 + c, member[len("flower_photos/") :])
        info = tarfile.TarInfo("flower_photos/LICENSE.txt")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"license"))
    return path, sources


def test_convert_flowers(tmp_path, images, capsys):
    archive, sources = _make_archive(tmp_path, images)
    dataset_dir = tmp_path / "flowers"
    assert download_and_convert_flowers.run(str(dataset_dir), data_url=archive.as_uri(), num_validation=5)

    # Labels: sorted class folders.
    assert (dataset_dir / "labels.txt").read_text() == "".join(f"{i}:{n}\n" for i, n in enumerate(CLASSES))
    # Temporary files are gone; the archive downloaded into dataset_dir too.
    assert sorted(os.listdir(dataset_dir)) == sorted(
        ["labels.txt"] + [f"flowers_{s}_{i:05d}-of-00005.tfrecord" for s in ("train", "validation") for i in range(5)]
    )
    # 15 photos: 5 validation (1 per shard), 10 train (ceil(10 / 5) = 2 per shard).
    for split, per_shard in (("train", 2), ("validation", 1)):
        for shard in range(5):
            records = images.read_records([dataset_dir / f"flowers_{split}_{shard:05d}-of-00005.tfrecord"])
            assert len(records) == per_shard
            for record in records:
                name, height, width, _ = sources[record["image/encoded"][0]]
                assert record["image/format"][0] == b"jpg"
                assert record["image/class/label"].tolist() == [CLASSES.index(name)]
                assert record["image/height"].tolist() == [height] and record["image/width"].tolist() == [width]

    # The split is the seeded shuffle (seed 0) of the sorted photo list, whatever os.listdir returns.
    paths = sorted(f"{name}/{i:03d}.jpg" for name in CLASSES for i in range(PER_CLASS))
    random.Random(0).shuffle(paths)
    validation = images.read_records(sorted(dataset_dir.glob("flowers_validation_*.tfrecord")))
    assert [sources[r["image/encoded"][0]][3] for r in validation] == paths[:5]

    capsys.readouterr()
    assert not download_and_convert_flowers.run(str(dataset_dir), data_url=archive.as_uri(), num_validation=5)
    assert "Dataset files already exist. Exiting without re-creating them." in capsys.readouterr().out


def test_too_few_photos_for_validation_is_an_error(tmp_path, images):
    archive, _ = _make_archive(tmp_path, images)
    with pytest.raises(ValueError, match="holds 15 photos, not more than num_validation=15"):
        download_and_convert_flowers.run(str(tmp_path / "f"), data_url=archive.as_uri(), num_validation=15)


def test_converted_flowers_through_dataset_data_provider(tmp_path, images):
    archive, sources = _make_archive(tmp_path, images)
    dataset_dir = tmp_path / "flowers"
    download_and_convert_flowers.run(str(dataset_dir), data_url=archive.as_uri(), num_validation=5)
    dataset = dataset_factory.get_dataset("flowers", "validation", str(dataset_dir))
    assert dataset.labels_to_names == dict(enumerate(CLASSES))
    provider = DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    seen = []
    with pytest.raises(StopIteration):
        while True:
            image, label = provider.get(["image", "label"])
            seen.append((tuple(image.shape), int(label)))
    # Each fake photo has its own (height, width), so the shape tells which class it came from.
    class_of_shape = {(h, w, 3): CLASSES.index(name) for name, h, w, _ in sources.values()}
    assert len(seen) == 5 and all(class_of_shape[shape] == label for shape, label in seen)
