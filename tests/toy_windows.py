"""Toy forecasting data shared by the training, reproduce and sweep tests."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class ToyWindows(Dataset):
    """Sliding windows ``(x: (10, C, H, W), y: (k, C, H, W))`` over trajectories ``(N, T, C, H, W)``."""

    def __init__(self, traj: torch.Tensor, k: int):
        self.traj, self.k = traj, k
        self.per = traj.shape[1] - 10 - k + 1

    def __len__(self) -> int:
        return self.traj.shape[0] * self.per

    def __getitem__(self, i: int):
        n, t = divmod(i, self.per)
        return self.traj[n, t : t + 10], self.traj[n, t + 10 : t + 10 + self.k]


def rolling_trajectories(n: int, seed: int, size: int = 8, steps: int = 24) -> torch.Tensor:
    """``(n, steps, 2, size, size)``: random fields rolled one cell a step and damped by 0.97."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, 2, size, size, generator=g)
    return torch.stack([torch.roll(x0, t, dims=-1) * 0.97**t for t in range(steps)], dim=1)
