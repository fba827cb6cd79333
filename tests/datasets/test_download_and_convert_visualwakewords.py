"""Visual Wake Words from a fake COCO 2014 (three zips): labels by object area, boxes, shards, decoding."""

import json
import os
import zipfile

import pytest
import torch

from slim.data.tfrecord import tf_record_iterator
from slim.datasets import dataset_factory, download_and_convert_visualwakewords

# The foreground class deliberately does not have COCO's id 1, to show it is looked up by name.
CATEGORIES = [
    {"id": 1, "name": "bicycle", "supercategory": "vehicle"},
    {"id": 7, "name": "person", "supercategory": "p"},
]


def _coco(tmp_path, images):
    """Image 1: a big person (label 1). Image 2: a tiny person (0.4 % of the image, label 0) and a big bicycle.
    Image 3: no annotations (label 0)."""
    split_images = {
        "train2014": [(1, 10, 20), (2, 10, 10), (3, 5, 5)],
        "val2014": [(4, 8, 8)],
    }
    annotations = {
        "train2014": [
            {"id": 11, "image_id": 1, "category_id": 7, "area": 60.0, "bbox": [2, 1, 10, 6]},
            {"id": 12, "image_id": 2, "category_id": 7, "area": 0.4, "bbox": [0, 0, 1, 0.4]},
            {"id": 13, "image_id": 2, "category_id": 1, "area": 50.0, "bbox": [0, 0, 5, 10]},
        ],
        "val2014": [{"id": 14, "image_id": 4, "category_id": 7, "area": 16.0, "bbox": [4, 4, 4, 4]}],
    }
    urls = {}
    for split, entries in split_images.items():
        path = tmp_path / f"{split}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for image_id, height, width in entries:
                archive.writestr(f"{split}/COCO_{split}_{image_id:012d}.jpg", images.jpeg(height, width, image_id))
        urls[split] = path.as_uri()
    path = tmp_path / "annotations_trainval2014.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for split, entries in split_images.items():
            coco = {
                "images": [
                    {"id": i, "height": h, "width": w, "file_name": f"COCO_{split}_{i:012d}.jpg"} for i, h, w in entries
                ],
                "annotations": annotations[split],
                "categories": CATEGORIES,
            }
            archive.writestr(f"annotations/instances_{split}.json", json.dumps(coco))
    urls["annotations"] = path.as_uri()
    return urls


def _run(out, urls, **kwargs):
    return download_and_convert_visualwakewords.run(
        str(out),
        coco_train_url=urls["train2014"],
        coco_validation_url=urls["val2014"],
        coco_annotations_url=urls["annotations"],
        train_shards=2,
        val_shards=1,
        **kwargs,
    )


def test_convert_visualwakewords(tmp_path, images, capsys):
    urls = _coco(tmp_path, images)
    out = tmp_path / "vww"
    assert _run(out, urls)
    assert sorted(os.listdir(out)) == [
        "instances_visualwakewords_train2014.json",
        "instances_visualwakewords_val2014.json",
        "labels.txt",
        "train.record-00000-of-00002",
        "train.record-00001-of-00002",
        "val.record-00000-of-00001",
    ]
    assert (out / "labels.txt").read_text() == "0:background\n1:person\n"

    dataset = dataset_factory.get_dataset("visualwakewords", "train", str(out))
    assert dataset.labels_to_names == {0: "background", 1: "person"}
    decoded = {}
    for shard in range(2):
        for position, record in enumerate(tf_record_iterator(str(out / f"train.record-{shard:05d}-of-00002"))):
            image, label, bbox = dataset.decoder.decode(record, ["image", "label", "object/bbox"])
            decoded[tuple(image.shape)] = (int(label), bbox, shard, position)
    # Image i goes to shard i % 2: images 1 and 3 (10x20, 5x5) in shard 0, image 2 (10x10) in shard 1.
    assert (
        decoded[(10, 20, 3)][2:] == (0, 0) and decoded[(5, 5, 3)][2:] == (0, 1) and decoded[(10, 10, 3)][2:] == (1, 0)
    )
    label, bbox, *_ = decoded[(10, 20, 3)]
    assert label == 1
    # bbox [x=2, y=1, w=10, h=6] on a 20 wide, 10 high image -> [ymin, xmin, ymax, xmax] = [0.1, 0.1, 0.7, 0.6].
    torch.testing.assert_close(bbox, torch.tensor([[0.1, 0.1, 0.7, 0.6]]))
    # The tiny person (0.4 / 100 = 0.004 <= 0.005) and the bicycle do not count.
    assert decoded[(10, 10, 3)][:1] == (0,) and decoded[(10, 10, 3)][1].shape == (0, 4)
    assert decoded[(5, 5, 3)][0] == 0
    val = dataset_factory.get_dataset("visualwakewords", "val", str(out))
    [record] = list(tf_record_iterator(str(out / "val.record-00000-of-00001")))
    assert int(val.decoder.decode(record, ["label"])[0]) == 1
    assert not (out / "coco_dataset").exists()  # cleaned up

    capsys.readouterr()
    assert not _run(out, urls)
    assert "Dataset files already exist" in capsys.readouterr().out


def test_threshold_changes_labels(tmp_path, images):
    urls = _coco(tmp_path, images)
    out = tmp_path / "vww"
    _run(out, urls, small_object_area_threshold=0.003)  # now the 0.4 % person counts
    annotations = json.loads((out / "instances_visualwakewords_train2014.json").read_text())["annotations"]
    assert {k: v["label"] for k, v in annotations.items()} == {"1": 1, "2": 1, "3": 0}


def test_unknown_foreground_class_lists_categories(tmp_path, images):
    urls = _coco(tmp_path, images)
    with pytest.raises(ValueError, match="'cat' is not a category of .*Categories: bicycle, person"):
        _run(tmp_path / "vww", urls, foreground_class_of_interest="cat")
