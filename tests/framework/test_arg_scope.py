"""arg_scope: TF-Slim's semantics plus the two fixes (explicit arguments win; unknown keywords fail early)."""

import pytest

import slim


@slim.add_arg_scope
def func1(*args, **kwargs):
    return (args, kwargs)


@slim.add_arg_scope
def func2(a, b=1, c=2, d=3):
    return dict(a=a, b=b, c=c, d=d)


def undecorated(x, y=1):
    return x


def test_empty_arg_scope():
    with slim.arg_scope([]) as sc:
        assert sc == {}


def test_current_arg_scope():
    func1_kwargs = {"a": 1, "b": None, "c": [1]}
    key = slim.arg_scope_func_key(func1)
    with slim.arg_scope([func1], a=1, b=None, c=[1]) as scope:
        assert slim.current_arg_scope() == {key: func1_kwargs}
        assert scope == {key: func1_kwargs}


def test_scope_defaults_apply_and_explicit_kwargs_win():
    with slim.arg_scope([func1], a=1, b=None, c=[1]):
        args, kwargs = func1(0)
        assert args == (0,)
        assert kwargs == {"a": 1, "b": None, "c": [1]}
        _, kwargs = func1(0, b=2)
        assert kwargs == {"a": 1, "b": 2, "c": [1]}


def test_explicit_positional_argument_wins_over_scope():
    # TF-Slim would pass b twice (a TypeError); here the positional value wins.
    with slim.arg_scope([func2], b=10, c=20):
        assert func2(0, 5) == {"a": 0, "b": 5, "c": 20, "d": 3}


def test_inner_scope_merges_per_key():
    with slim.arg_scope([func2], b=10, c=20):
        with slim.arg_scope([func2], c=30, d=40):
            assert func2(0) == {"a": 0, "b": 10, "c": 30, "d": 40}
        assert func2(0) == {"a": 0, "b": 10, "c": 20, "d": 3}
    assert func2(0) == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_reenter_saved_scope_replaces_current():
    with slim.arg_scope([func2], b=10) as saved:
        pass
    with slim.arg_scope([func2], c=99):
        with slim.arg_scope(saved):
            assert func2(0) == {"a": 0, "b": 10, "c": 2, "d": 3}
        assert func2(0)["c"] == 99


def test_reenter_saved_scope_with_kwargs_fails():
    with slim.arg_scope([func2], b=10) as saved:
        pass
    with pytest.raises(ValueError, match="saved scope"):
        with slim.arg_scope(saved, c=1):
            pass


def test_undecorated_op_is_an_error():
    with pytest.raises(ValueError, match="undecorated.*add_arg_scope"):
        with slim.arg_scope([undecorated], y=2):
            pass


def test_unknown_keyword_is_an_error_at_entry():
    with pytest.raises(ValueError, match=r"func2\(\) does not accept the keyword argument\(s\) \['e'\]"):
        with slim.arg_scope([func2], e=1):
            pass
    with pytest.raises(ValueError, match="convolution2d.*padidng"):
        with slim.arg_scope([slim.conv2d], padidng="SAME"):
            pass


def test_var_kwargs_function_accepts_anything():
    with slim.arg_scope([func1], anything=1):
        assert func1()[1] == {"anything": 1}


def test_bad_type_is_type_error():
    with pytest.raises(TypeError):
        with slim.arg_scope("conv2d", a=1):
            pass


def test_scope_popped_on_exception():
    with pytest.raises(RuntimeError):
        with slim.arg_scope([func2], b=10):
            raise RuntimeError("boom")
    assert slim.current_arg_scope() == {}


def test_has_and_scoped_arguments():
    assert slim.has_arg_scope(func2)
    assert not slim.has_arg_scope(undecorated)
    assert slim.arg_scoped_arguments(func2) == ("b", "c", "d")
    with pytest.raises(ValueError):
        slim.arg_scoped_arguments(undecorated)


def test_aliases_share_one_key():
    assert slim.arg_scope_func_key(slim.conv2d) == slim.arg_scope_func_key(slim.convolution2d)
    with slim.arg_scope([slim.conv2d], padding="VALID") as sc:
        assert slim.arg_scope_func_key(slim.convolution2d) in sc
