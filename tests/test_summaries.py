"""slim.summaries: recording in the pass's collection and writing with TensorBoard's writer."""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

import slim
from slim import summaries


def test_record_and_write(tmp_path, capsys):
    with slim.collection_scope():
        summaries.add_scalar_summary(torch.tensor(1.5), name="loss", prefix="losses", print_summary=True)
        summaries.add_histogram_summary(torch.randn(100), name="acts")
        summaries.add_zero_fraction_summary(torch.tensor([0.0, 1.0, 0.0, 2.0]), name="relu")
        summaries.add_image_summary(torch.rand(2, 3, 8, 8), name="images")
        summaries.add_scalar_summaries({"a": 1.0, "b": 2.0}, prefix="p")
        recorded = summaries.get_summaries()
        assert [s.tag for s in recorded] == [
            "losses/loss",
            "acts",
            "relu/Fraction_of_Zero_Values",
            "images",
            "p/a",
            "p/b",
        ]
        writer = SummaryWriter(str(tmp_path))
        summaries.write_summaries(writer, global_step=3)
        writer.close()
    assert "losses/loss[1.5]" in capsys.readouterr().out
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert events.Scalars("losses/loss")[0].value == 1.5 and events.Scalars("losses/loss")[0].step == 3
    assert events.Scalars("relu/Fraction_of_Zero_Values")[0].value == 0.5
    assert "acts" in events.Tags()["histograms"] and "images" in events.Tags()["images"]
    with slim.collection_scope():
        assert summaries.get_summaries() == []


def test_summaries_made_inside_a_model_reach_the_caller():
    def fn(x):
        y = slim.conv2d(x, 2, 1)
        summaries.add_histogram_summary(y, name="activations/Conv")
        return y

    model = slim.Model(fn).build(torch.zeros(1, 1, 2, 2))
    with slim.collection_scope():
        model(torch.zeros(1, 1, 2, 2))
        assert [s.tag for s in summaries.get_summaries()] == ["activations/Conv"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="expected a scalar"):
        summaries.add_scalar_summary(torch.ones(2), name="x")
    with pytest.raises(ValueError, match=r"expected \[N, C, H, W\]"):
        summaries.add_image_summary(torch.ones(2, 5, 4, 4), name="x")
