"""Real TF checkpoints of TF-Slim networks load into our networks and give TF's logits; ours load into TF.

The fixtures in tests/fixtures/net_checkpoints (see README.md there) were written by TensorFlow 2.21 from
``tf_slim.nets`` (the real TF-Slim code): Inception v1 and v3, ResNet v1 50 and v2 50, VGG-A and AlexNet v2 with
random weights and batch-norm statistics, each saved in the V1 format of the 2016 model zoo and in V2, with TF's
logits for fixed images; a TF-Slim train_dir with ExponentialMovingAverage shadows; and what TF computed from a V2
checkpoint our converter wrote. No TensorFlow is needed here. Logits must match TF's within 1e-4 of their scale.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import slim
from slim import evaluation
from slim.classification import evaluation as classification_evaluation
from slim.classification import training
from slim.framework import checkpoint as ckpt_lib
from slim.framework.restore import assign_from_checkpoint_fn
from slim.framework.tf_checkpoint import CheckpointReader, latest_checkpoint
from slim.nets import nets_factory, resnet_v2
from slim.optimizers import ExponentialMovingAverage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "net_checkpoints"
sys.path.insert(0, str(FIXTURES))
import net_cases as cases  # noqa: E402
import net_values  # noqa: E402
import write_ours_net  # noqa: E402

OUTPUTS = np.load(FIXTURES / cases.OUTPUTS)
TOLERANCE = 1e-4  # of the scale (max |value|) of TF's result
FORMATS = ("V1", "V2")


def thin_resnet_v2_50(inputs, num_classes=None, is_training=None, scope="resnet_v2_50"):
    """ResNet v2 50's units with thin base depths (TF-Slim's resnet_v2_50 has no depth multiplier)."""
    blocks = [
        resnet_v2.resnet_v2_block(f"block{i}", base_depth=depth, num_units=units, stride=stride)
        for i, (depth, (units, stride)) in enumerate(zip(cases.RESNET_THIN_BASE_DEPTHS, cases.RESNET_50_UNITS), 1)
    ]
    return resnet_v2.resnet_v2(inputs, blocks, num_classes, is_training, scope=scope)


# name -> network arguments that make our network the fixture's variant.
NETWORK_ARGS = {
    "inception_v3": {"depth_multiplier": cases.INCEPTION_V3_DEPTH_MULTIPLIER},
    "resnet_v1_50": {"depth_multiplier": cases.RESNET_DEPTH_MULTIPLIER},
}


def images(name: str, shape) -> torch.Tensor:
    """The fixture's images (NHWC in net_values) as our NCHW input."""
    return torch.from_numpy(net_values.images_nhwc(name, shape)).permute(0, 3, 1, 2).contiguous()


def our_model(name: str, num_classes: int | None = None, **overrides) -> slim.Model:
    """Our network of case ``name`` (factory function and arg scope), built in eval mode."""
    case = cases.CASES[name]
    spec = nets_factory.get_network_spec(name)
    function = thin_resnet_v2_50 if name == "resnet_v2_50" else spec.fn
    kwargs = {**NETWORK_ARGS.get(name, {}), **overrides}
    model = slim.Model(
        function,
        arg_scope=spec.arg_scope_fn(weight_decay=0.0),
        num_classes=num_classes or case.num_classes,
        is_training=None,
        **kwargs,
    )
    model.eval()
    model.network_name = name
    size = case.image_shape[1]
    return model.build(torch.zeros(1, 3, size, size))


def poison(model: slim.Model) -> None:
    """Sets every variable to NaN, so that one a restore misses shows in the logits."""
    with torch.no_grad():
        for value in model.state_dict().values():
            value.fill_(float("nan"))


def assert_matches_tf(ours: torch.Tensor, key: str) -> None:
    """``ours`` (NCHW if 4-D) equals TF's ``OUTPUTS[key]`` (NHWC) within TOLERANCE of its scale."""
    theirs = OUTPUTS[key]
    value = ours.detach()
    if value.dim() == 4:
        value = value.permute(0, 2, 3, 1)
    value = value.reshape(theirs.shape).numpy()
    scale = float(np.abs(theirs).max())
    error = float(np.abs(value - theirs).max())
    assert scale > 0 and np.isfinite(error), f"{key}: not finite (a variable was not restored?)"
    assert error <= TOLERANCE * scale, f"{key}: max |ours - TF| = {error:.3g} is {error / scale:.2e} of the scale"


@pytest.fixture(scope="module")
def checkpoint_root(tmp_path_factory):
    """``root(case)``: the directory holding the case's files (the full-size ones are extracted on first use)."""
    directory = tmp_path_factory.mktemp("net_checkpoints")

    def root(case: cases.Case) -> Path:
        if not case.tiled:
            return FIXTURES
        if not (directory / case.name).is_dir():
            with tarfile.open(FIXTURES / case.archive) as archive:
                archive.extractall(directory, filter="data")
        return directory

    return root


def checkpoint_path(root, name: str, checkpoint_format: str) -> Path:
    case = cases.CASES[name]
    return root(case) / (case.v1_path if checkpoint_format == "V1" else case.v2_prefix)


_MODELS: dict[str, slim.Model] = {}


@pytest.fixture(scope="module")
def models():
    """Our networks of the cases, built once per module (VGG-A's 129M values are slow to initialise)."""
    yield lambda name: _MODELS.setdefault(name, our_model(name))
    _MODELS.clear()


@pytest.mark.parametrize("checkpoint_format", FORMATS)
@pytest.mark.parametrize(
    "name", [pytest.param(c.name, marks=pytest.mark.slow) if c.tiled else c.name for c in cases.CASES.values()]
)
def test_tf_checkpoint_gives_tf_logits(name, checkpoint_format, checkpoint_root, models):
    """Every variable of our network is in the TF checkpoint under its exact name (and nothing else is), and the
    restored network computes TF's logits and end points."""
    case = cases.CASES[name]
    path = checkpoint_path(checkpoint_root, name, checkpoint_format)
    model = models(name)
    reader = CheckpointReader(path)
    assert reader.format == checkpoint_format
    assert sorted(reader.get_variable_to_shape_map()) == sorted(model.state_dict())
    poison(model)
    init_fn = assign_from_checkpoint_fn(str(path), slim.get_variables_to_restore(model=model))
    init_fn(model)
    with torch.no_grad():
        logits, end_points = model(images(name, case.image_shape))
    assert_matches_tf(logits, f"{name}/logits")
    for key in case.end_points:
        assert_matches_tf(end_points[key], f"{name}/{key}")


def test_eval_path_restores_a_tf_v1_checkpoint(checkpoint_root):
    """slim.evaluation.evaluate_once restores a model-zoo style V1 file by itself (all variables, by name)."""
    model = our_model("inception_v3")
    poison(model)
    batch = images("inception_v3", cases.CASES["inception_v3"].image_shape)
    seen = {}
    final = evaluation.evaluate_once(
        "",
        str(checkpoint_path(checkpoint_root, "inception_v3", "V1")),
        None,
        eval_op=lambda: seen.update(logits=model(batch)[0]),
        final_op=lambda: seen["logits"],
        model=model,
    )
    assert_matches_tf(final, "inception_v3/logits")


def test_train_path_fine_tunes_from_a_tf_checkpoint_with_a_new_head(checkpoint_root, tmp_path):
    """train_image_classifier's warm start: all but the excluded head scopes come from the TF checkpoint, so the
    features before the new 5-class head are TF's."""
    model = our_model("inception_v3", num_classes=5)
    poison(model)
    init_fn = training.get_init_fn(
        model,
        str(tmp_path / "train_dir"),
        str(checkpoint_path(checkpoint_root, "inception_v3", "V2")),
        "InceptionV3/Logits,InceptionV3/AuxLogits",
        ignore_missing_vars=False,
    )
    init_fn(model)
    with torch.no_grad():
        logits, end_points = model(images("inception_v3", cases.CASES["inception_v3"].image_shape))
    assert_matches_tf(end_points["PreLogits"], "inception_v3/PreLogits")
    assert logits.shape == (2, 5) and torch.isnan(logits).all()  # the new head was left alone


@pytest.mark.parametrize(
    ("name", "scopes"),
    [
        ("inception_v3", "--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits"),
        ("resnet_v1_50", "--checkpoint_exclude_scopes=resnet_v1_50/logits"),
        ("resnet_v2_50", "--checkpoint_exclude_scopes=resnet_v2_50/logits"),
    ],
)
def test_head_mismatch_names_the_logits_scope_and_the_fix(name, scopes, checkpoint_root):
    """Restoring into a network with another class count fails on the head, and the message says which scopes to
    exclude (the network's own logits scopes, which the fix must name exactly since exclusion is a prefix match)."""
    model = our_model(name, num_classes=cases.CASES[name].num_classes + 3)
    path = checkpoint_path(checkpoint_root, name, "V2")
    with pytest.raises(ValueError) as error:
        assign_from_checkpoint_fn(str(path), slim.get_variables_to_restore(model=model))(model)
    message = str(error.value)
    assert "classification head" in message and scopes in message and str(path) in message
    # The fix works: excluding exactly those scopes restores the rest.
    exclude = scopes.split("=", 1)[1].split(",")
    assign_from_checkpoint_fn(str(path), slim.get_variables_to_restore(exclude=exclude, model=model))(model)


def test_head_mismatch_with_1001_classes_mentions_the_background_class(tmp_path):
    """A 1001-class checkpoint into a 1000-class model: the message explains the background class and labels_offset."""
    source = our_model("resnet_v1_50", num_classes=1001)
    ckpt_lib.save_checkpoint(tmp_path / "model.ckpt-1", source.state_dict(), {})
    target = our_model("resnet_v1_50", num_classes=1000)
    with pytest.raises(ValueError, match=r"resnet_v1_50/logits.*1001 classes.*'background'.*--labels_offset=1"):
        assign_from_checkpoint_fn(str(tmp_path), slim.get_variables_to_restore(model=target))(target)


@pytest.mark.parametrize(
    ("name", "overrides", "fix"),
    [
        ("inception_v3", {"depth_multiplier": 0.2}, "Build inception_v3 with depth_multiplier=0.1"),
        ("resnet_v1_50", {"depth_multiplier": 0.25}, "Build resnet_v1_50 with depth_multiplier=0.0625"),
    ],
)
def test_depth_multiplier_mismatch_names_the_fitting_variant(name, overrides, fix, checkpoint_root):
    """A checkpoint of a thinner variant: the message names the depth multiplier that fits the checkpoint."""
    model = our_model(name, **overrides)
    path = checkpoint_path(checkpoint_root, name, "V1")
    with pytest.raises(ValueError, match="another depth multiplier") as error:
        assign_from_checkpoint_fn(str(path), slim.get_variables_to_restore(model=model))(model)
    assert fix in str(error.value)
    fitted = our_model(name, depth_multiplier=float(fix.rsplit("=", 1)[1]))
    assign_from_checkpoint_fn(str(path), slim.get_variables_to_restore(model=fitted))(fitted)


def test_depth_multiplier_mismatch_names_the_registered_variant(tmp_path):
    """When the factory has the fitting width as a variant of its own (mobilenet_v1_050), the message names it."""
    half = nets_factory.get_network_fn("mobilenet_v1_050", num_classes=4).build(torch.zeros(1, 3, 64, 64))
    ckpt_lib.save_checkpoint(tmp_path / "model.ckpt-1", half.state_dict(), {})
    full = nets_factory.get_network_fn("mobilenet_v1", num_classes=4).build(torch.zeros(1, 3, 64, 64))
    with pytest.raises(
        ValueError, match=r"Use the model variant that fits it: mobilenet_v1_050 \(depth_multiplier=0.5\)"
    ):
        assign_from_checkpoint_fn(str(tmp_path), slim.get_variables_to_restore(model=full))(full)


def ema_model() -> slim.Model:
    model = our_model(cases.EMA_NET)
    poison(model)
    return model


def ema_images() -> torch.Tensor:
    return images(cases.EMA_DIR, cases.CASES[cases.EMA_NET].image_shape)


def test_ema_shadows_restore_into_the_model_variables():
    """A TF-Slim train_dir with ExponentialMovingAverage shadows: ``ema.variables_to_restore()`` maps the shadow
    names onto the model variables and gives TF's averaged logits; a plain restore gives the raw variables'."""
    model = ema_model()
    averages = ExponentialMovingAverage(cases.EMA_DECAY)
    averages.apply(slim.get_model_variables(model=model))
    assign_from_checkpoint_fn(str(FIXTURES / cases.EMA_DIR), averages.variables_to_restore())(model)
    with torch.no_grad():
        assert_matches_tf(model(ema_images())[0], "ema/logits")
    assign_from_checkpoint_fn(str(FIXTURES / cases.EMA_DIR), slim.get_variables_to_restore(model=model))(model)
    with torch.no_grad():
        assert_matches_tf(model(ema_images())[0], "ema/raw_logits")


def test_eval_path_restores_ema_shadows_and_reads_the_global_step():
    """eval_image_classifier's --moving_average_decay mapping through evaluate_once, on the train directory."""
    model = ema_model()
    seen = {}
    final = evaluation.evaluate_once(
        "",
        str(FIXTURES / cases.EMA_DIR),
        None,
        eval_op=lambda: seen.update(logits=model(ema_images())[0]),
        final_op=lambda: seen["logits"],
        variables_to_restore=classification_evaluation._variables_to_restore(model, cases.EMA_DECAY),
        model=model,
    )
    assert_matches_tf(final, "ema/logits")
    latest = latest_checkpoint(FIXTURES / cases.EMA_DIR)
    assert evaluation.checkpoint_global_step(latest) == cases.EMA_STEP


# --- our V2 writer, verified by real TF ----------------------------------------------------------------------------


def test_converter_reproduces_the_checkpoint_tf_read(tmp_path):
    """Today's converter writes, byte for byte, the V2 checkpoint that TF restored (make_net_checkpoints.py), so
    TF's recorded results apply to it."""
    prefix = write_ours_net.write_tf_checkpoint(tmp_path / write_ours_net.TF_PREFIX.name)
    committed = write_ours_net.TF_PREFIX
    for suffix in (".index", ".data-00000-of-00001"):
        assert Path(prefix + suffix).read_bytes() == Path(f"{committed}{suffix}").read_bytes(), suffix
    assert (tmp_path / "checkpoint").read_text() == (committed.parent / "checkpoint").read_text()


def test_tf_restored_our_checkpoint_into_tf_slim_and_computed_our_logits():
    """TF-Slim's network restored from our V2 checkpoint (raw and EMA-averaged) computes what our network computes
    from the same values; TF saw every variable, every shadow and the global step."""
    model = write_ours_net.ours_model()
    tensors = write_ours_net.slim_tensors(model)
    batch = images(cases.OURS_DIR, cases.OURS_IMAGE_SHAPE)
    names = sorted(n.decode() for n in OUTPUTS["ours_to_tf/names"])
    assert names == sorted([*tensors, "global_step"])
    assert int(OUTPUTS["ours_to_tf/global_step"]) == cases.OURS_STEP
    assert set(OUTPUTS["ours_to_tf/dtypes"].astype(str)) == {"float32", "int64"}
    model.load_state_dict({name: tensors[name] for name in model.state_dict()})
    with torch.no_grad():
        assert_matches_tf(model(batch)[0], "ours_to_tf/logits")
    suffix = net_values.EMA_SUFFIX
    model.load_state_dict({name: tensors[name + suffix] for name in model.state_dict()})
    with torch.no_grad():
        assert_matches_tf(model(batch)[0], "ours_to_tf/ema_logits")
