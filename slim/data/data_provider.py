"""The interface of data providers: named items of one example (TF-Slim's ``data_provider.DataProvider``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DataProvider"]


class DataProvider:
    """Provides the items of an example by name.

    Args:
      items_to_tensors: ``{item name: value}``.
      num_samples: Number of examples the provider covers (None when unknown).

    Example::

        provider = DataProvider({"image": image, "label": label}, num_samples=1)
        image, label = provider.get(["image", "label"])
    """

    def __init__(self, items_to_tensors: Mapping[str, Any], num_samples: int | None) -> None:
        self._items_to_tensors = dict(items_to_tensors)
        self._num_samples = num_samples

    def get(self, items: Sequence[str]) -> list[Any]:
        """The values of ``items``, in that order.

        Raises:
          ValueError: an item is not provided.
        """
        if isinstance(items, str):
            raise ValueError(f"get() takes a list of item names, got the string {items!r}; use get([{items!r}]).")
        unknown = [item for item in items if item not in self._items_to_tensors]
        if unknown:
            raise ValueError(f"Items {unknown} are not provided; the provider has {self.list_items()}.")
        return [self._items_to_tensors[item] for item in items]

    def list_items(self) -> list[str]:
        """The names of the items this provider has."""
        return list(self._items_to_tensors)

    def num_samples(self) -> int | None:
        """The number of examples."""
        return self._num_samples
