"""The commands and code blocks of docs/*.md, for the tests that run them (tests/test_docs_*.py).

A documented command is split as a shell would split it; :func:`with_flags` then changes only the flags a test names
(its table of overrides), so everything else runs exactly as written.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCRIPTS_PACKAGE = "slim.scripts."


@dataclass(frozen=True)
class DocCommand:
    """One documented command that runs a script of ``slim.scripts``.

    Attributes:
      launcher: what starts the script, up to its module: ``('python', '-m', 'slim.scripts.X')`` or
        ``('torchrun', '--standalone', ..., '-m', 'slim.scripts.X')``.
      script: the script's name (``'train_image_classifier'``).
      flags: the script's own arguments, as documented.
    """

    launcher: tuple[str, ...]
    script: str
    flags: tuple[str, ...]

    @property
    def module(self) -> str:
        """The script's module, ``slim.scripts.<script>``."""
        return SCRIPTS_PACKAGE + self.script

    def flag(self, name: str) -> str | None:
        """The documented value of ``--name=value`` (None if the command does not set it)."""
        for arg in self.flags:
            if arg.startswith(f"--{name}="):
                return arg.split("=", 1)[1]
        return None


def fenced_blocks(doc: str | Path, language: str) -> list[str]:
    """The text of every fenced block of ``language`` (```bash, ```python, ...) in ``doc`` (a path or a name under
    docs/)."""
    path = Path(doc) if Path(doc).is_absolute() else DOCS / doc
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), re.S | re.M)


def shell_commands(doc: str | Path) -> list[list[str]]:
    """Every command of the doc's ```bash blocks, split as the shell would (continuation lines joined, comments
    dropped)."""
    commands = []
    for block in fenced_blocks(doc, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append(argv)
    return commands


def _as_script_command(argv: Sequence[str]) -> DocCommand | None:
    if argv[0] not in ("python", "torchrun"):
        return None
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m" and argv[i + 1].startswith(SCRIPTS_PACKAGE):
            return DocCommand(tuple(argv[: i + 2]), argv[i + 1][len(SCRIPTS_PACKAGE) :], tuple(argv[i + 2 :]))
    return None


def script_commands(doc: str | Path) -> list[DocCommand]:
    """The doc's commands that run a ``slim.scripts`` script (``python -m ...`` or ``torchrun ... -m ...``), in
    order."""
    found = (_as_script_command(argv) for argv in shell_commands(doc))
    return [command for command in found if command is not None]


def _flag_name(arg: str) -> str | None:
    return arg[2:].split("=", 1)[0] if arg.startswith("--") else None


def with_flags(flags: Sequence[str], overrides: Mapping[str, str | None]) -> list[str]:
    """``flags`` with ``--name=value`` for every name of ``overrides`` (replacing the documented value, or added at
    the end when the command does not set it); a None value removes the flag."""
    out, done = [], set()
    for arg in flags:
        name = _flag_name(arg)
        if name in overrides:
            done.add(name)
            if overrides[name] is not None:
                out.append(f"--{name}={overrides[name]}")
        else:
            out.append(arg)
    out += [f"--{name}={value}" for name, value in overrides.items() if name not in done and value is not None]
    return out


def under(flags: Sequence[str], tmp_root: Path) -> list[str]:
    """``flags`` with every ``/tmp/`` path moved under ``tmp_root`` (relative paths resolve in the test's working
    directory)."""
    return [arg.replace("=/tmp/", f"={tmp_root}/") for arg in flags]


def flag_table(script: str):
    """The script's flag table (None for the argparse scripts: label_image, plot_curves, convert_checkpoint)."""
    module = importlib.import_module(SCRIPTS_PACKAGE + script)
    return getattr(module, "FLAGS", None) or getattr(module, "TRAIN_FLAGS", None)


def run_script(script: str, flags: Sequence[str]) -> int:
    """Runs ``python -m slim.scripts.<script> <flags>`` in this process (through the script's ``main(argv)``)."""
    return importlib.import_module(SCRIPTS_PACKAGE + script).main(list(flags))
