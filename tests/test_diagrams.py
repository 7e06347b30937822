"""The method schematics of aeqkit.diagrams: what each picture must show, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aeqkit import diagrams, viz


@pytest.mark.parametrize("banks, order", [(1, 2), (3, 4), (4, 8)])
def test_relaxed_group_conv_diagram_draws_banks_by_elements(banks: int, order: int) -> None:
    fig = diagrams.relaxed_group_conv_diagram(banks, order)
    meta = fig.layout.meta
    cells = [b for b in meta["boxes"] if b.startswith("w_")]
    assert len(cells) == banks * order  # one relaxed weight w_l(h) per bank and element
    assert [b for b in meta["boxes"] if b.startswith("Psi_")] == [f"Psi_{i + 1}" for i in range(banks)]
    assert sum(b.startswith("Psi(g,") for b in meta["boxes"]) == order  # Eq. 4 per column h
    assert ["Psi(g,h)", "output"] in meta["arrows"]  # ... summed over h (Eq. 5)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "Eq. 4" in texts and "Eq. 5" in texts
    assert not meta["equivariant"] and fig.layout.width <= viz.MAX_FIGURE_WIDTH


def test_relaxed_group_conv_diagram_shows_given_weights() -> None:
    w = torch.ones(2, 4)
    fig = diagrams.relaxed_group_conv_diagram(2, 4, relaxed_weights=w)
    assert fig.layout.meta["equivariant"]  # equal columns: exactly equivariant, and it says so
    assert any("exactly G-equivariant" in a.text for a in fig.layout.annotations)
    fills = {s.fillcolor for s in fig.layout.shapes if s.type == "rect"}
    w[1, 2] = 1.5
    broken = diagrams.relaxed_group_conv_diagram(2, 4, relaxed_weights=w)
    assert broken.layout.meta["weights"][1][2] == 1.5 and not broken.layout.meta["equivariant"]
    assert len({s.fillcolor for s in broken.layout.shapes if s.type == "rect"}) > len(fills)
    with pytest.raises(ValueError, match=r"relaxed_weights of shape \(L, N\)"):
        diagrams.relaxed_group_conv_diagram(2, 4, relaxed_weights=torch.ones(3, 4))
    with pytest.raises(ValueError, match="group_order"):
        diagrams.relaxed_group_conv_diagram(2, 1)


def test_relaxed_steerable_diagram_combines_basis_and_position_weights() -> None:
    fig = diagrams.relaxed_steerable_diagram(3, 5, breaking=0.5)
    meta = fig.layout.meta
    assert [b for b in meta["boxes"] if b.startswith("Phi_")] == ["Phi_1", "Phi_2", "Phi_3"]
    assert [b for b in meta["boxes"] if b.startswith("w_")] == ["w_1", "w_2", "w_3"]
    assert ["sum over l", "Phi"] in meta["arrows"]
    images = [t for t in fig.data if t.type == "heatmap"]
    assert len(images) == 2 * 3 + 1 and all(np.asarray(t.z).shape == (5, 5) for t in images)
    assert meta["kernel_rotation_error"] > 0.05  # position weights break rotation symmetry
    exact = diagrams.relaxed_steerable_diagram(3, 5, breaking=0.0).layout.meta
    assert exact["kernel_rotation_error"] < 1e-6  # constant weights: an equivariant kernel (Eq. 6)
    assert any("Eq. 7" in a.text for a in fig.layout.annotations)
    assert fig.layout.width <= viz.MAX_FIGURE_WIDTH
    with pytest.raises(ValueError, match="odd kernel_size"):
        diagrams.relaxed_steerable_diagram(3, 4)
    with pytest.raises(ValueError, match="breaking"):
        diagrams.relaxed_steerable_diagram(3, 5, breaking=-1.0)


def test_liegan_diagram_is_a_loop() -> None:
    fig = diagrams.liegan_diagram(num_generators=2)
    meta = fig.layout.meta
    assert {"data", "generator", "transformed", "real", "discriminator", "verdict"} <= set(meta["boxes"])
    forward = [["data", "generator"], ["generator", "transformed"], ["transformed", "discriminator"],
               ["real", "discriminator"], ["discriminator", "verdict"]]
    assert all(a in meta["arrows"] for a in forward)
    assert ["discriminator", "generator"] in meta["arrows"]  # the generator's loss flows back
    assert ["verdict", "discriminator"] in meta["arrows"]  # the discriminator's loss
    text = " ".join(a.text for a in fig.layout.annotations)
    assert "L<sub>2</sub>" in text and "exp(" in text
    assert fig.layout.width <= viz.MAX_FIGURE_WIDTH
    with pytest.raises(ValueError, match="num_generators"):
        diagrams.liegan_diagram(0)
    with pytest.raises(ValueError, match="two data labels"):
        diagrams.liegan_diagram(labels=["x"])
