"""Masked CRC-32C, the checksum TF stores for SSTable blocks and V2 checkpoint tensors.

TF never stores a raw CRC-32C next to the data it covers: it stores a "masked" one (rotated right by 15 bits plus a
constant), because computing the CRC of a byte string that itself contains CRCs is otherwise degenerate.
"""

from __future__ import annotations

import google_crc32c

__all__ = ["crc32c", "crc32c_extend", "mask", "unmask", "masked_crc32c"]

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """The plain CRC-32C (Castagnoli) of ``data``."""
    return google_crc32c.value(data if isinstance(data, bytes) else bytes(data))


def crc32c_extend(crc: int, data: bytes | bytearray | memoryview) -> int:
    """Continues the CRC-32C ``crc`` over ``data`` (``crc32c(a + b) == crc32c_extend(crc32c(a), b)``)."""
    return google_crc32c.extend(crc, data if isinstance(data, bytes) else bytes(data))


def mask(crc: int) -> int:
    """TF's masking of a CRC-32C: rotate right by 15 bits, add a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """``mask(crc32c(data))``: the value TF writes next to ``data``."""
    return mask(crc32c(data))
