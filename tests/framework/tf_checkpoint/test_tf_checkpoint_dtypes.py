"""How V1 ``TensorProto`` typed fields map to numpy (the fields TF's tensor.proto documents for each dtype)."""

import numpy as np
import pytest

from slim.framework.tf_checkpoint.dtypes import dtype_info, tensor_proto_to_array
from slim.framework.tf_checkpoint.errors import CheckpointFormatError
from slim.framework.tf_checkpoint.protos import DataType, TensorProto


def _info(name):
    return dtype_info(DataType.Value(name), "test")


def test_half_val_holds_float16_bit_patterns():
    values = np.array([1.5, -2.0, 65504.0], np.float16)
    proto = TensorProto(half_val=values.view(np.uint16).tolist())
    np.testing.assert_array_equal(tensor_proto_to_array(proto, _info("DT_HALF"), [3], "test"), values)


def test_half_val_holds_bfloat16_bit_patterns_returned_as_float32():
    values = np.array([1.5, -2.0, 3.140625], np.float32)  # exactly representable in bfloat16
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)
    proto = TensorProto(half_val=bits.tolist())
    got = tensor_proto_to_array(proto, _info("DT_BFLOAT16"), [3], "test")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


def test_complex_values_are_interleaved_real_imaginary():
    proto = TensorProto(scomplex_val=[1.0, 2.0, -3.0, 0.5])
    got = tensor_proto_to_array(proto, _info("DT_COMPLEX64"), [2], "test")
    assert got.dtype == np.complex64
    np.testing.assert_array_equal(got, [1 + 2j, -3 + 0.5j])


def test_tensor_content_takes_precedence_over_typed_fields():
    values = np.arange(6, dtype=np.int32).reshape(2, 3)
    proto = TensorProto(tensor_content=values.astype("<i4").tobytes())
    np.testing.assert_array_equal(tensor_proto_to_array(proto, _info("DT_INT32"), [2, 3], "test"), values)


def test_dtype_disagreeing_with_metadata():
    proto = TensorProto(dtype=DataType.Value("DT_DOUBLE"), double_val=[1.0])
    with pytest.raises(CheckpointFormatError, match="stored values have dtype DT_DOUBLE, the metadata says float32"):
        tensor_proto_to_array(proto, _info("DT_FLOAT"), [1], "test")
