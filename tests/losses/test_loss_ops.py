"""slim.losses against values computed by real TF-Slim (tests/fixtures/training/make_training_fixtures.py)."""

from pathlib import Path

import numpy as np
import pytest
import torch

import slim

REF = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "training" / "training_reference.npz")
L = slim.losses


def t(name):
    return torch.from_numpy(REF[name])


CASES = {
    "softmax_ce": lambda: L.softmax_cross_entropy(t("loss_logits"), t("loss_onehot")),
    "softmax_ce_smooth": lambda: L.softmax_cross_entropy(t("loss_logits"), t("loss_onehot"), label_smoothing=0.1),
    "softmax_ce_weighted": lambda: L.softmax_cross_entropy(
        t("loss_logits"), t("loss_onehot"), weights=t("loss_weights_vec")
    ),
    "softmax_ce_scalar_weight": lambda: L.softmax_cross_entropy(t("loss_logits"), t("loss_onehot"), weights=0.4),
    "sparse_ce": lambda: L.sparse_softmax_cross_entropy(t("loss_logits"), t("loss_labels")),
    "sparse_ce_weighted": lambda: L.sparse_softmax_cross_entropy(
        t("loss_logits"), t("loss_labels"), weights=t("loss_weights_vec")
    ),
    "sigmoid_ce": lambda: L.sigmoid_cross_entropy(t("loss_pred") * 4 - 2, t("loss_binary")),
    "sigmoid_ce_smooth": lambda: L.sigmoid_cross_entropy(t("loss_pred") * 4 - 2, t("loss_binary"), label_smoothing=0.2),
    "log_loss": lambda: L.log_loss(t("loss_pred"), t("loss_binary")),
    "log_loss_weighted_2d": lambda: L.log_loss(t("loss_pred"), t("loss_binary"), weights=t("loss_weights_2d")),
    "absolute_difference": lambda: L.absolute_difference(t("loss_pred"), t("loss_target")),
    "absolute_difference_weighted": lambda: L.absolute_difference(
        t("loss_pred"), t("loss_target"), weights=t("loss_weights_vec").reshape(6, 1)
    ),
    "mean_squared_error": lambda: L.mean_squared_error(t("loss_pred"), t("loss_target")),
    "mean_squared_error_weighted_2d": lambda: L.mean_squared_error(
        t("loss_pred"), t("loss_target"), weights=t("loss_weights_2d")
    ),
    "mean_squared_error_zero_weight": lambda: L.mean_squared_error(t("loss_pred"), t("loss_target"), weights=0.0),
    "mean_pairwise_squared_error": lambda: L.mean_pairwise_squared_error(t("loss_pred"), t("loss_target")),
    "mean_pairwise_squared_error_weighted": lambda: L.mean_pairwise_squared_error(
        t("loss_pred"), t("loss_target"), weights=t("loss_weights_vec").reshape(6, 1)
    ),
    "cosine_distance": lambda: L.cosine_distance(t("loss_unit_p"), t("loss_unit_t"), dim=1),
    "hinge_loss": lambda: L.hinge_loss(t("loss_pred") * 4 - 2, t("loss_binary")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_tf(name):
    value = CASES[name]()
    assert np.allclose(value.numpy(), REF[f"loss_{name}"], rtol=1e-5, atol=1e-6), (value, REF[f"loss_{name}"])


def test_losses_collection_and_total_matches_tf():
    with slim.collection_scope():
        for name in sorted(CASES):
            CASES[name]()
        total = L.get_total_loss(add_regularization_losses=False)
        names = [n for n, _ in slim.framework.current_frame().collections.items("losses")]
    assert np.allclose(total.numpy(), REF["loss_total_of_collection"], rtol=1e-5)
    assert "softmax_cross_entropy_loss/value" in names and "softmax_cross_entropy_loss_1/value" in names
    assert not any("hinge" in n for n in names)  # hinge_loss is unreduced and not collected


def test_scope_names_and_errors():
    with slim.collection_scope():
        L.softmax_cross_entropy(t("loss_logits"), t("loss_onehot"), weights=0.4, scope="aux_loss")
        assert [n for n, _ in slim.framework.current_frame().collections.items("losses")] == ["aux_loss/value"]
        assert len(L.get_losses(scope="aux")) == 1 and L.get_losses(scope="main") == []
    with pytest.raises(ValueError, match="incompatible"):
        L.mean_squared_error(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="You must specify 'axis'"):
        L.cosine_distance(torch.zeros(2, 3), torch.zeros(2, 3))
    with slim.collection_scope(), pytest.raises(ValueError, match="No losses"):
        L.get_total_loss()
