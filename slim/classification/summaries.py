"""The TensorBoard summaries train_image_classifier records (TF-Slim's names)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from slim import summaries
from slim.framework.collections import GraphKeys
from slim.framework.context import current_frame


def record_training_summaries(
    end_points: Mapping[str, torch.Tensor],
    model: torch.nn.Module,
    learning_rate: float,
    total_loss: torch.Tensor,
    images: torch.Tensor,
) -> None:
    """activations/<end point> histograms, sparsity/<end point> zero fractions, losses/<loss>, the learning rate,
    the total loss, a histogram per model variable and the input images, as TF-Slim's script records them."""
    for name, tensor in end_points.items():
        summaries.add_histogram_summary(tensor, name=f"activations/{name}")
        summaries.add_zero_fraction_summary(tensor, name=f"sparsity/{name}")
    for name, loss in current_frame().collections.items(GraphKeys.LOSSES):
        summaries.add_scalar_summary(loss, name=f"losses/{name}")
    for name, variable in model.state_dict().items():
        if variable.is_floating_point():
            summaries.add_histogram_summary(variable, name=name)
    summaries.add_scalar_summary(torch.tensor(learning_rate), name="learning_rate")
    summaries.add_scalar_summary(total_loss, name="total_loss")
    shown = images[:3].detach().float()
    low, high = shown.amin(), shown.amax()
    summaries.add_image_summary((shown - low) / (high - low + 1e-8), name="images")
