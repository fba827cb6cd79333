"""Preprocessing threads (slim.data.thread_batching): reproducible random preprocessing for any thread count, batch
buffers reused only when nothing refers to them, errors and early exits that stop the threads."""

import gc
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from slim.data import example as example_lib
from slim.data import tfexample_decoder
from slim.data.batching import batch
from slim.data.dataset import Dataset
from slim.data.dataset_data_provider import DatasetDataProvider
from slim.data.record_dataset import RecordDataset
from slim.data.tfrecord import TFRecordWriter
from slim.data.thread_batching import ThreadBatchLoader
from slim.preprocessing import preprocessing_factory

NUM = 24


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """24 records with a raw 12x10 RGB image (pixels derived from the id) and the id as label."""
    directory = tmp_path_factory.mktemp("thread_records")
    for shard in range(2):
        with TFRecordWriter(directory / f"train-{shard:05d}-of-00002") as writer:
            for index in range(shard, NUM, 2):
                pixels = (np.arange(12 * 10 * 3).reshape(12, 10, 3) * (index + 1) % 256).astype(np.uint8)
                features = {"id": [index], "image/encoded": pixels.tobytes(), "image/format": b"raw"}
                writer.write(example_lib.make_example(features).SerializeToString())
    decoder = tfexample_decoder.TFExampleDecoder(
        {
            "id": tfexample_decoder.FixedLenFeature([], "int64"),
            "image/encoded": tfexample_decoder.FixedLenFeature((), "string"),
            "image/format": tfexample_decoder.FixedLenFeature((), "string"),
        },
        {"image": tfexample_decoder.Image(shape=[12, 10, 3]), "label": tfexample_decoder.Tensor("id")},
    )
    return Dataset(str(directory / "train-*"), None, decoder, NUM, {}, num_classes=NUM)


def _inception_train(image, label, generator=None):
    preprocess = preprocessing_factory.get_preprocessing("inception_v3", is_training=True)
    return preprocess(image, 8, 8, generator=generator), label


def _stream(dataset, num_threads, seed=5, num_epochs=2):
    provider = DatasetDataProvider(dataset, num_epochs=num_epochs, seed=seed, common_queue_capacity=10,
                                   common_queue_min=4)  # fmt: skip
    loader = provider.batch(["image", "label"], 5, num_threads=num_threads, transform=_inception_train,
                            allow_smaller_final_batch=True)  # fmt: skip
    return [(images.clone(), labels.clone()) for images, labels in loader]


def test_seeded_random_preprocessing_is_the_same_for_any_number_of_threads(dataset):
    reference = _stream(dataset, num_threads=1)
    assert sum(len(labels) for _, labels in reference) == 2 * NUM
    assert [len(labels) for _, labels in reference][-1] == 3  # 48 examples in batches of 5
    for num_threads in (0, 3):
        other = _stream(dataset, num_threads)
        assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(reference, other))
    different_seed = _stream(dataset, num_threads=2, seed=6)
    assert not torch.equal(reference[0][0], different_seed[0][0])


def test_examples_get_different_random_draws(dataset):
    images, labels = _stream(dataset, num_threads=2, num_epochs=1)[0]
    # The same record in two epochs, or two records, never get identical crops and colours.
    assert len({tuple(image.flatten().tolist()) for image in images}) == len(labels)


def _counting_loader(dataset, **kwargs):
    provider = DatasetDataProvider(dataset, num_epochs=None, seed=0, common_queue_capacity=10, common_queue_min=4)
    return provider.batch(["image", "label"], 4, num_threads=2, **kwargs)


def test_a_batch_you_hold_is_never_overwritten(dataset):
    batches = iter(_counting_loader(dataset))
    held_images, held_labels = next(batches)
    expected_images, expected_labels = held_images.clone(), held_labels.clone()
    held_view = next(batches)[0][1:3]  # only a view of the second batch is kept
    expected_view = held_view.clone()
    for _ in range(20):
        next(batches)
    assert torch.equal(held_images, expected_images) and torch.equal(held_labels, expected_labels)
    assert torch.equal(held_view, expected_view)
    as_numpy = next(batches)[0].numpy()  # an array over a batch's memory counts as a reference too
    expected_numpy = as_numpy.copy()
    for _ in range(20):
        next(batches)
    assert np.array_equal(as_numpy, expected_numpy)
    batches.close()


@pytest.mark.skipif(not hasattr(torch._C, "_storage_Use_Count"), reason="this torch cannot tell when memory is free")
def test_batch_buffers_are_reused_once_released(dataset):
    batches = iter(_counting_loader(dataset))
    addresses = set()
    for _ in range(30):
        images, labels = next(batches)
        addresses.add(images.data_ptr())
        del images, labels
    assert len(addresses) <= 6  # the pool (2 queued + 3), not one new buffer per batch
    batches.close()


def _feeder_threads():
    return [t for t in threading.enumerate() if t.name == "slim-batch-feeder"]


def _wait_for_no_feeders(timeout=10.0):
    deadline = time.monotonic() + timeout
    while _feeder_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _feeder_threads()


def test_dropping_or_closing_the_iterator_stops_the_threads(dataset):
    assert _wait_for_no_feeders()
    batches = iter(_counting_loader(dataset))
    next(batches)
    assert len(_feeder_threads()) == 1
    del batches
    gc.collect()
    assert _wait_for_no_feeders()
    first = next(iter(_counting_loader(dataset)))  # the evaluation scripts' "peek at one batch"
    assert first[0].shape == (4, 12, 10, 3)
    gc.collect()
    assert _wait_for_no_feeders()
    batches = iter(_counting_loader(dataset))
    next(batches)
    batches.close()
    assert _wait_for_no_feeders()
    with pytest.raises(StopIteration):
        next(batches)


def test_a_bad_record_is_raised_in_the_consumer_with_its_name(tmp_path, dataset):
    with TFRecordWriter(tmp_path / "bad") as writer:
        for index in range(6):
            image = b"short" if index == 4 else bytes(12 * 10 * 3)
            features = {"id": [index], "image/encoded": image, "image/format": b"raw"}
            writer.write(example_lib.make_example(features).SerializeToString())
    broken = Dataset(str(tmp_path / "bad"), None, dataset.decoder, 6, {})
    provider = DatasetDataProvider(broken, num_epochs=1, shuffle=False)
    batches = iter(provider.batch(["image", "label"], 2, num_threads=2))
    assert len(next(batches)[1]) == 2
    with pytest.raises(ValueError, match=r"Could not decode record .*bad:4"):
        for _ in batches:
            pass
    assert _wait_for_no_feeders()


def test_options_that_need_processes_or_a_record_dataset_are_refused(dataset):
    records = DatasetDataProvider(dataset).make_dataset()
    with pytest.raises(ValueError, match='options of workers="processes"'):
        batch(records, 4, num_threads=1, timeout=5)
    with pytest.raises(ValueError, match=r"workers='fibers' must be one of \['threads', 'processes'\]"):
        batch(records, 4, workers="fibers")
    plain = torch.utils.data.TensorDataset(torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(TensorDataset\) use worker processes"):
        ThreadBatchLoader(plain, 2)
    raw = RecordDataset(DatasetDataProvider(dataset).data_files)
    with pytest.raises(ValueError, match="RecordDataset with a decoder"):
        ThreadBatchLoader(raw, 2)
    with pytest.raises(ValueError, match="num_threads=-1"):
        ThreadBatchLoader(records, 2, num_threads=-1)


def test_mixed_shapes_in_one_batch_name_the_item(dataset):
    def uneven(image, label):
        return image[: 4 + int(label) % 3], label

    provider = DatasetDataProvider(dataset, num_epochs=1, shuffle=False)
    with pytest.raises(ValueError, match="Item 0 of the examples has different shapes"):
        list(provider.batch(["image", "label"], 4, num_threads=1, transform=uneven))


def test_non_tensor_items_are_collated_as_dataloader_does(dataset):
    provider = DatasetDataProvider(dataset, num_epochs=1, shuffle=False)
    keys, labels = next(iter(provider.batch(["record_key", "label"], 3, num_threads=1)))
    assert isinstance(keys, list) and keys[0].endswith("train-00000-of-00002:0") and labels.tolist() == [0, 2, 4]


def run_script(dataset, tmp_path, body: str) -> subprocess.CompletedProcess:
    """Runs ``body`` in a fresh interpreter after a prologue that defines ``provider``, a DatasetDataProvider over
    ``dataset``'s records (the int64 ``id`` feature as ``label``); asserts it exits cleanly."""
    script = tmp_path / "script.py"
    script.write_text(
        "import sys, torch\n"
        "from slim.data.dataset import Dataset\n"
        "from slim.data.dataset_data_provider import DatasetDataProvider\n"
        "from slim.data import tfexample_decoder as d\n"
        "decoder = d.TFExampleDecoder({'id': d.FixedLenFeature([], 'int64')}, {'label': d.Tensor('id')})\n"
        "provider = DatasetDataProvider(Dataset(sys.argv[1], None, decoder, 24, {}), seed=0)\n" + body
    )
    result = subprocess.run([sys.executable, str(script), dataset.data_sources], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_preprocessing_threads_leave_the_callers_torch_threads_alone(dataset, tmp_path):
    # torch.set_num_threads in a pool thread also changes the count of threads that have not used torch yet: run
    # in a fresh interpreter whose main thread has not, and check it keeps torch's default.
    result = run_script(
        dataset,
        tmp_path,
        "next(iter(provider.batch(['label'], 4, num_threads=2)))\nprint(torch.get_num_threads())\n",
    )
    default = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert result.stdout.split() == default.split()


def test_exiting_while_a_thread_is_inside_a_torch_op_is_clean(dataset, tmp_path):
    # A script that stops reading while the feeder thread is busy in torch (here: a slow collate_fn). As a daemon
    # thread the feeder was killed when its op returned during finalization, aborting the process (SIGABRT,
    # "terminate called without an active exception"); it must be stopped and joined before that instead.
    body = (
        "loader = provider.batch(['label'], 1)\n"
        "matrix = torch.randn(800, 800)\n"
        "def slow_collate(examples):\n"
        "    for _ in range(10):\n"
        "        torch.mm(matrix, matrix)\n"
        "    return examples\n"
        "loader.collate_fn = slow_collate\n"
        "next(iter(loader))\n"
        "print('read one batch')\n"
    )
    for _ in range(2):
        assert run_script(dataset, tmp_path, body).stdout.strip() == "read one batch"
