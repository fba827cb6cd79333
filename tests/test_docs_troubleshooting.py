"""Every ``--flag`` named in docs/troubleshooting.md is a flag of train_image_classifier or eval_image_classifier."""

import re
from pathlib import Path

from slim.scripts.eval_image_classifier import FLAGS as EVAL_FLAGS
from slim.scripts.train_flags import TRAIN_FLAGS

DOC = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"


def test_every_flag_named_in_the_doc_exists():
    known = {flag.name for flag in TRAIN_FLAGS} | {flag.name for flag in EVAL_FLAGS}
    text = DOC.read_text()
    named = set(re.findall(r"`--([a-z_0-9]+)", text))
    assert named, "the doc names flags"
    assert named <= known, sorted(named - known)
