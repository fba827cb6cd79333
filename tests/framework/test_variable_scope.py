"""Variable scopes: nesting, TF's default-name uniquification, reuse, and the errors that name the variable."""

import pytest
import torch

import slim


def names_of(fn, shape=(1, 3, 8, 8)):
    model = slim.Model(fn).build(torch.zeros(shape))
    return list(model.state_dict())


def test_default_names_are_uniquified():
    def fn(x):
        x = slim.conv2d(x, 4, 3)
        x = slim.conv2d(x, 4, 3)
        return slim.conv2d(x, 4, 3)

    assert [n for n in names_of(fn) if n.endswith("weights")] == ["Conv/weights", "Conv_1/weights", "Conv_2/weights"]


def test_nested_scopes_and_default_names_restart_per_scope():
    def fn(x):
        with slim.variable_scope("a"):
            x = slim.conv2d(x, 4, 3)
        with slim.variable_scope("b"):
            x = slim.conv2d(x, 4, 3)
            x = slim.conv2d(x, 4, 3)
        return x

    weights = [n for n in names_of(fn) if n.endswith("weights")]
    assert weights == ["a/Conv/weights", "b/Conv/weights", "b/Conv_1/weights"]


def test_reentering_a_scope_with_reuse_restarts_default_names():
    def fn(x):
        with slim.variable_scope("tower"):
            y1 = slim.conv2d(x, 4, 3)
        with slim.variable_scope("tower", reuse=True):
            y2 = slim.conv2d(x, 4, 3)
        return y1, y2

    model = slim.Model(fn).build(torch.zeros(1, 3, 8, 8))
    assert list(model.state_dict()) == ["tower/Conv/weights", "tower/Conv/biases"]
    y1, y2 = model(torch.randn(1, 3, 8, 8))
    assert torch.equal(y1, y2)


def test_default_name_scopes_uniquify():
    def fn(x):
        with slim.variable_scope(None, default_name="block"):
            x = slim.conv2d(x, 4, 1, scope="c")
        with slim.variable_scope(None, default_name="block"):
            x = slim.conv2d(x, 4, 1, scope="c")
        return x

    assert [n for n in names_of(fn) if n.endswith("weights")] == ["block/c/weights", "block_1/c/weights"]


def test_captured_scope_object_reentered_absolutely():
    def fn(x):
        with slim.variable_scope("outer") as outer:
            pass
        with slim.variable_scope("other"):
            with slim.variable_scope(outer):
                assert slim.get_variable_scope().name == "outer"
                return slim.conv2d(x, 2, 1, scope="c")

    assert names_of(fn) == ["outer/c/weights", "outer/c/biases"]


def test_scope_properties():
    with slim.variable_scope("vgg_16") as sc:
        assert sc.name == "vgg_16"
        assert sc.original_name_scope == "vgg_16/"
        assert sc.reuse is False
        with slim.variable_scope("inner", reuse=True) as inner:
            assert inner.reuse is True
            with slim.variable_scope("deeper") as deeper:
                assert deeper.reuse is True  # inherited
    assert slim.get_variable_scope().name == ""


def test_scope_used_twice_without_reuse_is_an_error():
    def fn(x):
        x = slim.conv2d(x, 4, 3, scope="conv1")
        return slim.conv2d(x, 4, 3, scope="conv1")

    with pytest.raises(ValueError, match="conv1/weights already exists.*reuse=True"):
        slim.Model(fn).build(torch.zeros(1, 3, 8, 8))


def test_reuse_of_missing_variable_is_an_error():
    def fn(x):
        return slim.conv2d(x, 4, 3, scope="conv1", reuse=True)

    with pytest.raises(ValueError, match="conv1/weights does not exist"):
        slim.Model(fn).build(torch.zeros(1, 3, 8, 8))


def test_shape_mismatch_on_reuse_is_an_error():
    def fn(x):
        slim.conv2d(x, 4, 3, scope="conv1")
        return slim.conv2d(x, 8, 3, scope="conv1", reuse=True)

    with pytest.raises(ValueError, match=r"conv1/weights exists with shape \(4, 3, 3, 3\).*\(8, 3, 3, 3\)"):
        slim.Model(fn).build(torch.zeros(1, 3, 8, 8))


def test_auto_reuse():
    def fn(x):
        a = slim.conv2d(x, 4, 3, scope="conv1", reuse=slim.AUTO_REUSE)
        b = slim.conv2d(x, 4, 3, scope="conv1", reuse=slim.AUTO_REUSE)
        return a, b

    model = slim.Model(fn).build(torch.zeros(1, 3, 8, 8))
    assert len(model.state_dict()) == 2


def test_reuse_true_without_name_is_an_error():
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with slim.variable_scope(None, default_name="x", reuse=True):
            pass


def test_stack_restored_after_exception():
    with pytest.raises(RuntimeError):
        with slim.variable_scope("a"):
            raise RuntimeError
    assert slim.get_variable_scope().name == ""


def test_unsupported_arguments_named():
    with pytest.raises(TypeError, match="initializer"):
        with slim.variable_scope("a", initializer=None):
            pass
