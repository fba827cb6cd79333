"""TensorBoard summaries in TF-Slim's style (``slim.summaries``), written with PyTorch's TensorBoard writer.

``add_*_summary`` records a summary in the SUMMARIES collection of the current pass (tag = ``prefix/name``); the
training and evaluation loops write what was recorded with :func:`write_summaries` when summaries are due. Values
are detached, so recording keeps no autograd graph alive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame

__all__ = [
    "Summary",
    "add_histogram_summary",
    "add_image_summary",
    "add_scalar_summary",
    "add_zero_fraction_summary",
    "add_histogram_summaries",
    "add_image_summaries",
    "add_scalar_summaries",
    "add_zero_fraction_summaries",
    "get_summaries",
    "write_summaries",
]


@dataclass(frozen=True)
class Summary:
    """One recorded summary: its tag, kind ('scalar', 'histogram', 'image') and value."""

    tag: str
    kind: str
    value: torch.Tensor
    print_summary: bool = False


def _tag(name: str | None, prefix: str | None, tensor: Any, kind: str) -> str:
    if name is None:
        name = getattr(tensor, "slim_name", None) or kind
    return f"{prefix}/{name}" if prefix else name


def _record(tag: str, kind: str, tensor: Any, print_summary: bool = False) -> Summary:
    value = torch.as_tensor(tensor).detach()
    summary = Summary(tag, kind, value, print_summary)
    current_frame().collections.add(GraphKeys.SUMMARIES, summary, tag)
    return summary


def add_scalar_summary(
    tensor: Any, name: str | None = None, prefix: str | None = None, print_summary: bool = False
) -> Summary:
    """Records a scalar summary (``print_summary`` also prints the value when it is written)."""
    value = torch.as_tensor(tensor)
    if value.numel() != 1:
        raise ValueError(f"add_scalar_summary {name}: expected a scalar, got shape {tuple(value.shape)}.")
    return _record(_tag(name, prefix, tensor, "scalar"), "scalar", value.reshape(()), print_summary)


def add_histogram_summary(tensor: Any, name: str | None = None, prefix: str | None = None) -> Summary:
    """Records a histogram of the tensor's values."""
    return _record(_tag(name, prefix, tensor, "histogram"), "histogram", tensor)


def add_image_summary(
    tensor: Any, name: str | None = None, prefix: str | None = None, print_summary: bool = False
) -> Summary:
    """Records a batch of images ``[N, C, H, W]`` (C in 1, 3, 4; float in [0, 1] or uint8)."""
    value = torch.as_tensor(tensor)
    if value.dim() != 4 or value.shape[1] not in (1, 3, 4):
        raise ValueError(
            f"add_image_summary {name}: expected [N, C, H, W] with C in (1, 3, 4), got {tuple(value.shape)}."
        )
    return _record(_tag(name, prefix, tensor, "image"), "image", value, print_summary)


def add_zero_fraction_summary(
    tensor: Any, name: str | None = None, prefix: str | None = None, print_summary: bool = False
) -> Summary:
    """Records the fraction of zeros (tag ``<name>/Fraction_of_Zero_Values``)."""
    value = torch.as_tensor(tensor)
    fraction = (value == 0).float().mean()
    base = _tag(name, None, tensor, "zero_fraction")
    tag = f"{base}/Fraction_of_Zero_Values"
    return _record(f"{prefix}/{tag}" if prefix else tag, "scalar", fraction, print_summary)


def _plural(fn, tensors: Iterable[Any], prefix: str | None, **kwargs: Any) -> list[Summary]:
    items = tensors.items() if isinstance(tensors, dict) else ((None, t) for t in tensors)
    return [fn(tensor, name=name, prefix=prefix, **kwargs) for name, tensor in items]


def add_scalar_summaries(
    tensors: Iterable[Any] | dict, prefix: str | None = None, print_summary: bool = False
) -> list[Summary]:
    """Scalar summaries for several tensors (a dict gives the names)."""
    return _plural(add_scalar_summary, tensors, prefix, print_summary=print_summary)


def add_histogram_summaries(tensors: Iterable[Any] | dict, prefix: str | None = None) -> list[Summary]:
    """Histogram summaries for several tensors (a dict gives the names)."""
    return _plural(add_histogram_summary, tensors, prefix)


def add_image_summaries(tensors: Iterable[Any] | dict, prefix: str | None = None) -> list[Summary]:
    """Image summaries for several tensors (a dict gives the names)."""
    return _plural(add_image_summary, tensors, prefix)


def add_zero_fraction_summaries(tensors: Iterable[Any] | dict, prefix: str | None = None) -> list[Summary]:
    """Zero-fraction summaries for several tensors (a dict gives the names)."""
    return _plural(add_zero_fraction_summary, tensors, prefix)


def get_summaries() -> list[Summary]:
    """The summaries recorded in the current pass."""
    return current_frame().collections.get(GraphKeys.SUMMARIES)


def write_summaries(writer: Any, global_step: int, summaries: Sequence[Summary] | None = None) -> None:
    """Writes ``summaries`` (default: those of the current pass) with a TensorBoard ``SummaryWriter``."""
    for summary in summaries if summaries is not None else get_summaries():
        value = summary.value
        if summary.kind == "scalar":
            scalar = float(value)
            writer.add_scalar(summary.tag, scalar, global_step)
            if summary.print_summary:
                print(f"{summary.tag}[{scalar}]")
        elif summary.kind == "histogram":
            writer.add_histogram(summary.tag, value.float().cpu(), global_step)
        elif summary.kind == "image":
            writer.add_images(summary.tag, value.cpu(), global_step, dataformats="NCHW")
        else:
            raise ValueError(f"Unknown summary kind {summary.kind!r} for {summary.tag}.")
