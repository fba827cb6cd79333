r"""Draws the training curves of train and eval directories into one PNG (for those who would rather look than read).

    python -m slim.scripts.plot_curves --logdir=/tmp/flowers-models/inception_v3 --output=curves.png
    python -m slim.scripts.plot_curves --logdir /tmp/train --logdir /tmp/eval --output curves.png

Reads the TensorBoard event files that ``train_image_classifier`` and ``eval_image_classifier`` write (with
TensorBoard's own reader, no TensorFlow) and draws three panels against the global step: the losses (``total_loss``,
``losses/*``, ``Losses/*``), the ``learning_rate``, and the accuracy (``eval/Accuracy``, ``eval/Recall_5`` and any
other ``eval/*`` scalar). Like TensorBoard, every directory under a ``--logdir`` that holds event files is a run of its
own (a fine-tuning recipe's ``TRAIN_DIR`` and ``TRAIN_DIR/all``), and a restarted run's later events replace the ones
it wrote past its last checkpoint. Needs matplotlib: ``pip install 'torch-slim[plot]'``.

From Python: ``plot_curves(["/tmp/train", "/tmp/eval"], "curves.png")`` returns which series went into which panel.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from absl import flags as absl_flags

__all__ = ["CurvesError", "CurvesReport", "MissingDependencyError", "PANELS", "plot_curves", "read_scalars", "main"]

logger = logging.getLogger("slim")

INSTALL_HINT = "pip install 'torch-slim[plot]' (or: pip install 'matplotlib>=3.7')"

# Panel title -> (exact tags, tag prefixes) of the scalars it shows.
PANELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "loss": (("total_loss",), ("losses/", "Losses/")),
    "learning rate": (("learning_rate",), ()),
    "accuracy": ((), ("eval/",)),
}

DESCRIPTION = "Draws the loss, learning-rate and accuracy curves of train/eval directories into one PNG."


class CurvesError(ValueError):
    """A --logdir without event files or without any of the scalars plot_curves draws (the message names it)."""


class MissingDependencyError(ImportError):
    """matplotlib is not installed (the message says which pip command installs it)."""


@dataclass
class CurvesReport:
    """What :func:`plot_curves` drew: the PNG, its size, the runs read and the series of each panel.

    ``series`` maps a panel title to labels ``"<run>: <tag>"`` (just ``<tag>`` when there is one run), in drawing
    order; ``points`` maps each label to its number of points.
    """

    output: str
    width: int
    height: int
    runs: list[str]
    series: dict[str, list[str]] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line per panel, as the command prints it."""
        lines = [f"Wrote {self.output} ({self.width}x{self.height}) from {len(self.runs)} run(s)."]
        for panel, labels in self.series.items():
            lines.append(f"  {panel}: {', '.join(labels) if labels else '(no data)'}")
        return "\n".join(lines)


def _panel_of(tag: str) -> str | None:
    for panel, (exact, prefixes) in PANELS.items():
        if tag in exact or tag.startswith(prefixes):
            return panel
    return None


def _is_event_file(name: str) -> bool:
    return "tfevents" in name


def _run_dirs(logdir: str) -> list[str]:
    """The directories under ``logdir`` (itself included) that directly hold event files, sorted."""
    runs = []
    for directory, subdirs, files in os.walk(logdir):
        subdirs.sort()
        if any(_is_event_file(name) for name in files):
            runs.append(directory)
    return sorted(runs)


def read_scalars(run_dir: str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the event files directly in ``run_dir``: ``{tag: [(step, value), ...]}`` sorted by step.

    Uses TensorBoard's ``EventAccumulator`` (all points kept, orphaned points of a restarted run purged as TensorBoard
    does). Scalars written as tensors (TF 2's ``tf.summary.scalar``) are read too.
    """
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars: dict[str, list[tuple[int, float]]] = {}
    for tag in tags.get(event_accumulator.SCALARS, []):
        scalars[tag] = [(event.step, float(event.value)) for event in accumulator.Scalars(tag)]
    for tag in tags.get(event_accumulator.TENSORS, []):
        if tag in scalars:
            continue
        points = []
        for event in accumulator.Tensors(tag):
            value = tensor_util.make_ndarray(event.tensor_proto)
            if value.size != 1:
                break
            points.append((event.step, float(value.reshape(()))))
        else:
            if points:
                scalars[tag] = points
    for points in scalars.values():
        points.sort(key=lambda point: point[0])
    return scalars


def _run_labels(logdirs: Sequence[str], runs: Sequence[str]) -> dict[str, str]:
    """Short names for runs: paths relative to what the logdirs share (``train``, ``eval``, ``inception_v3/all``)."""
    absolute = [os.path.abspath(d) for d in logdirs]
    base = os.path.commonpath(absolute)
    if len(absolute) == 1 or base in absolute:
        base = os.path.dirname(base)
    return {run: os.path.relpath(os.path.abspath(run), base) for run in runs}


def _import_matplotlib():
    """matplotlib's Agg canvas and Figure (no pyplot: no global backend state, nothing opens a window)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MissingDependencyError(f"plot_curves needs matplotlib, which is not installed: {INSTALL_HINT}") from error
    return Figure, FigureCanvasAgg


def plot_curves(
    logdir: str | os.PathLike | Sequence[str | os.PathLike],
    output: str | os.PathLike = "curves.png",
    width: int = 1500,
    height: int = 400,
    title: str | None = None,
) -> CurvesReport:
    """Draws the loss, learning-rate and accuracy curves of ``logdir`` (one directory or several) into ``output``.

    Args:
      logdir: train and/or eval directories; each sub-directory holding event files is a run of its own.
      output: the PNG to write (its folder is created).
      width, height: the image size in pixels (drawn at 100 dpi).
      title: a title over the panels (default: none).

    Returns:
      A :class:`CurvesReport` naming the runs read and the series drawn in each panel.

    Raises:
      MissingDependencyError: matplotlib is not installed (the message has the pip command).
      CurvesError: a logdir does not exist, holds no event files, or none of the scalars drawn here.
    """
    Figure, FigureCanvasAgg = _import_matplotlib()
    logdirs = [os.fspath(logdir)] if isinstance(logdir, (str, os.PathLike)) else [os.fspath(d) for d in logdir]
    if not logdirs:
        raise CurvesError("Give at least one --logdir (a train_dir or eval_dir).")
    if width < 100 or height < 100:
        raise CurvesError(f"The image must be at least 100x100 pixels, got {width}x{height}.")

    all_runs: list[str] = []
    data: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for directory in logdirs:
        if not os.path.isdir(directory):
            raise CurvesError(f"--logdir {directory} is not a directory.")
        runs = _run_dirs(directory)
        if not runs:
            raise CurvesError(
                f"--logdir {directory} holds no TensorBoard event files (events.out.tfevents.*): give the "
                "--train_dir of train_image_classifier or the --eval_dir of eval_image_classifier."
            )
        for run in runs:
            if run not in data:  # a run under two of the logdirs is read (and drawn) once
                data[run] = read_scalars(run)
                all_runs.append(run)
        found = {tag for run in runs for tag in data[run]}
        if not any(_panel_of(tag) for tag in found):
            shown = ", ".join(sorted(found)[:10]) or "none"
            raise CurvesError(
                f"--logdir {directory} has event files but none of the scalars plot_curves draws (total_loss, "
                f"losses/*, learning_rate, eval/Accuracy, eval/Recall_5); its scalars: {shown}."
            )

    labels = _run_labels(logdirs, all_runs)
    single_run = len(all_runs) == 1
    report = CurvesReport(output=os.fspath(output), width=width, height=height, runs=[labels[r] for r in all_runs])
    series: dict[str, list[tuple[str, list[tuple[int, float]]]]] = {panel: [] for panel in PANELS}
    for run in all_runs:
        for tag in sorted(data[run], key=lambda t: (t != "total_loss", t)):
            panel = _panel_of(tag)
            if panel is None or not data[run][tag]:
                continue
            label = tag if single_run else f"{labels[run]}: {tag}"
            series[panel].append((label, data[run][tag]))

    figure = Figure(figsize=(width / 100, height / 100), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(PANELS), squeeze=False)[0]
    for ax, (panel, lines) in zip(axes, series.items()):
        ax.set_title(panel)
        ax.set_xlabel("global step")
        ax.grid(True, alpha=0.3)
        report.series[panel] = [label for label, _ in lines]
        if not lines:
            ax.text(0.5, 0.5, f"no {panel} summaries", ha="center", va="center", transform=ax.transAxes, color="gray")
            continue
        values = []
        for label, points in lines:
            steps = [step for step, _ in points]
            ys = [value for _, value in points]
            values.extend(ys)
            ax.plot(steps, ys, label=label, marker="o" if len(points) <= 20 else None, markersize=3)
            report.points[label] = len(points)
        if panel == "learning rate" and min(values) > 0 and max(values) / min(values) >= 10:
            ax.set_yscale("log")  # fine-tuning stages differ by orders of magnitude
        ax.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    os.makedirs(os.path.dirname(os.path.abspath(report.output)), exist_ok=True)
    figure.savefig(report.output, format="png", dpi=100)
    return report


def _flag_values() -> absl_flags.FlagValues:
    values = absl_flags.FlagValues()
    absl_flags.DEFINE_multi_string(
        "logdir", [], "A train_dir or eval_dir (repeat --logdir for several).", flag_values=values
    )
    absl_flags.DEFINE_string("output", "curves.png", "The PNG to write.", flag_values=values)
    absl_flags.DEFINE_integer("width", 1500, "Image width in pixels.", flag_values=values)
    absl_flags.DEFINE_integer("height", 400, "Image height in pixels.", flag_values=values)
    absl_flags.DEFINE_string("title", None, "A title over the panels.", flag_values=values)
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m slim.scripts.plot_curves --logdir DIR [--logdir DIR2 ...] --output curves.png``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # its reader logs every event file it moves to
    argv = list(sys.argv[1:] if argv is None else argv)
    values = _flag_values()
    if "--help" in argv or "-h" in argv or "--helpfull" in argv:
        print(DESCRIPTION + "\n\n" + values.get_help())
        return 0
    try:
        rest = values(["plot_curves"] + argv)
    except absl_flags.Error as error:
        print(f"plot_curves: {error}\nTry --help for the list of flags.", file=sys.stderr)
        return 2
    if len(rest) > 1:
        print(f"plot_curves: unexpected arguments {rest[1:]} (flags look like --name=value).", file=sys.stderr)
        return 2
    try:
        report = plot_curves(values.logdir, values.output, width=values.width, height=values.height, title=values.title)
    except (CurvesError, MissingDependencyError) as error:
        print(f"plot_curves: {error}", file=sys.stderr)
        return 1
    print(report.describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
