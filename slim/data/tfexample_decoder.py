"""Decodes ``tf.train.Example`` records into named items with item handlers (TF-Slim's ``tfexample_decoder``).

A :class:`TFExampleDecoder` first parses a record with ``parse_single_example`` semantics using ``keys_to_features``
(see :mod:`slim.data.parsing`), then each item's handler turns the parsed values it needs into the item: an image,
a label, bounding boxes. Numeric items come back as torch tensors; images are ``[H, W, C]`` as TensorFlow gives them
(preprocessing converts to CHW). String items stay ``bytes`` (or numpy object arrays).

Handlers receive ``keys_to_tensors``: numpy arrays, ``bytes`` for scalar strings and
:class:`slim.data.parsing.SparseTensorValue` for var-length features. :class:`ItemHandlerCallback` functions get the
same.

Example::

    keys_to_features = {
        "image/encoded": FixedLenFeature((), "string", default_value=""),
        "image/format": FixedLenFeature((), "string", default_value="jpeg"),
        "image/class/label": FixedLenFeature([], "int64", default_value=0),
    }
    items_to_handlers = {"image": Image(), "label": Tensor("image/class/label")}
    decoder = TFExampleDecoder(keys_to_features, items_to_handlers)
    image, label = decoder.decode(record, ["image", "label"])  # uint8 [H, W, 3], int64 []
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from slim.data import image_codec
from slim.data.data_decoder import DataDecoder
from slim.data.parsing import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    SparseTensorValue,
    VarLenFeature,
    parse_single_example,
)

__all__ = [
    "FixedLenFeature",
    "VarLenFeature",
    "FixedLenSequenceFeature",
    "ItemHandler",
    "ItemHandlerCallback",
    "Tensor",
    "LookupTensor",
    "BackupHandler",
    "SparseTensor",
    "Image",
    "BoundingBox",
    "TFExampleDecoder",
]

_TORCH_TO_NUMPY = {
    torch.uint8: np.uint8,
    torch.int8: np.int8,
    torch.int16: np.int16,
    torch.int32: np.int32,
    torch.int64: np.int64,
    torch.float16: np.float16,
    torch.float32: np.float32,
    torch.float64: np.float64,
}


def _numpy_dtype(dtype: Any, where: str) -> np.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in _TORCH_TO_NUMPY:
            raise ValueError(f"{where}: dtype {dtype} is not supported; use an integer or float dtype.")
        return np.dtype(_TORCH_TO_NUMPY[dtype])
    try:
        result = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"{where}: dtype {dtype!r} is not a numeric dtype (use e.g. torch.uint8).") from error
    if result.kind not in "iuf":
        raise ValueError(f"{where}: dtype {dtype!r} is not a numeric dtype (use e.g. torch.uint8).")
    return result


def _to_torch(value: Any) -> Any:
    """Numeric numpy arrays become torch tensors (sharing memory); strings stay as they are."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        if not value.flags.writeable:
            value = value.copy()
        return torch.from_numpy(value)
    return value


def _dense_values(value: Any) -> Any:
    """The values of a dense or sparse parsed feature (sparse → its ``values``)."""
    return value.values if isinstance(value, SparseTensorValue) else value


def _densify(sparse: SparseTensorValue, shape: Sequence[int] | None, default_value: Any, key: str) -> np.ndarray:
    """``sparse_tensor_to_dense`` (after ``sparse_reshape`` to ``shape`` when given)."""
    values = sparse.values
    dense_shape = tuple(int(d) for d in sparse.dense_shape)
    size = math.prod(dense_shape)
    if values.dtype == object:
        if isinstance(default_value, str):
            default_value = default_value.encode("utf-8")
        elif not isinstance(default_value, bytes):
            default_value = b""
    flat = np.full(size, default_value, dtype=values.dtype)
    if len(values):
        linear = np.ravel_multi_index(tuple(sparse.indices.T), dense_shape)
        flat[linear] = values
    try:
        return flat.reshape(tuple(shape) if shape is not None else dense_shape)
    except ValueError as error:
        raise ValueError(
            f"Key: {key}. Cannot reshape {size} values (dense shape {list(dense_shape)}) to {list(shape)}."
        ) from error


def _num_elements(item: Any) -> int:
    if isinstance(item, torch.Tensor):
        return item.numel()
    if isinstance(item, np.ndarray):
        return item.size
    if isinstance(item, (list, tuple)):
        return len(item)
    return 1  # bytes or a Python scalar: one element, like a TensorFlow scalar


class ItemHandler(abc.ABC):
    """Turns the parsed values of some Example keys into one item.

    Args:
      keys: The Example keys (``keys_to_features`` entries) this handler reads.
    """

    def __init__(self, keys: str | Sequence[str]) -> None:
        self._keys = [keys] if isinstance(keys, str) else list(keys)

    @property
    def keys(self) -> list[str]:
        return self._keys

    @abc.abstractmethod
    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        """The item made from ``{key: parsed value}`` for this handler's keys."""


class ItemHandlerCallback(ItemHandler):
    """An item computed by ``func(keys_to_tensors)`` from the parsed values of ``keys``."""

    def __init__(self, keys: str | Sequence[str], func: Callable[[Mapping[str, Any]], Any]) -> None:
        super().__init__(keys)
        self._func = func

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        return self._func(keys_to_tensors)


class Tensor(ItemHandler):
    """One feature as a tensor; var-length features are densified with ``default_value``.

    Args:
      tensor_key: The Example key.
      shape_keys: Keys whose values give the shape (e.g. ``['image/height', 'image/width']``), concatenated.
      shape: A fixed shape to reshape to. At most one of ``shape_keys`` and ``shape``.
      default_value: Fills the gaps when densifying a sparse feature.
    """

    def __init__(
        self,
        tensor_key: str,
        shape_keys: str | Sequence[str] | None = None,
        shape: Sequence[int] | None = None,
        default_value: Any = 0,
    ) -> None:
        if shape_keys and shape is not None:
            raise ValueError(f"Tensor({tensor_key!r}): pass shape_keys or shape, not both.")
        shape_keys = [shape_keys] if isinstance(shape_keys, str) else list(shape_keys or [])
        self._tensor_key = tensor_key
        self._shape_keys = shape_keys
        self._shape = None if shape is None else tuple(int(d) for d in shape)
        self._default_value = default_value
        super().__init__([tensor_key, *shape_keys])

    def _value(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        """The (numpy) value before conversion to torch."""
        tensor = keys_to_tensors[self._tensor_key]
        shape = self._shape
        if self._shape_keys:
            dims = [np.asarray(_dense_values(keys_to_tensors[key])).reshape(-1) for key in self._shape_keys]
            shape = tuple(int(d) for d in np.concatenate(dims))
        if isinstance(tensor, SparseTensorValue):
            return _densify(tensor, shape, self._default_value, self._tensor_key)
        if shape is not None:
            try:
                if isinstance(tensor, bytes):
                    tensor = np.array([tensor], dtype=object)
                tensor = np.reshape(tensor, shape)
            except ValueError as error:
                raise ValueError(
                    f"Key: {self._tensor_key}. Cannot reshape a value of shape {list(np.shape(tensor))} to "
                    f"{list(shape)}."
                ) from error
        return tensor

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        return _to_torch(self._value(keys_to_tensors))


class LookupTensor(Tensor):
    """A feature mapped through a lookup table (e.g. class names → ids).

    Args:
      tensor_key: The Example key.
      table: A mapping (``dict``; a ``defaultdict`` supplies a value for unknown keys), an object with a
        ``lookup(values)`` method, or a function of one value. Bytes keys are also tried as UTF-8 ``str``.
      shape_keys, shape: As for :class:`Tensor`.
      default_value: Fills the gaps when densifying a sparse feature (before the lookup).
    """

    def __init__(
        self,
        tensor_key: str,
        table: Any,
        shape_keys: str | Sequence[str] | None = None,
        shape: Sequence[int] | None = None,
        default_value: Any = "",
    ) -> None:
        super().__init__(tensor_key, shape_keys=shape_keys, shape=shape, default_value=default_value)
        self._table = table

    def _lookup_one(self, value: Any) -> Any:
        table = self._table
        if isinstance(table, Mapping):
            if value in table:
                return table[value]
            if isinstance(value, bytes):
                text = value.decode("utf-8", errors="replace")
                if text in table:
                    return table[text]
            try:
                return table[value]  # a defaultdict's default
            except KeyError:
                raise ValueError(
                    f"LookupTensor({self._tensor_key!r}): {value!r} is not in the lookup table; add it, or pass a "
                    "collections.defaultdict to give unknown values a default."
                ) from None
        return table(value)

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        value = self._value(keys_to_tensors)
        if hasattr(self._table, "lookup"):
            return _to_torch(np.asarray(self._table.lookup(value)))
        if isinstance(value, bytes):
            return _to_torch(np.asarray(self._lookup_one(value)))
        flat = [self._lookup_one(v) for v in np.asarray(value, dtype=object).reshape(-1)]
        array = np.asarray(flat)
        if array.dtype.kind in "US":
            array = np.asarray(flat, dtype=object)
        return _to_torch(array.reshape(np.shape(value)))


class BackupHandler(ItemHandler):
    """Uses ``handler``'s item unless it is empty (zero elements), then ``backup``'s."""

    def __init__(self, handler: ItemHandler, backup: ItemHandler) -> None:
        for name, value in (("handler", handler), ("backup", backup)):
            if not isinstance(value, ItemHandler):
                raise ValueError(f"BackupHandler: {name} must be an ItemHandler, got {type(value).__name__}.")
        self._handler = handler
        self._backup = backup
        super().__init__(list(dict.fromkeys(handler.keys + backup.keys)))

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        item = self._handler.tensors_to_item(keys_to_tensors)
        if _num_elements(item) == 0:
            return self._backup.tensors_to_item(keys_to_tensors)
        return item


class SparseTensor(ItemHandler):
    """A sparse tensor from an indices feature and a values feature (both var-length).

    The last index column is replaced by the ids in ``indices_key``'s values (TF-Slim's construction); for the usual
    1-D case the result has entries ``values[i]`` at ``ids[i]``.

    Args:
      indices_key: Example key of the ids (default ``'indices'``).
      values_key: Example key of the values (default ``'values'``).
      shape_key: Example key holding the dense shape.
      shape: A fixed dense shape (used when there is no ``shape_key``); otherwise the indices' own dense shape.
      densify: Return a dense tensor, filled with ``default_value``.
      default_value: See ``densify``.

    Returns (from ``tensors_to_item``):
      A ``torch.sparse_coo_tensor`` (numeric values), a dense tensor when ``densify``, or a
      :class:`~slim.data.parsing.SparseTensorValue` for string values.
    """

    def __init__(
        self,
        indices_key: str | None = None,
        values_key: str | None = None,
        shape_key: str | None = None,
        shape: Sequence[int] | None = None,
        densify: bool = False,
        default_value: Any = 0,
    ) -> None:
        self._indices_key = indices_key or "indices"
        self._values_key = values_key or "values"
        self._shape_key = shape_key
        self._shape = None if shape is None else [int(d) for d in shape]
        self._densify = densify
        self._default_value = default_value
        keys = [self._indices_key, self._values_key] + ([shape_key] if shape_key else [])
        super().__init__(keys)

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> Any:
        indices = keys_to_tensors[self._indices_key]
        values = keys_to_tensors[self._values_key]
        if not isinstance(indices, SparseTensorValue):
            raise ValueError(f"SparseTensor: {self._indices_key!r} must be parsed with VarLenFeature(int64).")
        if self._shape_key:
            shape = np.asarray(_dense_values(keys_to_tensors[self._shape_key]), dtype=np.int64).reshape(-1)
        elif self._shape is not None:
            shape = np.asarray(self._shape, dtype=np.int64)
        else:
            shape = indices.dense_shape
        rank = indices.indices.shape[1]
        ids = np.asarray(indices.values, dtype=np.int64).reshape(-1, 1)
        new_indices = np.concatenate([indices.indices[:, : rank - 1], ids], axis=1)
        value_array = np.asarray(_dense_values(values))
        if len(value_array) != len(new_indices):
            raise ValueError(
                f"SparseTensor: {self._indices_key!r} has {len(new_indices)} ids but {self._values_key!r} has "
                f"{len(value_array)} values; they must pair up."
            )
        dense_shape = tuple(int(d) for d in shape)
        if len(new_indices) and (np.any(new_indices < 0) or np.any(new_indices >= np.asarray(dense_shape))):
            raise ValueError(
                f"SparseTensor: ids in {self._indices_key!r} fall outside the dense shape {list(dense_shape)}."
            )
        sparse = SparseTensorValue(new_indices, value_array, np.asarray(dense_shape, dtype=np.int64))
        if self._densify:
            return _to_torch(_densify(sparse, None, self._default_value, self._values_key))
        if value_array.dtype == object:
            return sparse
        return torch.sparse_coo_tensor(
            torch.from_numpy(np.ascontiguousarray(new_indices.T)),
            torch.from_numpy(value_array.copy()),
            dense_shape,
            check_invariants=True,
        )


class Image(ItemHandler):
    """An image decoded from its encoded bytes and format: ``[H, W, channels]`` (``[N, H, W, C]`` if ``repeated``).

    ``format`` ``raw``/``RAW`` decodes the bytes as a flat array of ``dtype`` (``shape`` is then required); otherwise
    JPEG bytes are decoded as JPEG and PNG, GIF and BMP generically (the bytes decide, as in TF-Slim), then cast to
    ``dtype`` (a cast, not a rescale).

    Args:
      image_key: Example key of the encoded image (default ``'image/encoded'``).
      format_key: Example key of the format (default ``'image/format'``).
      shape: Reshape the decoded image to this shape.
      channels: 0 (as stored), 1 (grayscale), 3 (RGB) or 4 (RGBA, not JPEG).
      dtype: Output dtype (``torch.uint8`` by default); for ``raw`` images, the element type of the bytes.
      repeated: The key holds a list of images; decode each and stack them.
      dct_method: JPEG DCT: ``''``/``'INTEGER_ACCURATE'`` or ``'INTEGER_FAST'``.
    """

    def __init__(
        self,
        image_key: str | None = None,
        format_key: str | None = None,
        shape: Sequence[int] | None = None,
        channels: int = 3,
        dtype: Any = torch.uint8,
        repeated: bool = False,
        dct_method: str = "",
    ) -> None:
        self._image_key = image_key or "image/encoded"
        self._format_key = format_key or "image/format"
        if channels not in (0, 1, 3, 4):
            raise ValueError(f"Image({self._image_key!r}): channels={channels!r} must be 0, 1, 3 or 4.")
        self._shape = None if shape is None else tuple(int(d) for d in shape)
        self._channels = channels
        self._dtype = _numpy_dtype(dtype, f"Image({self._image_key!r})")
        self._repeated = repeated
        self._dct_method = dct_method
        super().__init__([self._image_key, self._format_key])

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> torch.Tensor:
        buffer = _dense_values(keys_to_tensors[self._image_key])
        image_format = _dense_values(keys_to_tensors[self._format_key])
        if not isinstance(image_format, bytes):
            flat = np.asarray(image_format, dtype=object).reshape(-1)
            image_format = flat[0] if len(flat) else b""
        if self._repeated:
            buffers = [buffer] if isinstance(buffer, bytes) else list(np.asarray(buffer, dtype=object).reshape(-1))
            images = [self._decode(b, image_format) for b in buffers]
            if not images:
                channels = self._channels or 3
                return torch.from_numpy(np.zeros((0, 0, 0, channels), dtype=self._dtype))
            try:
                return torch.from_numpy(np.stack(images))
            except ValueError as error:
                shapes = sorted({tuple(image.shape) for image in images})
                raise ValueError(
                    f"Image({self._image_key!r}, repeated=True): the images have different shapes {shapes}; give "
                    "shape= to make them agree."
                ) from error
        if not isinstance(buffer, bytes):
            flat = np.asarray(buffer, dtype=object).reshape(-1)
            if len(flat) != 1:
                raise ValueError(
                    f"Image({self._image_key!r}): expected one encoded image, got {len(flat)}; use repeated=True."
                )
            buffer = flat[0]
        return torch.from_numpy(self._decode(buffer, image_format))

    def _decode(self, buffer: bytes, image_format: bytes) -> np.ndarray:
        name = f"key {self._image_key!r} (image/format {image_format!r})"
        if image_format in (b"raw", b"RAW"):
            if self._shape is None:
                raise ValueError(f"Image({self._image_key!r}): raw images need shape= (e.g. [28, 28, 1]).")
            image = image_codec.decode_raw(buffer, self._dtype, name=name)
        else:
            image = image_codec.decode_image(buffer, self._channels, self._dct_method, name=name)
            if image.dtype != self._dtype:
                image = image.astype(self._dtype)
        if self._shape is not None:
            try:
                image = image.reshape(self._shape)
            except ValueError as error:
                raise ValueError(
                    f"Image({self._image_key!r}): cannot reshape the decoded image of shape {list(image.shape)} "
                    f"to {list(self._shape)}."
                ) from error
        return image


class BoundingBox(ItemHandler):
    """``[num_boxes, 4]`` float32 boxes from four coordinate lists (``ymin``, ``xmin``, ``ymax``, ``xmax``).

    Args:
      keys: The four coordinate names, in output column order (default ``['ymin', 'xmin', 'ymax', 'xmax']``).
      prefix: Prepended to each key, e.g. ``'image/object/bbox/'``.
    """

    def __init__(self, keys: Sequence[str] | None = None, prefix: str = "") -> None:
        keys = list(keys) if keys is not None else ["ymin", "xmin", "ymax", "xmax"]
        if len(keys) != 4:
            raise ValueError(f"BoundingBox expects 4 keys but got {len(keys)}: {keys}.")
        self._prefix = prefix
        self._full_keys = [prefix + key for key in keys]
        super().__init__(self._full_keys)

    def tensors_to_item(self, keys_to_tensors: Mapping[str, Any]) -> torch.Tensor:
        sides = [
            np.asarray(_dense_values(keys_to_tensors[key]), dtype=np.float32).reshape(-1, 1) for key in self._full_keys
        ]
        counts = {len(side) for side in sides}
        if len(counts) > 1:
            raise ValueError(
                f"BoundingBox: the coordinate lists {self._full_keys} have different lengths "
                f"{[len(side) for side in sides]}."
            )
        return torch.from_numpy(np.concatenate(sides, axis=1))


class TFExampleDecoder(DataDecoder):
    """Decodes serialized ``tf.train.Example`` records into items.

    Only the keys the requested items need are parsed (so a missing required key of an item you did not ask for is
    not an error, unlike TensorFlow, which parses every key).

    Args:
      keys_to_features: ``{Example key: FixedLenFeature | VarLenFeature | FixedLenSequenceFeature}``.
      items_to_handlers: ``{item name: ItemHandler}``.

    Raises:
      ValueError: a handler reads a key that ``keys_to_features`` does not describe.
    """

    def __init__(self, keys_to_features: Mapping[str, Any], items_to_handlers: Mapping[str, ItemHandler]) -> None:
        self._keys_to_features = dict(keys_to_features)
        self._items_to_handlers = dict(items_to_handlers)
        for item, handler in self._items_to_handlers.items():
            if not isinstance(handler, ItemHandler):
                raise ValueError(f"items_to_handlers[{item!r}] is a {type(handler).__name__}, not an ItemHandler.")
            missing = [key for key in handler.keys if key not in self._keys_to_features]
            if missing:
                raise ValueError(
                    f"Item {item!r} reads Example keys {missing} that keys_to_features does not describe; add them "
                    f"(known keys: {sorted(self._keys_to_features)})."
                )
        self._plans: dict[tuple[str, ...], dict[str, Any]] = {}

    @property
    def keys_to_features(self) -> dict[str, Any]:
        return self._keys_to_features

    @property
    def items_to_handlers(self) -> dict[str, ItemHandler]:
        return self._items_to_handlers

    def list_items(self) -> list[str]:
        return list(self._items_to_handlers)

    def _features_for(self, items: tuple[str, ...]) -> dict[str, Any]:
        plan = self._plans.get(items)
        if plan is None:
            unknown = [item for item in items if item not in self._items_to_handlers]
            if unknown:
                raise ValueError(f"Unknown items {unknown}; this decoder provides {self.list_items()}.")
            keys = dict.fromkeys(key for item in items for key in self._items_to_handlers[item].keys)
            plan = {key: self._keys_to_features[key] for key in keys}
            self._plans[items] = plan
        return plan

    def decode(self, serialized_example: bytes | Any, items: Sequence[str] | None = None) -> list[Any]:
        """Decodes one record.

        Args:
          serialized_example: The record bytes (or an ``Example`` proto).
          items: Item names to return, in this order; all items when None.

        Returns:
          The items, in the order of ``items``.
        """
        items = tuple(items) if items else tuple(self._items_to_handlers)
        parsed = parse_single_example(serialized_example, self._features_for(items))
        return [self._items_to_handlers[item].tensors_to_item(parsed) for item in items]
