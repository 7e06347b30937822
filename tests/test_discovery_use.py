"""aeqkit.discovery downstream: augmentation with a group, and the pure figure builders."""

from __future__ import annotations

import pytest
import torch

from aeqkit.discovery import (
    augmentation_comparison,
    group_sampler,
    make_two_body,
    so2_generator,
)
from aeqkit.discovery.figures import generator_heatmaps, ring_breaking_figure, similarity_curve


def test_group_sampler_gives_rotations() -> None:
    g = group_sampler(2.0 * so2_generator(2), magnitude=2.0)(50)
    eye = torch.eye(4).expand(50, 4, 4)
    assert torch.allclose(g @ g.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(g), torch.ones(50), atol=1e-5)
    with pytest.raises(ValueError, match="square"):
        group_sampler(torch.zeros(2, 3))


def test_true_group_augmentation_beats_none_on_unseen_orientations() -> None:
    data = make_two_body(
        n_trajectories=80,
        n_steps=11,
        t_end=2.0,
        input_steps=4,
        split="orientation",
        test_fraction=0.5,
        seed=1,
    )
    res = augmentation_comparison(data, so2_generator(1), magnitude=3.0, steps=400, hidden=64)
    assert set(res) == {"none", "discovered", "true"}
    assert all(v > 0 for v in res.values())
    # the held-out half of orientations: augmentation with the true group generalises there
    assert res["true"] < 0.5 * res["none"], res
    # here "discovered" is the exact tied generator, so it matches the true group closely
    assert res["discovered"] < 0.5 * res["none"], res


def test_figure_builders() -> None:
    learned = torch.tensor([[0.1, 2.0], [-1.9, 0.0]])
    fig = generator_heatmaps(learned, so2_generator(1))
    assert len(fig.data) == 2
    z = torch.tensor(fig.data[0].z, dtype=torch.float32)
    assert torch.allclose(z, learned * (-3.9 / (0.01 + 4 + 3.61)), atol=1e-6)  # aligned sign
    with pytest.raises(ValueError, match="size"):
        generator_heatmaps(learned, torch.eye(3))
    hist = {"step": [10, 20], "similarity": [0.5, 0.99], "magnitude": [3.0, 3.0]}
    assert len(similarity_curve(hist, show_magnitude=True).data) == 2
    with pytest.raises(ValueError, match="similarity"):
        similarity_curve({"step": [1], "similarity": []})


def test_ring_breaking_figure_reports_more_distinguishable_rotations_when_broken() -> None:
    acc = {b: ring_breaking_figure(b, n_samples=1200).layout.meta["distinguishability"] for b in (0.0, 1.0)}
    # b = 1: the Bayes-optimal accuracy between density (1 + cos 2θ)/2π and uniform is ~0.66
    assert acc[0.0] < 0.58 < acc[1.0], acc


def test_discover_runs_on_flow_pairs_and_with_int_grid() -> None:
    from aeqkit.discovery import discover, flow_pairs

    frames = torch.randn(4, 2, 8, 8)
    d = flow_pairs(frames, n_samples=64)
    res = discover(d.x_train, d.y_train, 2, steps=5, eval_every=5,
                   true_generator=so2_generator(1))
    assert len(res.history["similarity"]) == 1 and res.steps == 5
    res = discover(d.x_train, d.y_train, 2, steps=3, coef_dist="int_grid", n_channels=2)
    assert res.generator.basis().shape == (2, 2, 2) and res.history["similarity"] == []
    closure = res.closure()
    assert closure.structure_constants.shape == (2, 2, 2) and closure.residual >= 0
