"""Protobuf message classes for TF's checkpoint records, declared at runtime (no TensorFlow, no generated code).

TensorBoard ships compiled ``TensorProto``, ``TensorShapeProto``, ``DataType`` and ``VersionDef``
(``tensorboard.compat.proto``), but not the checkpoint messages. They are declared here with ``descriptor_pb2`` —
same field numbers and types as TF's ``tensor_bundle.proto``, ``tensor_slice.proto``, ``saved_tensor_slice.proto``
and ``checkpoint_state.proto`` — so that protobuf itself parses and serialises them. Only the package name differs
(``slim.tf_checkpoint``), which the wire format never sees, and which keeps them from clashing with TF's own
classes if TensorFlow is imported in the same process.

Messages (field number in brackets):

- ``BundleHeaderProto`` (V2 index, key ``""``): num_shards [1], endianness [2] (LITTLE 0 / BIG 1), version [3].
- ``BundleEntryProto`` (V2 index, key = tensor name): dtype [1], shape [2], shard_id [3], offset [4], size [5],
  crc32c [6] (fixed32, masked), slices [7] (set for a tensor saved as slices; its data lies under slice keys).
- ``TensorSliceProto``: extent [1], each ``Extent`` start [2] and, in oneof ``has_length``, length [2]; an extent
  without length covers the whole dimension.
- ``SavedSliceMeta``: name [1], shape [2], type [3], slice [4]. ``SavedTensorSliceMeta``: tensor [1], versions [2].
- ``SavedSlice``: name [1], slice [2], data [3] (a ``TensorProto``). ``SavedTensorSlices`` (every V1 value): meta
  [1] (under key ``""`` only), data [2].
- ``CheckpointState`` (the ``checkpoint`` text file): model_checkpoint_path [1], all_model_checkpoint_paths [2],
  all_model_checkpoint_timestamps [3], last_preserved_timestamp [4].
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2, versions_pb2

__all__ = [
    "TensorProto",
    "TensorShapeProto",
    "VersionDef",
    "DataType",
    "BundleHeaderProto",
    "BundleEntryProto",
    "TensorSliceProto",
    "SavedSliceMeta",
    "SavedTensorSliceMeta",
    "SavedSlice",
    "SavedTensorSlices",
    "CheckpointState",
]

TensorProto = tensor_pb2.TensorProto
TensorShapeProto = tensor_shape_pb2.TensorShapeProto
VersionDef = versions_pb2.VersionDef
DataType = types_pb2.DataType

_FILE_NAME = "slim/framework/tf_checkpoint/checkpoint_records.proto"
_PACKAGE = "slim.tf_checkpoint"
_F = descriptor_pb2.FieldDescriptorProto

# Short names for the field kinds used below: (type, type_name or None).
_INT32 = (_F.TYPE_INT32, None)
_INT64 = (_F.TYPE_INT64, None)
_FIXED32 = (_F.TYPE_FIXED32, None)
_DOUBLE = (_F.TYPE_DOUBLE, None)
_STRING = (_F.TYPE_STRING, None)


def _message(full_name: str) -> tuple[int, str]:
    return _F.TYPE_MESSAGE, full_name


def _enum(full_name: str) -> tuple[int, str]:
    return _F.TYPE_ENUM, full_name


def _add_fields(message: descriptor_pb2.DescriptorProto, fields: list[tuple]) -> None:
    """Adds ``(name, number, (type, type_name), repeated[, oneof_index])`` fields to ``message``."""
    for name, number, (field_type, type_name), repeated, *oneof in fields:
        field = message.field.add(name=name, number=number, type=field_type)
        field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
        if type_name is not None:
            field.type_name = type_name
        if oneof:
            field.oneof_index = oneof[0]


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    own = f".{_PACKAGE}."
    shape = _message("." + TensorShapeProto.DESCRIPTOR.full_name)
    dtype = _enum("." + types_pb2.DESCRIPTOR.enum_types_by_name["DataType"].full_name)
    tensor = _message("." + TensorProto.DESCRIPTOR.full_name)
    version = _message("." + VersionDef.DESCRIPTOR.full_name)

    proto = descriptor_pb2.FileDescriptorProto(name=_FILE_NAME, package=_PACKAGE, syntax="proto3")
    proto.dependency.extend(
        [
            TensorShapeProto.DESCRIPTOR.file.name,
            types_pb2.DESCRIPTOR.name,
            TensorProto.DESCRIPTOR.file.name,
            VersionDef.DESCRIPTOR.file.name,
        ]
    )

    header = proto.message_type.add(name="BundleHeaderProto")
    endianness = header.enum_type.add(name="Endianness")
    endianness.value.add(name="LITTLE", number=0)
    endianness.value.add(name="BIG", number=1)
    _add_fields(
        header,
        [
            ("num_shards", 1, _INT32, False),
            ("endianness", 2, _enum(own + "BundleHeaderProto.Endianness"), False),
            ("version", 3, version, False),
        ],
    )

    slice_proto = proto.message_type.add(name="TensorSliceProto")
    extent = slice_proto.nested_type.add(name="Extent")
    extent.oneof_decl.add(name="has_length")
    _add_fields(extent, [("start", 1, _INT64, False), ("length", 2, _INT64, False, 0)])
    _add_fields(slice_proto, [("extent", 1, _message(own + "TensorSliceProto.Extent"), True)])

    entry = proto.message_type.add(name="BundleEntryProto")
    _add_fields(
        entry,
        [
            ("dtype", 1, dtype, False),
            ("shape", 2, shape, False),
            ("shard_id", 3, _INT32, False),
            ("offset", 4, _INT64, False),
            ("size", 5, _INT64, False),
            ("crc32c", 6, _FIXED32, False),
            ("slices", 7, _message(own + "TensorSliceProto"), True),
        ],
    )

    slice_meta = proto.message_type.add(name="SavedSliceMeta")
    _add_fields(
        slice_meta,
        [
            ("name", 1, _STRING, False),
            ("shape", 2, shape, False),
            ("type", 3, dtype, False),
            ("slice", 4, _message(own + "TensorSliceProto"), True),
        ],
    )
    meta = proto.message_type.add(name="SavedTensorSliceMeta")
    _add_fields(meta, [("tensor", 1, _message(own + "SavedSliceMeta"), True), ("versions", 2, version, False)])
    saved_slice = proto.message_type.add(name="SavedSlice")
    _add_fields(
        saved_slice,
        [
            ("name", 1, _STRING, False),
            ("slice", 2, _message(own + "TensorSliceProto"), False),
            ("data", 3, tensor, False),
        ],
    )
    slices = proto.message_type.add(name="SavedTensorSlices")
    _add_fields(
        slices,
        [
            ("meta", 1, _message(own + "SavedTensorSliceMeta"), False),
            ("data", 2, _message(own + "SavedSlice"), False),
        ],
    )

    state = proto.message_type.add(name="CheckpointState")
    _add_fields(
        state,
        [
            ("model_checkpoint_path", 1, _STRING, False),
            ("all_model_checkpoint_paths", 2, _STRING, True),
            ("all_model_checkpoint_timestamps", 3, _DOUBLE, True),
            ("last_preserved_timestamp", 4, _DOUBLE, False),
        ],
    )
    return proto


def _load_classes() -> dict[str, type]:
    pool = descriptor_pool.Default()
    try:
        file_descriptor = pool.FindFileByName(_FILE_NAME)
    except KeyError:
        file_descriptor = pool.Add(_file_descriptor())
        if file_descriptor is None:  # older protobuf: Add returns nothing
            file_descriptor = pool.FindFileByName(_FILE_NAME)
    return {
        name: message_factory.GetMessageClass(descriptor)
        for name, descriptor in file_descriptor.message_types_by_name.items()
    }


_CLASSES = _load_classes()
BundleHeaderProto = _CLASSES["BundleHeaderProto"]
BundleEntryProto = _CLASSES["BundleEntryProto"]
TensorSliceProto = _CLASSES["TensorSliceProto"]
SavedSliceMeta = _CLASSES["SavedSliceMeta"]
SavedTensorSliceMeta = _CLASSES["SavedTensorSliceMeta"]
SavedSlice = _CLASSES["SavedSlice"]
SavedTensorSlices = _CLASSES["SavedTensorSlices"]
CheckpointState = _CLASSES["CheckpointState"]
