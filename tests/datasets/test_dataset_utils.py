"""dataset_utils: label files, sharded writers, the classification Example."""

import contextlib

import pytest

from slim.data.example import parse_example
from slim.data.tfrecord import tf_record_iterator
from slim.datasets import dataset_utils


def test_label_file_round_trip(tmp_path):
    labels = {0: "background", 1: "tench, Tinca tinca", 2: "a:b", 10: "naïve"}
    assert not dataset_utils.has_labels(str(tmp_path))
    dataset_utils.write_label_file(labels, str(tmp_path))
    assert dataset_utils.has_labels(str(tmp_path))
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8").splitlines()[2] == "2:a:b"
    assert dataset_utils.read_label_file(str(tmp_path)) == labels


def test_malformed_label_line_names_file_and_line(tmp_path):
    (tmp_path / "labels.txt").write_text("0:cat\n\nno colon here\n")
    with pytest.raises(ValueError, match=r"labels.txt, line 3: expected '<integer label>:<class name>'"):
        dataset_utils.read_label_file(str(tmp_path))


def test_newline_in_class_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="contains a newline"):
        dataset_utils.write_label_file({0: "a\nb"}, str(tmp_path))


def test_open_sharded_output_tfrecords(tmp_path):
    base = str(tmp_path / "train.record")
    with contextlib.ExitStack() as stack:
        writers = dataset_utils.open_sharded_output_tfrecords(stack, base, 3)
        for i in range(7):
            writers[i % 3].write(f"r{i}".encode())
    names = [f"train.record-{i:05d}-of-00003" for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert list(tf_record_iterator(str(tmp_path / names[1]))) == [b"r1", b"r4"]


def test_sharded_writers_publish_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError), contextlib.ExitStack() as stack:
        writers = dataset_utils.open_sharded_output_tfrecords(stack, str(tmp_path / "x"), 2)
        writers[0].write(b"half")
        raise RuntimeError("conversion failed")
    assert list(tmp_path.iterdir()) == []


def test_image_to_tfexample_fields():
    example = dataset_utils.image_to_tfexample(b"\xff\xd8\xffdata", b"jpg", 4, 5, 3)
    parsed = parse_example(example.SerializeToString())
    assert parsed["image/encoded"].tolist() == [b"\xff\xd8\xffdata"]
    assert parsed["image/format"].tolist() == [b"jpg"]
    assert parsed["image/class/label"].tolist() == [3]
    assert parsed["image/height"].tolist() == [4] and parsed["image/width"].tolist() == [5]
