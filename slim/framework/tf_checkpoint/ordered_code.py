"""TF's "ordered code": byte encodings of strings and integers whose bytewise order equals the values' order.

TF names the stored slices of a tensor (every tensor of a V1 checkpoint, the partitions of a partitioned variable in
a V2 checkpoint) by an ordered-code key, so that all slices of one tensor sort together in the SSTable. Three
encodings are used:

- ``num_increasing`` (unsigned): one length byte, then the value big-endian without leading zero bytes
  (``0 -> 00``, ``3 -> 01 03``, ``256 -> 02 01 00``).
- ``string``: the bytes with ``00`` escaped as ``00 ff`` and ``ff`` escaped as ``ff 00``, terminated by ``00 01``.
- ``signed_num_increasing``: two's complement big-endian in the fewest bytes L such that the value fits in
  ``7 * L - 1`` bits, with the top L bits flipped. A non-negative value thus starts with L one-bits then a zero, a
  negative one with L zero-bits then a one, which makes the length readable from the first bytes
  (``0 -> 80``, ``-1 -> 7f``, ``2 -> 82``, ``64 -> c0 40``).
"""

from __future__ import annotations

import re

__all__ = [
    "write_num_increasing",
    "read_num_increasing",
    "write_string",
    "read_string",
    "write_signed_num_increasing",
    "read_signed_num_increasing",
]

_MAX_SIGNED_LENGTH = 10  # 70 bits of room for a 64-bit value plus the header
_ESCAPES = re.compile(b"[\\x00\\xff]")
_ESCAPED = {b"\x00": b"\x00\xff", b"\xff": b"\xff\x00"}


def write_num_increasing(value: int) -> bytes:
    """Encodes an unsigned 64-bit integer."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"write_num_increasing: value must be in [0, 2**64), got {value}.")
    payload = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes([len(payload)]) + payload


def read_num_increasing(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Decodes :func:`write_num_increasing` at ``data[pos]``; returns ``(value, next_pos)``."""
    if pos >= len(data):
        raise ValueError("read_num_increasing: no bytes left to decode.")
    length = data[pos]
    if length > 8 or pos + 1 + length > len(data):
        raise ValueError(f"read_num_increasing: bad length byte {length} at offset {pos}.")
    return int.from_bytes(data[pos + 1 : pos + 1 + length], "big"), pos + 1 + length


def write_string(value: bytes) -> bytes:
    """Encodes a byte string (escaping ``00`` and ``ff``, then the ``00 01`` terminator)."""
    return _ESCAPES.sub(lambda match: _ESCAPED[match.group()], value) + b"\x00\x01"


def read_string(data: bytes, pos: int = 0) -> tuple[bytes, int]:
    """Decodes :func:`write_string` at ``data[pos]``; returns ``(value, next_pos)``."""
    out = bytearray()
    while pos + 1 < len(data):
        byte = data[pos]
        if byte not in (0x00, 0xFF):
            out.append(byte)
            pos += 1
            continue
        following = data[pos + 1]
        if byte == 0x00 and following == 0x01:
            return bytes(out), pos + 2
        if byte == 0x00 and following == 0xFF:
            out.append(0x00)
        elif byte == 0xFF and following == 0x00:
            out.append(0xFF)
        else:
            raise ValueError(f"read_string: invalid escape {byte:02x} {following:02x} at offset {pos}.")
        pos += 2
    raise ValueError("read_string: the string has no 00 01 terminator.")


def _signed_length(value: int) -> int:
    magnitude = ~value if value < 0 else value  # bits needed besides the sign
    return magnitude.bit_length() // 7 + 1  # smallest L with 7 * L - 1 >= bits


def write_signed_num_increasing(value: int) -> bytes:
    """Encodes a signed 64-bit integer."""
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f"write_signed_num_increasing: value must fit in 64 bits, got {value}.")
    length = _signed_length(value)
    header = ((1 << length) - 1) << (7 * length)  # the top `length` bits of 8 * length
    encoded = int.from_bytes(value.to_bytes(length, "big", signed=True), "big") ^ header
    return encoded.to_bytes(length, "big")


def read_signed_num_increasing(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Decodes :func:`write_signed_num_increasing` at ``data[pos]``; returns ``(value, next_pos)``."""
    if pos >= len(data):
        raise ValueError("read_signed_num_increasing: no bytes left to decode.")
    negative = not data[pos] & 0x80
    # The length is the number of leading bits that differ from the sign bit that follows them: count the leading
    # ones of the first two bytes (inverted for a negative value; a header is at most 10 bits long).
    pad = b"\xff" if negative else b"\x00"  # padding that cannot extend the run of header bits
    first_two = int.from_bytes(data[pos : pos + 2].ljust(2, pad), "big")
    if negative:
        first_two ^= 0xFFFF
    length = 0
    while length < 16 and first_two & (0x8000 >> length):
        length += 1
    if not 1 <= length <= _MAX_SIGNED_LENGTH or pos + length > len(data):
        raise ValueError(f"read_signed_num_increasing: bad header at offset {pos}.")
    header = ((1 << length) - 1) << (7 * length)
    encoded = int.from_bytes(data[pos : pos + length], "big") ^ header
    return int.from_bytes(encoded.to_bytes(length, "big"), "big", signed=True), pos + length
