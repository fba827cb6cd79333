"""slim.data: generic data plumbing (how records are read and decoded).

TFRecord files (:mod:`~slim.data.tfrecord`), ``tf.train.Example`` protos (:mod:`~slim.data.example`), dataset
descriptions and decoders (:mod:`~slim.data.dataset`, :mod:`~slim.data.tfexample_decoder`), and providers that turn
them into ``torch.utils.data`` pipelines (:mod:`~slim.data.dataset_data_provider`). The concrete datasets (flowers,
cifar10, ...) live in :mod:`slim.datasets`.
"""

from slim.data import (
    batching,
    data_decoder,
    data_provider,
    dataset,
    dataset_data_provider,
    example,
    image_codec,
    parallel_reader,
    parsing,
    record_dataset,
    sharding,
    tfexample_decoder,
    tfrecord,
)
from slim.data.batching import batch
from slim.data.data_decoder import DataDecoder
from slim.data.data_provider import DataProvider
from slim.data.dataset import Dataset
from slim.data.dataset_data_provider import DatasetDataProvider
from slim.data.parallel_reader import get_data_files, parallel_read, single_pass_read
from slim.data.parsing import FixedLenFeature, FixedLenSequenceFeature, VarLenFeature
from slim.data.record_dataset import RecordDataset
from slim.data.tfexample_decoder import TFExampleDecoder
from slim.data.tfrecord import DataLossError, TFRecordReader, TFRecordWriter, tf_record_iterator

__all__ = [
    "batching",
    "data_decoder",
    "data_provider",
    "dataset",
    "dataset_data_provider",
    "example",
    "image_codec",
    "parallel_reader",
    "parsing",
    "record_dataset",
    "sharding",
    "tfexample_decoder",
    "tfrecord",
    "batch",
    "DataDecoder",
    "DataProvider",
    "Dataset",
    "DatasetDataProvider",
    "get_data_files",
    "parallel_read",
    "single_pass_read",
    "FixedLenFeature",
    "FixedLenSequenceFeature",
    "VarLenFeature",
    "RecordDataset",
    "TFExampleDecoder",
    "DataLossError",
    "TFRecordReader",
    "TFRecordWriter",
    "tf_record_iterator",
]
