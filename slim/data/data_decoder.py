"""The interface every record decoder implements (TF-Slim's ``data_decoder.DataDecoder``)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

__all__ = ["DataDecoder"]


class DataDecoder(abc.ABC):
    """Turns one serialized record into named items (``image``, ``label``, ...).

    A :class:`slim.data.dataset.Dataset` pairs a reader (which yields records) with a decoder (which knows their
    format); :class:`slim.data.dataset_data_provider.DatasetDataProvider` runs both.
    """

    @abc.abstractmethod
    def decode(self, data: Any, items: Sequence[str] | None = None) -> list[Any]:
        """Decodes ``data`` into the requested ``items`` (all items when None), returned in that order."""

    @abc.abstractmethod
    def list_items(self) -> list[str]:
        """The names of the items this decoder can produce."""
