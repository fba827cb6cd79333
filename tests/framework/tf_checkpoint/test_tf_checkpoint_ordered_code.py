"""Ordered code and slice keys: worked encodings, order preservation, and the keys of TF's own V1 checkpoint."""

import random
from pathlib import Path

import pytest

from slim.framework.tf_checkpoint import ordered_code as oc
from slim.framework.tf_checkpoint.protos import SavedTensorSlices
from slim.framework.tf_checkpoint.slices import decode_tensor_name_slice, encode_tensor_name_slice, extents_of
from slim.framework.tf_checkpoint.sstable import TableReader

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tf_checkpoint"


@pytest.mark.parametrize(
    "value, encoded",
    [
        (0, "80"),  # length 1: header bit 1, sign 0, six bits 000000
        (2, "82"),
        (63, "bf"),  # the largest value six bits hold
        (-1, "7f"),  # two's complement 0xff with the header bit flipped
        (-64, "40"),  # 0xc0 ^ 0x80
        (64, "c040"),  # length 2: 0x0040 with the top two bits set
        (-65, "3fbf"),  # 0xffbf with the top two bits flipped
    ],
)
def test_signed_num_increasing_worked_examples(value, encoded):
    assert oc.write_signed_num_increasing(value).hex() == encoded
    assert oc.read_signed_num_increasing(bytes.fromhex(encoded)) == (value, len(encoded) // 2)


def test_signed_num_increasing_preserves_order_over_the_int64_range():
    generator = random.Random(0)
    values = {generator.randint(-(2**63), 2**63 - 1) for _ in range(3000)}
    values |= {2**k + d for k in range(63) for d in (-1, 0, 1)} | {-(2**k) + d for k in range(64) for d in (-1, 0, 1)}
    values = sorted(v for v in values if -(2**63) <= v < 2**63)
    encoded = [oc.write_signed_num_increasing(v) for v in values]
    assert encoded == sorted(encoded)
    for value, data in zip(values, encoded):
        assert oc.read_signed_num_increasing(data + b"\x00\xff") == (value, len(data))
    assert len(oc.write_signed_num_increasing(-(2**63))) == len(oc.write_signed_num_increasing(2**63 - 1)) == 10


def test_num_increasing_worked_examples_and_order():
    assert oc.write_num_increasing(0) == b"\x00"
    assert oc.write_num_increasing(3) == b"\x01\x03"
    assert oc.write_num_increasing(256) == b"\x02\x01\x00"
    values = sorted({0, 1, 255, 256, 2**32, 2**64 - 1} | {random.Random(1).getrandbits(64) for _ in range(500)})
    encoded = [oc.write_num_increasing(v) for v in values]
    assert encoded == sorted(encoded)
    assert [oc.read_num_increasing(e)[0] for e in encoded] == values


def test_string_escapes_and_order():
    assert oc.write_string(b"a\x00b\xffc") == b"a\x00\xffb\xff\x00c\x00\x01"
    strings = sorted([b"", b"\x00", b"\x00\x00", b"\x00\xff", b"\xff", b"\xff\x00", b"a", b"a\x00", b"ab", b"b"])
    encoded = [oc.write_string(s) for s in strings]
    assert encoded == sorted(encoded)
    for s, e in zip(strings, encoded):
        assert oc.read_string(e + b"tail") == (s, len(e))


def test_string_without_terminator_is_an_error():
    with pytest.raises(ValueError, match="terminator"):
        oc.read_string(b"abc")


def test_slice_key_round_trip():
    extents = ((0, -1), (2, 3), (0, 5))
    key = encode_tensor_name_slice("scope/w\u00e9ights", extents)
    assert decode_tensor_name_slice(key) == ("scope/w\u00e9ights", extents)
    # num(0) . string . num(3) . 80 7f . 82 83 . 80 85
    assert key == b"\x00" + "scope/w\u00e9ights".encode() + b"\x00\x01\x01\x03\x80\x7f\x82\x83\x80\x85"


def test_keys_of_tf_v1_checkpoint_decode_to_the_slices_its_metadata_lists():
    """Every data key TF wrote equals our encoding of the (name, slice) its record holds."""
    table = TableReader(FIXTURES / "tf_v1" / "model.ckpt")
    seen = 0
    for key, value in table.items():
        record = SavedTensorSlices()
        record.ParseFromString(value)
        if key == b"":
            assert record.HasField("meta")
            continue
        name, extents = decode_tensor_name_slice(key)
        assert name == record.data.name
        assert extents == extents_of(record.data.slice)
        assert encode_tensor_name_slice(name, extents) == key
        seen += 1
    assert seen == 12 + 3 + 2  # 12 whole variables (all but bf16), partitions of part/ and part_cols/
