"""Script flags defined once, usable from the shell (absl: ``--flag=value``, ``--[no]flag``, ``--flagfile``) and from
Python as keyword arguments (``train_image_classifier(dataset_name="imagenet", clone_on_cpu=True)``).

Each script has a table of :class:`Flag`; :func:`parse_argv` parses a command line with a private
``absl.flags.FlagValues`` (no global state), and :func:`resolve_kwargs` checks keyword arguments against the same
table (unknown names and wrong types are errors that name the flag and suggest the nearest known one).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from absl import flags as absl_flags

__all__ = ["Flag", "parse_argv", "resolve_kwargs", "help_text"]

_DEFINERS = {
    "string": absl_flags.DEFINE_string,
    "integer": absl_flags.DEFINE_integer,
    "float": absl_flags.DEFINE_float,
    "boolean": absl_flags.DEFINE_boolean,
}
_TYPES = {"string": (str,), "integer": (int,), "float": (float, int), "boolean": (bool,)}


@dataclass(frozen=True)
class Flag:
    """One flag: TF-Slim's name, default (None: unset), kind ('string', 'integer', 'float', 'boolean') and help."""

    name: str
    default: Any
    kind: str
    help: str

    def __post_init__(self) -> None:
        if self.kind not in _DEFINERS:
            raise ValueError(f"Flag {self.name}: unknown kind {self.kind!r}.")


def _flag_values(table: Sequence[Flag]) -> absl_flags.FlagValues:
    values = absl_flags.FlagValues()
    for flag in table:
        _DEFINERS[flag.kind](flag.name, flag.default, flag.help, flag_values=values)
    return values


def help_text(table: Sequence[Flag], program: str, description: str) -> str:
    """The ``--help`` text: description, then every flag with its default."""
    lines = [description, "", "flags:"]
    for flag in table:
        shown = f"--[no]{flag.name}" if flag.kind == "boolean" else f"--{flag.name}"
        lines.append(f"  {shown}: {flag.help}")
        if flag.default is not None:
            lines.append(f"    (default: '{flag.default}')")
        if flag.kind in ("integer", "float"):
            lines.append(f"    ({'an integer' if flag.kind == 'integer' else 'a number'})")
    return "\n".join(lines)


def parse_argv(table: Sequence[Flag], argv: Sequence[str] | None, program: str, description: str) -> dict[str, Any]:
    """Parses ``argv`` (without the program name; default ``sys.argv[1:]``) into ``{flag: value}``.

    Raises:
      SystemExit: after printing help for ``--help``/``-h``, or an error naming the bad flag.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--help" in argv or "-h" in argv or "--helpfull" in argv:
        print(help_text(table, program, description))
        raise SystemExit(0)
    values = _flag_values(table)
    try:
        rest = values([program] + argv)
    except absl_flags.Error as error:
        print(f"{program}: {error}", file=sys.stderr)
        print("Try --help for the list of flags.", file=sys.stderr)
        raise SystemExit(2) from error
    if len(rest) > 1:
        print(f"{program}: unexpected arguments {rest[1:]} (flags look like --name=value).", file=sys.stderr)
        raise SystemExit(2)
    return {flag.name: values[flag.name].value for flag in table}


def resolve_kwargs(table: Sequence[Flag], kwargs: Mapping[str, Any], program: str) -> dict[str, Any]:
    """Defaults for every flag, overridden by ``kwargs`` (checked by name and type).

    Raises:
      TypeError: an unknown keyword (with the nearest flag name) or a value of the wrong type.
    """
    by_name = {flag.name: flag for flag in table}
    resolved = {flag.name: flag.default for flag in table}
    for name, value in kwargs.items():
        if name not in by_name:
            close = difflib.get_close_matches(name, by_name, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{program}() got an unknown flag {name!r}.{hint}")
        flag = by_name[name]
        if value is not None:
            if flag.kind == "string" and isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            if isinstance(value, bool) and flag.kind in ("integer", "float"):
                raise TypeError(f"{program}(): flag {name} expects {flag.kind}, got a bool.")
            if not isinstance(value, _TYPES[flag.kind]):
                raise TypeError(
                    f"{program}(): flag {name} expects a {flag.kind}, got {type(value).__name__} {value!r}."
                )
            if flag.kind == "float":
                value = float(value)
        resolved[name] = value
    return resolved
