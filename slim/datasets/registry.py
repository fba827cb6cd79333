"""The dataset registry: each dataset module registers its ``get_split`` with :func:`register_dataset` where it is
defined, and :mod:`slim.datasets.dataset_factory` looks names up here (one table, no hand-kept parallel dict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_dataset", "get_split_fn", "dataset_names", "registry"]

GetSplit = Callable[..., Any]

registry: dict[str, GetSplit] = {}


def register_dataset(name: str) -> Callable[[GetSplit], GetSplit]:
    """Decorator registering a ``get_split(split_name, dataset_dir, file_pattern=None, reader=None)`` under ``name``.

    Example::

        @register_dataset("flowers")
        def get_split(split_name, dataset_dir, file_pattern=None, reader=None): ...
    """

    def decorate(get_split: GetSplit) -> GetSplit:
        if name in registry and registry[name] is not get_split:
            raise ValueError(
                f"Dataset {name!r} is registered twice ({registry[name].__module__} and {get_split.__module__})."
            )
        registry[name] = get_split
        return get_split

    return decorate


def dataset_names() -> list[str]:
    """The registered dataset names, sorted."""
    return sorted(registry)


def get_split_fn(name: str) -> GetSplit:
    """The ``get_split`` function registered as ``name``.

    Raises:
      ValueError: TF-Slim's "Name of dataset unknown ..." message, followed by the known names.
    """
    if name not in registry:
        raise ValueError(f"Name of dataset unknown {name}. Known datasets: {', '.join(dataset_names())}.")
    return registry[name]
