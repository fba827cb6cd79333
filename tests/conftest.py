"""Shared test set-up: every test starts with an empty default graph and arg-scope stack, and seeded RNGs."""

import pytest
import torch

import slim


@pytest.fixture(autouse=True)
def _fresh_default_graph():
    slim.reset_default_graph()
    torch.manual_seed(0)
    yield
    slim.reset_default_graph()
