"""DatasetDataProvider on preprocessing threads and DataLoader worker processes: exactly-once epochs, seeds,
num_epochs, rank sharding, batching."""

import collections
import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from slim.data import example as example_lib
from slim.data import tfexample_decoder
from slim.data.data_provider import DataProvider
from slim.data.dataset import Dataset
from slim.data.dataset_data_provider import DatasetDataProvider
from slim.data.record_dataset import RecordDataset, shuffle_buffer
from slim.data.tfrecord import TFRecordWriter

WORKERS = pytest.mark.parametrize("workers", ["threads", "processes"])
SIZES = [7, 5, 9]  # records per file; ids are 0..20
NUM = sum(SIZES)


def _png(value):
    buffer = io.BytesIO()
    PILImage.fromarray(np.full((2, 3, 3), value % 256, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("records")
    next_id = 0
    for shard, size in enumerate(SIZES):
        with TFRecordWriter(directory / f"train-{shard:05d}-of-{len(SIZES):05d}") as writer:
            for _ in range(size):
                features = {"id": [next_id], "image/encoded": _png(next_id), "image/format": b"png"}
                writer.write(example_lib.make_example(features).SerializeToString())
                next_id += 1
    decoder = tfexample_decoder.TFExampleDecoder(
        {
            "id": tfexample_decoder.FixedLenFeature([], "int64"),
            "image/encoded": tfexample_decoder.FixedLenFeature((), "string"),
            "image/format": tfexample_decoder.FixedLenFeature((), "string"),
        },
        {"image": tfexample_decoder.Image(), "label": tfexample_decoder.Tensor("id")},
    )
    return Dataset(
        str(directory / "train-*"), None, decoder, NUM, {"image": "2x3 image", "label": "its id"}, num_classes=NUM
    )


def _ids(loader):
    return [int(label) for batch in loader for label in batch[-1]]


def test_dataset_record():
    record = Dataset("x-*", None, None, 3, {"a": "b"}, num_classes=5, labels_to_names={0: "zero"})
    assert record.num_classes == 5 and record.labels_to_names == {0: "zero"} and record.num_samples == 3


def test_data_provider():
    provider = DataProvider({"image": 1, "label": 2}, num_samples=10)
    assert provider.get(["label", "image"]) == [2, 1]
    assert provider.list_items() == ["image", "label"] and provider.num_samples() == 10
    with pytest.raises(ValueError, match=r"Items \['nope'\] are not provided"):
        provider.get(["nope"])


@WORKERS
def test_two_workers_read_each_record_once_per_epoch(dataset, workers):
    provider = DatasetDataProvider(dataset, num_readers=2, num_epochs=2, common_queue_capacity=8, common_queue_min=3)
    loader = provider.batch(
        ["image", "label"], batch_size=4, num_threads=2, allow_smaller_final_batch=True, workers=workers
    )
    ids = _ids(loader)
    assert collections.Counter(ids) == {i: 2 for i in range(NUM)}


@WORKERS
def test_seed_makes_the_stream_reproducible(dataset, workers):
    def stream(seed):
        provider = DatasetDataProvider(dataset, num_epochs=1, seed=seed, common_queue_capacity=10, common_queue_min=4)
        loader = provider.batch(["label"], batch_size=3, num_threads=2, allow_smaller_final_batch=True, workers=workers)
        return _ids(loader)

    first = stream(3)
    assert sorted(first) == list(range(NUM))
    assert stream(3) == first
    assert stream(4) != first


def test_unshuffled_single_pass_is_file_order(dataset):
    provider = DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    ids = [int(label) for (label,) in provider.make_dataset(["label"])]
    assert ids == list(range(NUM))


@WORKERS
def test_rank_sharding_with_simulated_ranks(dataset, workers):
    seen = collections.Counter()
    for rank in range(2):
        provider = DatasetDataProvider(dataset, num_epochs=1, seed=0, rank=rank, world_size=2)
        assert provider.rank == rank and provider.world_size == 2
        loader = provider.batch(["label"], batch_size=2, num_threads=2, allow_smaller_final_batch=True, workers=workers)
        seen.update(_ids(loader))
    assert seen == {i: 1 for i in range(NUM)}  # processes: 2 ranks x 2 workers = 4 shards over 3 files


@WORKERS
def test_forever_and_drop_remainder(dataset, workers):
    provider = DatasetDataProvider(dataset, num_epochs=None, seed=1, common_queue_capacity=6, common_queue_min=2)
    loader = provider.batch(["label"], batch_size=5, num_threads=0, workers=workers)
    batches = [batch for _, batch in zip(range(13), loader)]  # 65 examples: more than 3 epochs
    assert all(batch[0].shape == (5,) for batch in batches)
    counts = collections.Counter(int(i) for batch in batches for i in batch[0])
    assert set(counts) == set(range(NUM)) and min(counts.values()) >= 2
    dropped = DatasetDataProvider(dataset, num_epochs=1).batch(["label"], batch_size=4, num_threads=2, workers=workers)
    sizes = [len(batch[0]) for batch in dropped]
    assert set(sizes) == {4}  # the smaller final batch(es) are dropped (allow_smaller_final_batch=False)


@WORKERS
def test_transform_runs_in_workers(dataset, workers):
    def in_worker():
        if workers == "threads":
            return threading.current_thread().name.startswith("slim-preprocess")
        return torch.utils.data.get_worker_info() is not None

    def preprocess(image, label):
        return image.permute(2, 0, 1).float() / 255, label * 10, in_worker()

    provider = DatasetDataProvider(dataset, num_epochs=1, shuffle=False)
    loader = provider.batch(
        ["image", "label"], 4, num_threads=2, transform=preprocess, allow_smaller_final_batch=True, workers=workers
    )
    batches = list(loader)
    images, labels, _ = batches[0]
    assert images.shape == (4, 3, 2, 3) and images.dtype == torch.float32
    # Record i's image is filled with the value i, so each image matches its own label.
    assert torch.equal(images[:, 0, 0, 0], labels.float() / 10 / 255)
    assert all(bool(flag) for batch in batches for flag in batch[2])
    assert sorted(int(v) for batch in batches for v in batch[1]) == [10 * i for i in range(NUM)]


def test_get_and_record_key(dataset):
    provider = DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    assert provider.list_items() == ["image", "label", "record_key"]
    assert provider.num_samples() == NUM
    image, key, label = provider.get(["image", "record_key", "label"])
    assert image.shape == (2, 3, 3) and image.dtype == torch.uint8 and int(label) == 0
    assert key.endswith("train-00000-of-00003:0")
    assert int(provider.get(["label"])[0]) == 1  # each call reads the next example
    with pytest.raises(ValueError, match=r"Items \['nope'\] are not provided"):
        provider.get(["nope"])
    with pytest.raises(ValueError, match="'label'.*already a decoder item"):
        DatasetDataProvider(dataset, record_key="label")


def test_errors(dataset, tmp_path):
    broken = Dataset(str(tmp_path / "none-*"), None, dataset.decoder, 0, {})
    with pytest.raises(ValueError, match=r"No data files found in '.*none-\*'"):
        DatasetDataProvider(broken)
    (tmp_path / "empty-0").write_bytes(b"")
    with pytest.raises(ValueError, match="are empty"):
        DatasetDataProvider(Dataset(str(tmp_path / "empty-*"), None, dataset.decoder, 0, {}))
    with pytest.raises(ValueError, match=r"0 <= common_queue_min \(10\) < common_queue_capacity \(10\)"):
        DatasetDataProvider(dataset, common_queue_capacity=10, common_queue_min=10)
    with pytest.raises(ValueError, match="num_epochs=0"):
        DatasetDataProvider(dataset, num_epochs=0)
    with pytest.raises(ValueError, match=r"rank=2 must be in \[0, world_size=2\)"):
        DatasetDataProvider(dataset, rank=2, world_size=2)


def test_decode_error_names_the_record(tmp_path, dataset):
    with TFRecordWriter(tmp_path / "bad") as writer:
        features = {"id": [0], "image/encoded": b"garbage", "image/format": b"png"}
        writer.write(example_lib.make_example(features).SerializeToString())
    provider = DatasetDataProvider(Dataset(str(tmp_path / "bad"), None, dataset.decoder, 1, {}), num_epochs=1)
    with pytest.raises(ValueError, match=r"Could not decode record .*bad:0: .*image/encoded"):
        provider.get(["image"])


def test_shuffle_buffer_semantics():
    reads = []

    def source():
        for value in range(20):
            reads.append(value)
            yield value

    stream = shuffle_buffer(source(), capacity=8, min_after_dequeue=3, rng=__import__("random").Random(0))
    first = next(stream)
    assert len(reads) == 4 and first in range(4)  # output starts at min_after_dequeue + 1 records
    rest = list(stream)
    assert sorted([first, *rest]) == list(range(20))


def test_raw_records_stream(dataset):
    stream = RecordDataset(sorted(__import__("glob").glob(dataset.data_sources)), shuffle=False, num_epochs=1)
    pairs = list(stream)
    assert len(pairs) == NUM and pairs[0][0].endswith(":0") and isinstance(pairs[0][1], bytes)
