"""Shared pytest configuration: one thread for torch, deterministic seeds."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("AEQKIT_HEADLESS", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
