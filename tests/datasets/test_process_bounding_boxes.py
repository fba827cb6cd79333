"""ImageNet bounding-box XML → CSV, read back by build_imagenet_data's lookup."""

import pytest

from slim.datasets import process_bounding_boxes as pbb
from slim.datasets.build_imagenet_data import build_bounding_box_lookup


def _xml(path, width, height, objects, filename="wrong%s"):
    boxes = "".join(
        f"<object><name>{label}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
        f"<ymax>{y1}</ymax></bndbox></object>"
        for label, (x0, y0, x1, y1) in objects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<annotation><filename>{filename}</filename><size><width>{width}</width><height>{height}</height>"
        f"<depth>3</depth></size>{boxes}</annotation>"
    )


@pytest.fixture
def annotations(tmp_path):
    root = tmp_path / "bbox"
    _xml(root / "n01440764" / "n01440764_1.xml", 200, 100, [("n01440764", (20, 10, 120, 90))])
    _xml(
        root / "n01440764" / "n01440764_2.xml",
        200,
        100,
        [("n01440764", (-10, 0, 250, 50)), ("n99999999", (0, 0, 10, 10)), ("n01440764", (50, 50, 50, 60))],
    )
    _xml(root / "n01443537" / "n01443537_7.xml", 50, 50, [("n99999999", (0, 0, 10, 10))])
    _xml(root / "ILSVRC2012_val_00000001.xml", 500, 375, [("n01751748", (0, 0, 500, 375))])
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("n01440764\nn01443537\nn01751748\n")
    return root, synsets


def test_lines_are_relative_clipped_named_after_the_xml_file_and_filtered(annotations):
    root, synsets = annotations
    stats = {}
    lines = list(pbb.process_bounding_boxes(str(root), str(synsets), stats))
    assert lines == [
        "ILSVRC2012_val_00000001.JPEG,0.0000,0.0000,1.0000,1.0000",
        "n01440764_1.JPEG,0.1000,0.1000,0.6000,0.9000",
        "n01440764_2.JPEG,0.0000,0.0000,1.0000,0.5000",
    ]
    assert stats == {"xml_files": 4, "saved_files": 3, "skipped_files": 1, "saved_boxes": 3, "skipped_boxes": 3}
    # Without a synsets file every label is kept (the degenerate box is still skipped).
    assert len(list(pbb.process_bounding_boxes(str(root)))) == 5


def test_command_writes_a_csv_that_build_imagenet_data_reads(annotations, tmp_path, capsys):
    root, synsets = annotations
    output = tmp_path / "imagenet_2012_bounding_boxes.csv"
    assert pbb.main([str(root), str(synsets), "--output", str(output)]) == 0
    assert "Saved 3 bounding boxes" in capsys.readouterr().err
    lookup = build_bounding_box_lookup(str(output))
    assert lookup["n01440764_1.JPEG"] == [[0.1, 0.1, 0.6, 0.9]]
    assert not (tmp_path / "imagenet_2012_bounding_boxes.csv.partial").exists()


def test_bad_annotations_name_the_file(tmp_path):
    bad = tmp_path / "bbox" / "n1" / "broken.xml"
    bad.parent.mkdir(parents=True)
    bad.write_text("<annotation><size>")
    with pytest.raises(ValueError, match="broken.xml is not a valid XML"):
        list(pbb.process_bounding_boxes(str(tmp_path / "bbox")))
    bad.write_text("<annotation><size><width>0</width><height>10</height></size></annotation>")
    with pytest.raises(ValueError, match="broken.xml: image size 0x10"):
        list(pbb.process_bounding_boxes(str(tmp_path / "bbox")))
    with pytest.raises(ValueError, match="No XML files"):
        list(pbb.process_bounding_boxes(str(tmp_path)))
