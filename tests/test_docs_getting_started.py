"""Every command of docs/getting_started.md names a real script and flags that parse, with the values the demo uses
(the demo itself runs these steps: tests/test_demo.py)."""

import importlib
import re
import shlex
from pathlib import Path

from slim.scripts.flagspec import parse_argv

DOCS = Path(__file__).resolve().parents[1] / "docs"
DOC = DOCS / "getting_started.md"


def _commands(doc=DOC):
    text = doc.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("python -m slim.scripts."):
                commands.append(shlex.split(line))
    return commands


def test_every_script_command_parses():
    commands = _commands()
    scripts = [argv[2].rsplit(".", 1)[1] for argv in commands]
    assert scripts == [
        "download_and_convert_data",
        "train_image_classifier",
        "eval_image_classifier",
        "export_inference_graph",
        "freeze_graph",
        "label_image",
        "plot_curves",
    ]
    for argv in commands:
        module = importlib.import_module(argv[2])
        table = getattr(module, "FLAGS", None) or getattr(module, "TRAIN_FLAGS", None)
        if table is None:  # argparse scripts (label_image, plot_curves): their parser checks the flags
            continue
        flags = parse_argv(table, argv[3:], argv[2], "")
        for arg in argv[3:]:
            name = arg[2:].split("=", 1)[0]
            assert name in flags or name[2:] in flags, (argv[2], name)


def test_documented_training_flags_are_the_demos():
    train = next(argv for argv in _commands() if argv[2].endswith("train_image_classifier"))
    from slim.scripts.train_flags import TRAIN_FLAGS

    flags = parse_argv(TRAIN_FLAGS, train[3:], "train_image_classifier", "")
    assert flags["model_name"] == "lenet" and flags["max_number_of_steps"] == 1500
    assert flags["optimizer"] == "sgd" and flags["learning_rate"] == 0.01 and flags["batch_size"] == 50


def test_commands_of_the_own_images_and_export_guides_parse():
    for name, scripts in (
        ("own_images.md", ["download_and_convert_data"] + ["train_image_classifier"] * 2 + ["eval_image_classifier"]),
        ("export.md", ["export_inference_graph", "freeze_graph", "label_image"]),
    ):
        commands = _commands(DOCS / name)
        assert [argv[2].rsplit(".", 1)[1] for argv in commands] == scripts, name
        for argv in commands:
            module = importlib.import_module(argv[2])
            table = getattr(module, "FLAGS", None) or getattr(module, "TRAIN_FLAGS", None)
            if table is not None:
                flags = parse_argv(table, argv[3:], argv[2], "")
                for arg in argv[3:]:
                    flag = arg[2:].split("=", 1)[0]
                    assert flag in flags or flag[2:] in flags, (name, argv[2], flag)
