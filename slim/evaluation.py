"""`slim.evaluation`: evaluate a checkpoint once, or follow a directory and evaluate each new checkpoint.

As in TF-Slim, an evaluation restores variables from a checkpoint, runs ``initial_op`` (e.g. reset the streaming
metrics), then ``eval_op`` ``num_evals`` times (each call consumes one batch; an exhausted input ends the loop
early), then ``final_op`` (e.g. the metric values), and writes ``summary_op``'s summaries into ``logdir`` at the
checkpoint's global step. Ops are callables here.

Checkpoints are only ever seen complete: ours are written to a temporary file and renamed, and the ``checkpoint``
index is updated after the file is in place, so the loop never reads a half-written checkpoint.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from slim import summaries as summaries_lib
from slim.framework import checkpoint as ckpt_lib
from slim.framework.restore import assign_from_checkpoint, open_any_checkpoint
from slim.framework.variables import get_variables_to_restore

__all__ = [
    "checkpoint_global_step",
    "evaluate_once",
    "evaluation_loop",
    "checkpoints_iterator",
    "wait_for_new_checkpoint",
]

logger = logging.getLogger("slim")


def _latest(checkpoint_dir: str) -> str | None:
    latest = ckpt_lib.latest_checkpoint(checkpoint_dir)
    if latest is None:
        try:
            from slim.framework import tf_checkpoint

            latest = tf_checkpoint.latest_checkpoint(checkpoint_dir)
        except (ImportError, FileNotFoundError, ValueError):
            latest = None
    return latest


def checkpoint_global_step(path: str) -> int:
    """The global step a checkpoint was written at (metadata, a ``global_step`` tensor, or the ``-N`` suffix)."""
    try:
        source = open_any_checkpoint(path)
        if not source.tf_layout:
            data = ckpt_lib.read_checkpoint(source.path)
            if "global_step" in data.metadata:
                return int(data.metadata["global_step"])
        if source.has("global_step"):
            return int(source.get("global_step").reshape(-1)[0])
    except (FileNotFoundError, ValueError):
        pass
    match = re.search(r"-(\d+)$", str(path))
    return int(match.group(1)) if match else 0


def wait_for_new_checkpoint(
    checkpoint_dir: str, last_checkpoint: str | None = None, seconds_to_sleep: float = 1, timeout: float | None = None
) -> str | None:
    """Polls ``checkpoint_dir`` until its latest checkpoint differs from ``last_checkpoint``; None on timeout."""
    logger.info("Waiting for new checkpoint at %s", checkpoint_dir)
    stop_time = time.time() + timeout if timeout is not None else None
    while True:
        latest = _latest(checkpoint_dir)
        if latest is not None and latest != last_checkpoint:
            logger.info("Found new checkpoint at %s", latest)
            return latest
        if stop_time is not None and time.time() + seconds_to_sleep > stop_time:
            return None
        time.sleep(seconds_to_sleep)


def checkpoints_iterator(
    checkpoint_dir: str,
    min_interval_secs: float = 0,
    timeout: float | None = None,
    timeout_fn: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """Yields each new latest checkpoint of ``checkpoint_dir`` (intermediate ones may be skipped).

    After ``timeout`` seconds without a new checkpoint, stops unless ``timeout_fn()`` returns False (then keeps
    waiting). Consecutive yields are at least ``min_interval_secs`` apart.
    """
    checkpoint = None
    while True:
        new_checkpoint = wait_for_new_checkpoint(checkpoint_dir, checkpoint, timeout=timeout)
        if new_checkpoint is None:
            if not timeout_fn:
                logger.info("Timed-out waiting for a checkpoint.")
                return
            if timeout_fn():
                return
            continue
        start = time.time()
        checkpoint = new_checkpoint
        yield checkpoint
        time_to_next_eval = start + min_interval_secs - time.time()
        if time_to_next_eval > 0:
            time.sleep(time_to_next_eval)


def _call(op: Any) -> Any:
    if op is None:
        return None
    if isinstance(op, (list, tuple)):
        return type(op)(_call(o) for o in op)
    if isinstance(op, dict):
        return {k: _call(v) for k, v in op.items()}
    return op() if callable(op) else op


def evaluate_once(
    master: str,
    checkpoint_path: str,
    logdir: str | None,
    num_evals: int | None = 1,
    initial_op: Any = None,
    eval_op: Any = None,
    final_op: Any = None,
    summary_op: Any = None,
    variables_to_restore: Any = None,
    hooks: Sequence[Callable[[int, int], Any]] | None = None,
    *,
    model: Any = None,
    progress: bool = False,
) -> Any:
    """Evaluates one checkpoint (see the module docstring) and returns ``final_op``'s value.

    Args:
      master: must be '' (TF's session target).
      checkpoint_path: a checkpoint prefix/file, or a directory (its latest checkpoint); ours or TF's.
      logdir: where the summaries are written (None: no summaries).
      num_evals: how many times to run ``eval_op`` (None: until the input is exhausted).
      initial_op, eval_op, final_op: callables (or lists/dicts of callables).
      summary_op: a callable returning the summaries to write at the checkpoint's global step (e.g. ``eval/Accuracy``
        scalars made from ``final_op``'s values); None: no summaries.
      variables_to_restore: variables (or a dict {checkpoint name: variable}) to restore; default: all variables of
        ``model`` (or of the active store).
      hooks: callables ``hook(i, num_evals)`` called after each evaluation step (e.g. a progress bar).
      model: where default variables are taken from.
      progress: show a tqdm progress bar.
    """
    if master:
        raise ValueError("master is a TF session target; evaluation runs in this process.")
    if os.path.isdir(checkpoint_path):
        latest = _latest(checkpoint_path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint found in {checkpoint_path}.")
        checkpoint_path = latest
    if variables_to_restore is None:
        variables_to_restore = get_variables_to_restore(model=model)
    logger.info("Starting evaluation at %s", time.strftime("%Y-%m-%d-%H:%M:%S", time.gmtime()))
    assign_op, feed = assign_from_checkpoint(checkpoint_path, variables_to_restore, model=model)
    assign_op(feed)
    _call(initial_op)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_evals, desc="Evaluation", unit="batch")
    step = 0
    with torch.no_grad():
        while num_evals is None or step < num_evals:
            try:
                _call(eval_op)
            except StopIteration:
                break
            step += 1
            if bar is not None:
                bar.update(1)
            else:
                logger.info("Evaluation [%d/%s]", step, num_evals if num_evals is not None else "?")
            for hook in hooks or ():
                hook(step, num_evals)
        if bar is not None:
            bar.close()
        final = _call(final_op)
    if logdir is not None and summary_op is not None:
        from torch.utils.tensorboard import SummaryWriter

        global_step = checkpoint_global_step(checkpoint_path)
        writer = SummaryWriter(logdir)
        try:
            summaries_lib.write_summaries(writer, global_step, list(_call(summary_op)))
        finally:
            writer.close()
    logger.info("Finished evaluation at %s", time.strftime("%Y-%m-%d-%H:%M:%S", time.gmtime()))
    return final


def evaluation_loop(
    master: str,
    checkpoint_dir: str,
    logdir: str | None,
    num_evals: int | None = 1,
    initial_op: Any = None,
    init_fn: Callable[[], Any] | None = None,
    eval_op: Any = None,
    final_op: Any = None,
    summary_op: Any = None,
    variables_to_restore: Any = None,
    eval_interval_secs: float = 60,
    max_number_of_evaluations: int | None = None,
    timeout: float | None = None,
    timeout_fn: Callable[[], bool] | None = None,
    hooks: Sequence[Callable[[int, int], Any]] | None = None,
    *,
    model: Any = None,
    progress: bool = False,
) -> Any:
    """Evaluates every new checkpoint of ``checkpoint_dir`` (at most every ``eval_interval_secs``) until
    ``max_number_of_evaluations`` or a timeout; returns the last ``final_op`` value."""
    final = None
    count = 0
    if init_fn is not None:
        init_fn()
    for checkpoint in checkpoints_iterator(checkpoint_dir, eval_interval_secs, timeout, timeout_fn):
        final = evaluate_once(
            master,
            checkpoint,
            logdir,
            num_evals,
            initial_op,
            eval_op,
            final_op,
            summary_op,
            variables_to_restore,
            hooks,
            model=model,
            progress=progress,
        )
        count += 1
        if max_number_of_evaluations is not None and count >= max_number_of_evaluations:
            break
    return final
