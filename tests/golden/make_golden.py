"""Regenerates tests/golden/<network>.json from the TF-Slim facts in ../shared/reference (run on purpose only).

    python tests/golden/make_golden.py [--reference ../shared/reference]

Each golden file holds, for one factory network, what real TF-Slim built (nets_variables.json, nets_facts.json):
every variable's name with its shape converted to our layout, the parameter count, and the end points with their
shapes permuted from NHWC (NDHWC) to NCHW (NCDHW). The tests compare our networks against these files; they are
facts about TF-Slim, not recordings of our own output.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent


def to_our_layout(name: str, shape: list[int]) -> list[int]:
    """TF variable shape -> the shape slim stores (conv OIHW / OIDHW, dense [out, in], depthwise [in, mult, kh, kw])."""
    if len(shape) == 4 and name.endswith("depthwise_weights"):
        return [shape[2], shape[3], shape[0], shape[1]]
    if len(shape) == 4:
        return [shape[3], shape[2], shape[0], shape[1]]
    if len(shape) == 5:
        return [shape[4], shape[3], shape[0], shape[1], shape[2]]
    if len(shape) == 2 and name.endswith("weights"):
        return [shape[1], shape[0]]
    return list(shape)


def to_channels_first(shape: list[int]) -> list[int]:
    if len(shape) == 4:
        return [shape[0], shape[3], shape[1], shape[2]]
    if len(shape) == 5:
        return [shape[0], shape[4], shape[1], shape[2], shape[3]]
    return list(shape)


def _dump(golden: dict) -> str:
    """JSON with one variable or end point per line (readable diffs when a golden file is regenerated)."""
    lines = ["{"]
    items = list(golden.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], list):
            body = ",\n".join(f"  {json.dumps(v)}" for v in value)
            lines.append(f" {json.dumps(key)}: [\n{body}\n ]{comma}")
        elif isinstance(value, dict) and value:
            body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(f" {json.dumps(key)}: {{\n{body}\n }}{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    return "\n".join(lines) + "\n}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=str(HERE.parents[2] / "shared" / "reference"))
    args = parser.parse_args()
    reference = Path(args.reference)
    facts = {n["name"]: n for n in json.loads((reference / "nets_facts.json").read_text())["networks"]}
    variables = json.loads((reference / "nets_variables.json").read_text())["networks"]
    for name, fact in facts.items():
        derived = fact["derived"]
        var_entry = variables[name]
        ours = [[v, to_our_layout(v, s)] for v, s in var_entry["variables_train_graph"]]
        end_points = dict(derived.get("end_points_eval") or {})
        train_only = dict(derived.get("end_points_train_only") or {})
        golden = {
            "name": name,
            "num_classes": derived["num_classes_used"],
            "input_shape": to_channels_first(derived["input_shape"]),
            "default_image_size": fact["default_image_size"],
            "scope": fact["scope"],
            "logits_scope": fact["logits_scope"],
            "aux_logits_scope": fact["aux_logits_scope"],
            "logits_shape": to_channels_first(derived["logits_shape"]) if derived.get("logits_shape") else None,
            "num_params_train_graph": sum(math.prod(s) for _, s in var_entry["variables_train_graph"]),
            "num_params_model_variables_eval_graph": derived.get("num_params_model_variables_eval_graph"),
            "variables": ours,
            "end_points_eval": {k: to_channels_first(v) for k, v in end_points.items()},
            "end_points_train_only": {k: to_channels_first(v) for k, v in train_only.items()},
        }
        (HERE / f"{name}.json").write_text(_dump(golden))
    print(f"wrote {len(facts)} golden files to {HERE}")


if __name__ == "__main__":
    main()
