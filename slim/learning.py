"""`slim.learning`: `create_train_op` and `train`, TF-Slim's training loop on eager PyTorch.

TF builds a graph once and runs its train op repeatedly; here the "train op" is a callable that runs one step:

    def total_loss():
        images, labels = next(batches)
        logits, end_points = model(images)
        slim.losses.softmax_cross_entropy(logits, labels)
        return slim.losses.get_total_loss()

    train_op = slim.learning.create_train_op(total_loss, optimizer, model=model)
    slim.learning.train(train_op, logdir, number_of_steps=1000, save_summaries_secs=300, save_interval_secs=600)

Each step runs in its own `slim.collection_scope()`, so losses, regularization and summaries are those of that step.
`train` resumes from the newest checkpoint in ``logdir`` if there is one (``init_fn`` is then skipped), writes
checkpoints every ``save_interval_secs`` and at the end, summaries every ``save_summaries_secs`` (with
``global_step/sec``), logs ``global step N: loss = X (Y sec/step)``, stops cleanly on SIGINT/SIGTERM after a final
checkpoint, and stops with an error naming the step when the loss is NaN or infinite.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from slim import summaries as summaries_lib
from slim.framework import checkpoint as ckpt_lib
from slim.framework.collections import GraphKeys
from slim.framework.context import collection_scope
from slim.framework.variables import Variable, get_or_create_global_step

__all__ = [
    "TrainOp",
    "Saver",
    "create_train_op",
    "train_step",
    "train",
    "multiply_gradients",
    "clip_gradient_norms",
    "add_gradients_summaries",
]

logger = logging.getLogger("slim")

_USE_GLOBAL_STEP = object()
_USE_DEFAULT = object()


def _params_of(items: Sequence[Any] | None, model: torch.nn.Module | None) -> list[torch.nn.Parameter]:
    if items is None:
        return []
    params = []
    for item in items:
        if isinstance(item, Variable):
            params.append(item.value())
        elif isinstance(item, str):
            if model is None:
                raise ValueError(f"Variable name {item!r} given without a model to look it up in.")
            params.append(model.store.lookup(item[:-2] if item.endswith(":0") else item))
        else:
            params.append(item)
    return params


def _param_name_map(model: torch.nn.Module | None) -> dict[int, str]:
    if model is None:
        return {}
    return {id(p): name for name, p in model.named_parameters()}


def multiply_gradients(
    grads_and_vars: list[tuple[torch.Tensor | None, Any]],
    gradient_multipliers: Mapping[Any, float],
    names: Mapping[int, str] | None = None,
) -> list[tuple[torch.Tensor | None, Any]]:
    """Multiplies the gradients of the variables named (or given) in ``gradient_multipliers``."""
    if not isinstance(grads_and_vars, list):
        raise ValueError("`grads_and_vars` must be a list.")
    if not gradient_multipliers:
        raise ValueError("`gradient_multipliers` is empty.")
    if not isinstance(gradient_multipliers, Mapping):
        raise ValueError("`gradient_multipliers` must be a dict.")
    names = names or {}
    by_key: dict[Any, float] = {}
    for key, value in gradient_multipliers.items():
        if isinstance(key, Variable):
            by_key[key.op.name] = value
        elif isinstance(key, torch.Tensor):
            by_key[id(key)] = value
        else:
            by_key[key[:-2] if key.endswith(":0") else key] = value
    result = []
    for grad, var in grads_and_vars:
        multiplier = by_key.get(id(var), by_key.get(names.get(id(var), None)))
        if multiplier is not None:
            if grad is None:
                raise ValueError(f"Requested multiple of `None` gradient for {names.get(id(var), 'a variable')}.")
            grad = grad * multiplier
        result.append((grad, var))
    return result


def clip_gradient_norms(
    gradients_to_variables: list[tuple[torch.Tensor | None, Any]], max_norm: float
) -> list[tuple[torch.Tensor | None, Any]]:
    """Clips each gradient to norm ``max_norm`` separately (TF's ``clip_by_norm`` per tensor, not global norm)."""
    clipped = []
    for grad, var in gradients_to_variables:
        if grad is not None:
            norm = grad.norm()
            grad = grad * torch.clamp(max_norm / torch.clamp(norm, min=1e-30), max=1.0)
        clipped.append((grad, var))
    return clipped


def add_gradients_summaries(
    grads_and_vars: list[tuple[torch.Tensor | None, Any]], names: Mapping[int, str] | None = None
) -> list[summaries_lib.Summary]:
    """Histogram ``<var>/gradient`` and scalar ``<var>/gradient_norm`` summaries for every gradient."""
    names = names or {}
    recorded = []
    for grad, var in grads_and_vars:
        if grad is None:
            continue
        name = names.get(id(var), f"var_{id(var)}")
        recorded.append(summaries_lib.add_histogram_summary(grad, name=f"{name}/gradient"))
        recorded.append(summaries_lib.add_scalar_summary(grad.norm(), name=f"{name}/gradient_norm"))
    return recorded


class TrainOp:
    """One training step: compute the total loss, back-propagate, transform gradients, apply, count the step.

    Calling it returns the step's total loss (a detached tensor). ``last_summaries`` holds what the step recorded.
    """

    def __init__(
        self,
        total_loss: Callable[[], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        global_step: torch.Tensor | None,
        model: torch.nn.Module | None,
        update_ops: Sequence[Callable[[], Any]] | None,
        variables_to_train: Sequence[Any] | None,
        clip_gradient_norm: float,
        summarize_gradients: bool,
        gradient_multipliers: Mapping[Any, float] | None,
        check_numerics: bool,
        loss_scaler: torch.amp.GradScaler | None = None,
    ) -> None:
        if not callable(total_loss):
            raise TypeError(
                "total_loss must be a callable that computes the step's loss (eager PyTorch re-runs it every step)."
            )
        self.total_loss = total_loss
        self.optimizer = optimizer
        self.global_step = global_step
        self.model = model
        self.update_ops = list(update_ops or [])
        self._names = _param_name_map(_unwrap(model))
        opt_params = [p for group in optimizer.param_groups for p in group["params"]]
        self.variables_to_train = _params_of(variables_to_train, _unwrap(model)) if variables_to_train else opt_params
        if not self.variables_to_train:
            raise ValueError("There are no variables to train.")
        self._train_ids = {id(p) for p in self.variables_to_train}
        self._frozen = [p for p in opt_params if id(p) not in self._train_ids]
        self.clip_gradient_norm = clip_gradient_norm
        self.summarize_gradients = summarize_gradients
        self.gradient_multipliers = gradient_multipliers
        self.check_numerics = check_numerics
        self.loss_scaler = loss_scaler
        self.last_summaries: list[summaries_lib.Summary] = []
        # The most recent non-empty set of summaries and the global step it was recorded at, kept until train()
        # writes it: summaries recorded on another timer (train_image_classifier's) must not be lost.
        self.pending_summaries: list[summaries_lib.Summary] = []
        self.pending_summaries_step: int | None = None

    @property
    def step(self) -> int:
        return int(self.global_step) if self.global_step is not None else 0

    def __call__(self) -> torch.Tensor:
        with collection_scope() as collections:
            loss = self.total_loss()
            if not isinstance(loss, torch.Tensor):
                raise TypeError(f"total_loss() must return a tensor, got {type(loss).__name__}.")
            if self.check_numerics and not torch.isfinite(loss.detach()).all():
                raise FloatingPointError(
                    f"LossTensor is inf or nan at global step {self.step}: the loss is {loss.item()}. Lower the "
                    "learning rate, check the input data, or add gradient clipping (--clip_gradient_norm)."
                )
            self.optimizer.zero_grad(set_to_none=True)
            if self.loss_scaler is not None:
                self.loss_scaler.scale(loss).backward()
                self.loss_scaler.unscale_(self.optimizer)  # true gradients for multipliers, clipping, summaries
            else:
                loss.backward()
            for param in self._frozen:
                param.grad = None
            grads_and_vars = [(p.grad, p) for p in self.variables_to_train]
            if self.gradient_multipliers:
                grads_and_vars = multiply_gradients(grads_and_vars, self.gradient_multipliers, self._names)
            if self.clip_gradient_norm > 0:
                grads_and_vars = clip_gradient_norms(grads_and_vars, self.clip_gradient_norm)
            for grad, param in grads_and_vars:
                param.grad = grad
            if self.summarize_gradients:
                add_gradients_summaries(grads_and_vars, self._names)
            if self.loss_scaler is not None:
                self.loss_scaler.step(self.optimizer)  # skipped when a gradient overflowed
                self.loss_scaler.update()
            else:
                self.optimizer.step()
            for update in self.update_ops + collections.get(GraphKeys.UPDATE_OPS):
                if callable(update):
                    update()
            if self.global_step is not None:
                with torch.no_grad():
                    self.global_step.add_(1)
            self.last_summaries = list(collections.get(GraphKeys.SUMMARIES))
            if self.last_summaries:
                self.pending_summaries = self.last_summaries
                self.pending_summaries_step = int(self.global_step) if self.global_step is not None else None
        return loss.detach()


def _check_ranks_agree(step: int, logdir: str | None) -> None:
    """Fails clearly when the training processes start from different global steps (each restores from its own
    ``logdir``: on several machines that directory must be shared, or they would train different models)."""
    steps: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(steps, step)
    if len(set(steps)) > 1:
        raise RuntimeError(
            f"The training processes start from different global steps {steps} (rank order): each restored the latest "
            f"checkpoint of its own train_dir ({logdir}). All machines must use one shared train_dir (a network file "
            "system), or start with empty ones."
        )


def _unwrap(model: Any) -> Any:
    while model is not None and hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
        model = model.module
    return getattr(model, "_orig_mod", model)


def create_train_op(
    total_loss: Callable[[], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    global_step: Any = _USE_GLOBAL_STEP,
    update_ops: Sequence[Callable[[], Any]] | None = None,
    variables_to_train: Sequence[Any] | None = None,
    clip_gradient_norm: float = 0,
    summarize_gradients: bool = False,
    gate_gradients: Any = None,
    aggregation_method: Any = None,
    colocate_gradients_with_ops: bool = False,
    gradient_multipliers: Mapping[Any, float] | None = None,
    check_numerics: bool = True,
    *,
    model: torch.nn.Module | None = None,
    loss_scaler: torch.amp.GradScaler | None = None,
) -> TrainOp:
    """Creates the train op (TF-Slim's signature; see :class:`TrainOp`).

    Args:
      total_loss: a callable computing the step's total loss (it fetches its own batch).
      optimizer: a torch optimizer over (at least) the variables to train.
      global_step: a 0-d int64 tensor incremented per step; default: ``slim.get_or_create_global_step()``; None: none.
      update_ops: callables run after every optimizer step (e.g. an exponential moving average update). Batch-norm
        statistics are updated in the forward pass and need no update op.
      variables_to_train: variables (handles, names or tensors) to update; default: all the optimizer holds.
      clip_gradient_norm: if > 0, clip each gradient to this norm (per tensor, as TF-Slim).
      summarize_gradients: record ``<var>/gradient`` histograms and ``<var>/gradient_norm`` scalars.
      gate_gradients, aggregation_method, colocate_gradients_with_ops: TF graph options with no PyTorch meaning;
        accepted with their default values only.
      gradient_multipliers: ``{variable or name: multiplier}``.
      check_numerics: raise FloatingPointError naming the step when the loss is NaN or infinite.
      model: the model being trained (names for summaries, checkpoints and ``variables_to_train`` given as names).
      loss_scaler: a ``torch.amp.GradScaler`` for float16 mixed precision (dynamic loss scaling: the loss is scaled
        before back-propagation, gradients are unscaled before multipliers and clipping, and a step whose gradients
        overflowed is skipped, as TF's ``LossScaleOptimizer``). Not needed for bfloat16 or float32.
    """
    if gate_gradients not in (None, 1) or aggregation_method is not None or colocate_gradients_with_ops:
        raise ValueError(
            "gate_gradients, aggregation_method and colocate_gradients_with_ops are TF graph options with no meaning "
            "in PyTorch; leave them at their defaults."
        )
    if global_step is _USE_GLOBAL_STEP:
        global_step = get_or_create_global_step()
    return TrainOp(
        total_loss,
        optimizer,
        global_step,
        model,
        update_ops,
        variables_to_train,
        clip_gradient_norm,
        summarize_gradients,
        gradient_multipliers,
        check_numerics,
        loss_scaler,
    )


class Saver:
    """Saves and restores a training run in our checkpoint format (model variables by TF-Slim name, optimizer state,
    global step, extra tensors and metadata).

    Args:
      model: the model (or its DDP/compiled wrapper).
      optimizer: the optimizer whose state is saved and restored, if any.
      global_step: the 0-d global step tensor.
      max_to_keep: how many checkpoints to keep.
      extra_tensors: a callable returning more named tensors to save (e.g. EMA shadow variables).
      restore_extra: a callable taking those named tensors back on restore.
      metadata: JSON-serialisable metadata saved with every checkpoint (model name and arguments, ...).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        global_step: torch.Tensor | None = None,
        max_to_keep: int = 5,
        extra_tensors: Callable[[], Mapping[str, torch.Tensor]] | None = None,
        restore_extra: Callable[[Mapping[str, torch.Tensor]], None] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = _unwrap(model)
        self.optimizer = optimizer
        self.global_step = global_step
        self.max_to_keep = max_to_keep
        self.extra_tensors = extra_tensors
        self.restore_extra = restore_extra
        self.metadata = dict(metadata or {})

    def save(self, logdir: str, global_step: int) -> str:
        tensors = dict(self.model.state_dict())
        meta = dict(self.metadata, global_step=int(global_step))
        if self.optimizer is not None:
            opt_tensors, opt_meta = ckpt_lib.optimizer_state_to_tensors(self.optimizer, _param_name_map(self.model))
            tensors.update(opt_tensors)
            meta["optimizer"] = opt_meta
        if self.extra_tensors is not None:
            tensors.update(self.extra_tensors())
        prefix = os.path.join(logdir, f"model.ckpt-{int(global_step)}")
        return ckpt_lib.save_checkpoint(prefix, tensors, meta, max_to_keep=self.max_to_keep)

    def restore(self, path: str) -> int:
        """Restores everything saved; returns the checkpoint's global step."""
        data = ckpt_lib.read_checkpoint(path)
        state = self.model.state_dict()
        missing = sorted(set(state) - set(data.tensors))
        if missing:
            raise ValueError(f"Checkpoint {data.path} lacks model variables {missing[:10]}: it is not from this model.")
        self.model.load_state_dict({k: data.tensors[k] for k in state}, strict=True)
        if self.optimizer is not None and "optimizer" in data.metadata:
            ckpt_lib.optimizer_state_from_tensors(
                self.optimizer, _param_name_map(self.model), data.tensors, data.metadata["optimizer"]
            )
        if self.restore_extra is not None:
            self.restore_extra(data.tensors)
        if self.global_step is not None:
            with torch.no_grad():
                self.global_step.fill_(data.global_step)
        return data.global_step


def train_step(train_op: TrainOp, global_step: torch.Tensor | None, train_step_kwargs: Mapping[str, Any]):
    """Runs one step; logs every ``log_every_n_steps``. Returns ``(total_loss, should_stop)``."""
    start = time.time()
    loss = train_op()
    elapsed = time.time() - start
    step = train_op.step
    if train_step_kwargs.get("should_log") and train_step_kwargs["should_log"](step):
        logger.info("global step %d: loss = %.4f (%.3f sec/step)", step, float(loss), elapsed)
    should_stop = bool(train_step_kwargs.get("should_stop") and train_step_kwargs["should_stop"](step))
    return loss, should_stop


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks between steps (main thread only)."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _is_chief_default() -> bool:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return True


def train(
    train_op: TrainOp,
    logdir: str | None,
    train_step_fn: Callable[..., Any] = train_step,
    train_step_kwargs: Any = _USE_DEFAULT,
    log_every_n_steps: int = 1,
    graph: Any = None,
    master: str = "",
    is_chief: bool | None = None,
    global_step: torch.Tensor | None = None,
    number_of_steps: int | None = None,
    init_fn: Callable[[torch.nn.Module], Any] | None = None,
    summary_writer: Any = _USE_DEFAULT,
    save_summaries_secs: float = 600,
    startup_delay_steps: int = 0,
    saver: Saver | None = None,
    save_interval_secs: float = 600,
    trace_every_n_steps: int | None = None,
    summary_op: Callable[[], Sequence[summaries_lib.Summary]] | None = None,
) -> float | None:
    """Runs ``train_op`` until ``number_of_steps`` (or forever), with checkpoints and summaries in ``logdir``.

    Args:
      train_op: from :func:`create_train_op` (create it with ``model=`` so checkpoints can be written).
      logdir: where checkpoints and event files go; None trains without either.
      train_step_fn, train_step_kwargs: TF-Slim's hooks; the default kwargs give ``should_stop`` (global step >=
        number_of_steps) and ``should_log`` (every ``log_every_n_steps``).
      graph, master: TF options; only their defaults are accepted.
      is_chief: whether this process writes checkpoints and summaries (default: rank 0).
      number_of_steps: stop when the global step reaches it; must be > 0 if given.
      init_fn: ``init_fn(model)`` run at the start, unless a checkpoint in ``logdir`` is restored instead.
      summary_writer: a TensorBoard SummaryWriter; default: one on ``logdir``.
      save_summaries_secs / save_interval_secs: intervals for summaries and checkpoints (0 or None: never, except
        the final checkpoint).
      startup_delay_steps: asynchronous workers' start delay; DDP training is synchronous, so > 0 is refused when
        several processes train.
      saver: a :class:`Saver`; default: model, optimizer and global step of ``train_op``.
      trace_every_n_steps: write a Chrome trace ``tf_trace-<step>.json`` of every n-th step (torch.profiler).
      summary_op: a callable returning extra summaries to write (besides those the step recorded).

    Returns:
      The last step's loss value (None if no step ran).
    """
    if train_op is None:
        raise ValueError("train_op cannot be None.")
    if graph is not None or master:
        raise ValueError("graph and master are TF session options; use torch.distributed (torchrun) instead.")
    if number_of_steps is not None and number_of_steps <= 0:
        raise ValueError("`number_of_steps` must be either None or a positive number.")
    if logdir is None and (saver is not None or trace_every_n_steps is not None):
        raise ValueError("Cannot provide saver or trace_every_n_steps because logdir=None")
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if startup_delay_steps > 0 and distributed and torch.distributed.get_world_size() > 1:
        raise ValueError("startup_delay_steps has no meaning in synchronous DDP training; leave it at 0.")
    is_chief = _is_chief_default() if is_chief is None else is_chief
    global_step = global_step if global_step is not None else train_op.global_step
    if global_step is None:
        raise ValueError("train() needs a global step: create the train op with one (the default).")
    if train_step_kwargs is _USE_DEFAULT:
        train_step_kwargs = {
            "should_stop": (lambda step: step >= number_of_steps) if number_of_steps is not None else (lambda s: False),
            "should_log": (lambda step: log_every_n_steps > 0 and step % log_every_n_steps == 0),
        }
    if logdir is not None:
        os.makedirs(logdir, exist_ok=True)
        if saver is None:
            if train_op.model is None:
                raise ValueError("Create the train op with model=... so that train() can write checkpoints.")
            saver = Saver(train_op.model, train_op.optimizer, global_step)
    model = _unwrap(train_op.model)
    latest = ckpt_lib.latest_checkpoint(logdir) if logdir is not None else None
    if latest is not None and os.path.isfile(latest + ckpt_lib.SUFFIX):
        step = saver.restore(latest)
        logger.info("Restored %s (global step %d); init_fn skipped.", latest, step)
    elif init_fn is not None:
        init_fn(model)
    if distributed and torch.distributed.get_world_size() > 1:
        _check_ranks_agree(int(global_step), logdir)
    writer = None
    if logdir is not None and is_chief and save_summaries_secs:
        if summary_writer is _USE_DEFAULT:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(logdir)
        else:
            writer = summary_writer
    last_loss = None
    last_save = last_summary = time.time()
    last_summary_step = int(global_step)
    try:
        with _StopRequest() as stop:
            should_stop = number_of_steps is not None and int(global_step) >= number_of_steps
            while not should_stop and stop.requested is None:
                step_before = int(global_step)
                if trace_every_n_steps and is_chief and step_before % trace_every_n_steps == 0:
                    with torch.profiler.profile() as profiler:
                        loss, should_stop = train_step_fn(train_op, global_step, train_step_kwargs)
                    profiler.export_chrome_trace(os.path.join(logdir, f"tf_trace-{step_before}.json"))
                else:
                    loss, should_stop = train_step_fn(train_op, global_step, train_step_kwargs)
                last_loss = float(loss)
                now = time.time()
                step = int(global_step)
                if writer is not None and now - last_summary >= save_summaries_secs:
                    _write_step_summaries(
                        writer, train_op, summary_op, step, (step - last_summary_step) / max(now - last_summary, 1e-9)
                    )
                    last_summary, last_summary_step = now, step
                if saver is not None and is_chief and save_interval_secs and now - last_save >= save_interval_secs:
                    saver.save(logdir, step)
                    last_save = now
            if stop.requested is not None:
                logger.info("Received %s: stopping after global step %d.", stop.requested, int(global_step))
        if saver is not None and is_chief:
            saver.save(logdir, int(global_step))
        if writer is not None and last_loss is not None:
            _write_step_summaries(writer, train_op, summary_op, int(global_step), None)
    finally:
        if writer is not None and summary_writer is _USE_DEFAULT:
            writer.close()
    return last_loss


def _write_step_summaries(
    writer: Any, train_op: TrainOp, summary_op: Any, step: int, steps_per_sec: float | None
) -> None:
    if train_op.pending_summaries:
        summaries_lib.write_summaries(writer, train_op.pending_summaries_step or step, train_op.pending_summaries)
        train_op.pending_summaries, train_op.pending_summaries_step = [], None
    if summary_op is not None:
        summaries_lib.write_summaries(writer, step, list(summary_op()))
    if steps_per_sec is not None and math.isfinite(steps_per_sec):
        writer.add_scalar("global_step/sec", steps_per_sec, step)
    writer.flush()
