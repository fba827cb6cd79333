"""slim.evaluation: evaluate_once, the loop that follows new checkpoints, and the iterators."""

import threading
import time

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import slim
from slim import evaluation, summaries
from slim.framework import checkpoint as ckpt


def build():
    torch.manual_seed(0)
    return slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc")).build(torch.zeros(1, 2))


def save(model, directory, step, value):
    state = {k: torch.full_like(v, float(value)) for k, v in model.state_dict().items()}
    return ckpt.save_checkpoint(directory / f"model.ckpt-{step}", state, {"global_step": step})


def test_evaluate_once_restores_runs_and_writes_summaries(tmp_path):
    model = build()
    save(model, tmp_path, 12, 2.0)
    batches = iter([torch.ones(3, 2), torch.ones(4, 2), torch.ones(5, 2)])
    seen = []

    def eval_op():
        seen.append(model(next(batches)).sum().item())

    result = evaluation.evaluate_once(
        "",
        str(tmp_path),
        str(tmp_path / "eval"),
        num_evals=5,
        initial_op=seen.clear,
        eval_op=eval_op,
        final_op=lambda: sum(seen),
        summary_op=lambda: [summaries.add_scalar_summary(torch.tensor(sum(seen)), name="eval/Total")],
        model=model,
    )
    # Weights 2, bias 2: each row gives 2 + 2 + 2 = 6; the input ends after 3 batches (12 rows).
    assert seen == [18.0, 24.0, 30.0] and result == 72.0
    events = EventAccumulator(str(tmp_path / "eval"))
    events.Reload()
    assert events.Scalars("eval/Total")[0].step == 12 and events.Scalars("eval/Total")[0].value == 72.0


def test_checkpoint_global_step():
    assert evaluation.checkpoint_global_step("/nowhere/model.ckpt-345") == 345


def test_wait_for_new_checkpoint_times_out(tmp_path):
    start = time.time()
    assert evaluation.wait_for_new_checkpoint(str(tmp_path), seconds_to_sleep=0.05, timeout=0.2) is None
    assert time.time() - start < 2


def test_loop_picks_up_a_checkpoint_written_after_it_started(tmp_path):
    model = build()
    save(model, tmp_path, 1, 1.0)
    results = []

    def writer():
        time.sleep(0.5)
        save(model, tmp_path, 2, 3.0)

    thread = threading.Thread(target=writer)
    thread.start()
    final = evaluation.evaluation_loop(
        "",
        str(tmp_path),
        None,
        num_evals=1,
        eval_op=lambda: results.append(model(torch.ones(1, 2)).item()),
        final_op=lambda: results[-1],
        eval_interval_secs=0,
        max_number_of_evaluations=2,
        timeout=10,
        model=model,
    )
    thread.join()
    assert results == [3.0, 9.0] and final == 9.0  # w=1,b=1 -> 1+1+1; then w=3,b=3 -> 9


def test_iterator_timeout_fn_decides(tmp_path):
    calls = []

    def timeout_fn():
        calls.append(1)
        return len(calls) >= 2

    assert list(evaluation.checkpoints_iterator(str(tmp_path), timeout=0.1, timeout_fn=timeout_fn)) == []
    assert len(calls) == 2


def test_missing_checkpoint_and_master():
    with pytest.raises(ValueError, match="master"):
        evaluation.evaluate_once("grpc://x", "/nowhere", None)
