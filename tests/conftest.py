"""Shared pytest configuration: one thread for torch, deterministic seeds."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("AEQKIT_HEADLESS", "1")
# one intra-op thread: the tests' small tensors gain nothing from more, and OpenMP barriers on an
# oversubscribed machine make multi-threaded small ops orders of magnitude slower
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def float64_default():
    """Run a test with float64 as torch's default dtype (where exactness is claimed)."""
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(prev)
