"""Pure figure builders (aeqkit.viz) over their control ranges, and the widget shells (aeqkit.widgets)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from aeqkit import explore, viz, widgets

# ----------------------------------------------------------------------------- data builders


def test_field_figure_scalar_keeps_origin_lower() -> None:
    field = np.zeros((8, 8))
    field[0, 3] = 1.0  # row 0 = bottom (y up)
    fig = viz.field_figure(field)
    z = np.asarray(fig.data[0].z)
    assert z[0, 3] == 1.0 and z.sum() == 1.0
    assert fig.layout.yaxis.autorange != "reversed"
    assert list(fig.data[0].y)[0] < list(fig.data[0].y)[-1]  # y increases upwards


@pytest.mark.parametrize("uv, direction", [((1.0, 0.0), "x"), ((0.0, 1.0), "y")])
def test_field_figure_vector_arrows_point_along_velocity(uv, direction) -> None:
    field = np.stack([np.full((16, 16), uv[0]), np.full((16, 16), uv[1])])
    fig = viz.field_figure(field, kind="quiver", quiver_max=4)
    assert len(fig.data) == 2
    xs = np.asarray(fig.data[1].x, dtype=float).reshape(-1, 3)
    ys = np.asarray(fig.data[1].y, dtype=float).reshape(-1, 3)
    dx, dy = xs[:, 1] - xs[:, 0], ys[:, 1] - ys[:, 0]
    if direction == "x":
        assert (dx > 0).all() and np.allclose(dy, 0)
    else:
        assert (dy > 0).all() and np.allclose(dx, 0)  # +v points up the page


def test_field_figure_magnitude_and_downsampling() -> None:
    field = np.random.default_rng(0).normal(size=(2, 128, 128))
    fig = viz.field_figure(field, kind="magnitude", max_size=32)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (32, 32) and len(fig.data) == 1
    expected = np.hypot(field[0], field[1])[::4, ::4]
    assert np.allclose(z, expected, atol=1e-2 * expected.max())  # rounded for display


def test_field_figure_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="vector field"):
        viz.field_figure(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="kind"):
        viz.field_figure(np.zeros((4, 4)), kind="nope")
    with pytest.raises(ValueError, match="max_size"):
        viz.downsample(np.zeros((4, 4)), 1)


def test_fields_grid_shares_one_colour_range() -> None:
    a, b = np.zeros((8, 8)), np.ones((8, 8)) * 3
    fig = viz.fields_grid([a, b], titles=["a", "b"])
    ranges = {(t.zmin, t.zmax) for t in fig.data}
    assert ranges == {(0.0, 3.0)}
    with pytest.raises(ValueError, match="grid"):
        viz.fields_grid([a, b, a], rows=1, cols=2)


def test_equivariance_error_bars_reports_sup_and_mean() -> None:
    fig = viz.equivariance_error_bars({"0°": 0.0, "90°": 0.2, "180°": 0.4})
    assert list(fig.data[0].x) == ["0°", "90°", "180°"]
    assert fig.layout.meta["sup"] == pytest.approx(0.4)
    assert fig.layout.meta["mean"] == pytest.approx(0.2)


def test_error_vs_strength_checks_lengths() -> None:
    fig = viz.error_vs_strength([0, 1, 2], {"a": [0, 1, 2], "b": [0, 2, 4]}, current=1)
    assert len(fig.data) == 2
    with pytest.raises(ValueError, match="one per strength"):
        viz.error_vs_strength([0, 1, 2], [0, 1])


def test_relaxed_weights_figure_spread_zero_iff_equal() -> None:
    assert viz.relaxed_weights_figure(torch.ones(3, 4)).layout.meta["spread"] == 0.0
    w = torch.ones(3, 4)
    w[1, 2] = 1.5
    assert viz.relaxed_weights_figure(w).layout.meta["spread"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="element labels"):
        viz.relaxed_weights_figure(w, element_labels=["a"])


def test_irrep_spectrum_figure_fractions() -> None:
    fig = viz.irrep_spectrum_figure([3.0, 0.0, 1.0], allowed=["k=0", "k=2"])
    assert list(fig.data[0].x) == ["k=0", "k=1", "k=2"]
    assert fig.layout.meta["fraction"] == {"k=0": 0.75, "k=1": 0.0, "k=2": 0.25}


def test_kernel_figure_draws_banks_by_elements() -> None:
    fig = viz.kernel_figure(np.random.default_rng(0).normal(size=(2, 4, 3, 3)))
    assert len(fig.data) == 8
    assert fig.layout.meta["banks"] == 2 and fig.layout.meta["elements"] == 4


def test_rollout_figure_rows_steps_and_rmse() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(12, 2, 16, 16))
    fig = viz.rollout_figure(target, {"perfect": target, "noisy": target + 0.1})
    assert fig.layout.meta["steps"] == [1, 5, 10]  # 20 > T is dropped
    assert len(fig.data) == 3 * 3
    assert fig.layout.meta["rmse"]["perfect"] == [0.0, 0.0, 0.0]
    assert fig.layout.meta["rmse"]["noisy"] == pytest.approx([0.1] * 3)
    with pytest.raises(ValueError, match="target's shape"):
        viz.rollout_figure(target, {"bad": target[:5]})


def test_error_map_figure_mae() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(size=(5, 2, 23, 62))
    fig = viz.error_map_figure(target, {"a": target, "b": target + 0.5})
    assert fig.layout.meta["mae"] == {"a": 0.0, "b": pytest.approx(0.5)}
    assert len(fig.data) == 3


def test_model_vs_data_error_has_diagonal() -> None:
    fig = viz.model_vs_data_error([0, 0.1, 0.2], {"RSteer": [0, 0.08, 0.2], "E2CNN": [0, 0, 0]})
    assert [t.name for t in fig.data] == ["RSteer", "E2CNN", "y = x"]
    with pytest.raises(ValueError, match="one per data set"):
        viz.model_vs_data_error([0, 1], {"a": [0]})


def test_animation_gallery_caps_frames_and_size() -> None:
    traj = np.random.default_rng(0).normal(size=(100, 2, 64, 64))
    fig = viz.animation_gallery({"a": traj, "b": traj}, max_frames=10, max_size=32)
    assert len(fig.frames) == 10 and fig.layout.meta["frame_index"][0] == 0
    assert fig.layout.meta["frame_index"][-1] == 99
    assert np.asarray(fig.frames[0].data[0].z).shape == (32, 32)
    assert len(fig.to_json()) < 400_000
    with pytest.raises(ValueError, match="same T"):
        viz.animation_gallery({"a": traj, "b": traj[:5]})


def test_metric_table_figure() -> None:
    fig = viz.metric_table_figure([{"model": "Conv", "rmse": 0.5}, {"model": "RSteer", "rmse": None}])
    assert list(fig.data[0].cells.values[1]) == ["0.5", "—"]


# ----------------------------------------------------------------------------- view builders


# The computations behind these views are tested in tests/test_explore.py; here: the figures.


def test_breaking_strength_figure_draws_the_sweep() -> None:
    sweep = explore.breaking_strength_sweep(0.5, n_points=3)
    fig = viz.breaking_strength_figure(sweep)
    bars, curve, current = fig.data
    assert list(bars.x) == list(sweep.per_element) and list(curve.y) == sweep.curve
    assert current.x == (0.5,) and current.y == (sweep.equivariance_error,)
    assert f"{sweep.equivariance_error:.4g}" in fig.layout.title.text  # the readout's number
    assert fig.layout.meta is None  # results are read from the sweep, not from the figure


def test_views_are_compute_then_draw() -> None:
    result, fig = viz.heat_view.run(0.4, size=16, steps=10, snapshots=(0, 9), diff_zmax=0.3)
    assert isinstance(result, explore.HeatRotationRun) and result.beta == 0.4
    assert fig.data[-1].zmax == 0.3  # diff_zmax went to the drawing, the rest to the simulation
    again = viz.heat_figure(explore.heat_rotation_run(0.4, size=16, steps=10, snapshots=(0, 9)),
                            diff_zmax=0.3)
    assert again.layout.title.text == fig.layout.title.text
    assert f"{result.data_equivariance_error:.4g}" in fig.layout.title.text
    with pytest.raises(ValueError, match="beta"):
        viz.heat_view(1.2)
    run = explore.train_relaxed_layer(group_order=4, steps=2, size=6)
    fig = viz.relaxed_layer_figure(run)
    assert f"{run.equivariance_error:.4g}" in fig.layout.title.text
    assert list(fig.data[2].x) == ["0°", "90°", "180°", "270°"]  # error per exact rotation
    with pytest.raises(ValueError, match="even group_order"):
        viz.relaxed_layer_view(2, 0.0, 3)


def test_interactive_view_reads_the_result(monkeypatch) -> None:
    monkeypatch.setenv("AEQKIT_HEADLESS", "1")
    view = widgets.interactive_view(
        compute=explore.heat_rotation_run, draw=viz.heat_figure, readout="data_equivariance_error",
        fixed={"size": 16, "steps": 10, "snapshots": (0, 9), "diff_zmax": 0.5}, display=False,
        beta=widgets.Control(0.0, 0.8, 0.4, 0.0, label="β"))
    assert view.readout < 1e-12 and view.result.beta == 0.0 and view.figure.data[-1].zmax == 0.5
    view.update(beta=0.4)
    assert view.readout == view.result.data_equivariance_error > 1e-4
    same = widgets.interactive_view(viz.heat_view, readout=lambda r: r.max_rotation_difference,
                                    fixed={"size": 16, "steps": 10, "snapshots": (0, 9)},
                                    display=False, beta=widgets.Control(0.0, 0.8, 0.4, 0.4))
    assert same.readout == pytest.approx(view.result.max_rotation_difference)
    with pytest.raises(ValueError, match="attribute 'missing'"):
        widgets.interactive_view(viz.heat_view, readout="missing", display=False,
                                 fixed={"size": 16, "steps": 10, "snapshots": (0, 9)})
    with pytest.raises(ValueError, match="compute= and draw="):
        widgets.interactive_view(compute=explore.heat_rotation_run, display=False)


# ----------------------------------------------------------------------------- widgets


def _toy_builder(beta: float = 0.0, n: int = 4) -> go.Figure:
    return go.Figure(go.Bar(x=list(range(n)), y=[beta] * n), layout={"meta": {"err": 2 * beta}})


def test_setup_plotly_headless_is_compact(monkeypatch) -> None:
    monkeypatch.setenv("AEQKIT_HEADLESS", "1")
    monkeypatch.delenv("AEQKIT_PLOTLY_RENDERER", raising=False)
    assert widgets.is_headless()
    assert widgets.setup_plotly() == "plotly_mimetype"
    monkeypatch.setenv("AEQKIT_HEADLESS", "0")
    assert widgets.setup_plotly() == "jupyterlab"
    with pytest.raises(ValueError, match="plotly renderer"):
        widgets.setup_plotly("no_such_renderer")


def test_interactive_view_headless_renders_default_once(monkeypatch) -> None:
    monkeypatch.setenv("AEQKIT_HEADLESS", "1")
    view = widgets.interactive_view(
        _toy_builder, readout="err", beta=widgets.Control(0.0, 1.0, 0.1, 0.3, label="β"), n=[2, 4, 8]
    )
    assert view.widget is None and view.sliders == {}
    assert view.params == {"beta": 0.3, "n": 2}
    assert view.readout == pytest.approx(0.6)
    view.update(beta=0.5)
    assert view.readout == pytest.approx(1.0)
    with pytest.raises(ValueError, match="parameters among"):
        view.update(gamma=1)


def test_interactive_view_live_widgets_have_stable_classes(monkeypatch) -> None:
    monkeypatch.setenv("AEQKIT_HEADLESS", "0")
    view = widgets.interactive_view(
        _toy_builder,
        readout="err",
        readout_label="error",
        display=False,
        name="toy",
        beta=widgets.Control(0.0, 1.0, 0.1, 0.2, label="β"),
        n=widgets.Control(2, 8, 2, 4),
    )
    slider = view.sliders["beta"]
    assert slider.description == "β" and not slider.continuous_update
    assert {"aeqkit-slider", "aeqkit-slider-beta"} <= set(slider._dom_classes)
    assert type(view.sliders["n"]).__name__ == "IntSlider"
    assert "aeqkit-view-toy" in view.widget._dom_classes
    readout = view._readout_widget
    assert "aeqkit-readout" in readout._dom_classes
    assert 'class="aeqkit-readout-value">0.4<' in readout.value
    slider.value = 0.7  # what a drag does: the readout follows the slider
    assert 'class="aeqkit-readout-value">1.4<' in readout.value
    assert view.figure.data[0].y[0] == pytest.approx(0.7)


def test_live_computed_view_follows_the_slider(monkeypatch) -> None:
    """compute -> draw under live sliders: the readout and figure follow the result of each drag."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Toy:
        beta: float
        err: float

    def draw(toy: Toy, *, bars: int = 3) -> go.Figure:
        return go.Figure(go.Bar(x=list(range(bars)), y=[toy.err] * bars))

    monkeypatch.setenv("AEQKIT_HEADLESS", "0")
    view = widgets.interactive_view(compute=lambda beta=0.0: Toy(beta, 2 * beta), draw=draw,
                                    readout="err", name="toy", fixed={"bars": 5}, display=False,
                                    beta=widgets.Control(0.0, 1.0, 0.1, 0.2, label="β"))
    assert "aeqkit-view-toy" in view.widget._dom_classes and len(view.figure.data[0].x) == 5
    view.sliders["beta"].value = 0.7
    assert view.result == Toy(0.7, 1.4) and view.figure.data[0].y[0] == pytest.approx(1.4)
    assert 'class="aeqkit-readout-value">1.4<' in view._readout_widget.value


def test_controls_reject_bad_specs() -> None:
    with pytest.raises(ValueError, match="min < max"):
        widgets.Control(1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="Control"):
        widgets.interactive_view(_toy_builder, display=False, beta="x")
    with pytest.raises(ValueError, match="layout.meta"):
        widgets.interactive_view(_toy_builder, readout="missing", display=False)


def test_figures_stay_small() -> None:
    fig = viz.fields_grid([np.random.default_rng(0).normal(size=(2, 256, 256))] * 8, max_size=48)
    assert len(json.dumps(fig.to_plotly_json(), cls=_NumpyEncoder)) < 400_000


class _NumpyEncoder(json.JSONEncoder):
    def default(self, o):  # noqa: D102
        if isinstance(o, np.ndarray):
            return o.tolist()
        return super().default(o)


# ------------------------------------------------------------- issue 16: figures that read right


def _text_px(text: str, size: float) -> float:
    """Generous width estimate of one line of plotly text (0.6 em per character)."""
    import re

    return 0.6 * size * len(re.sub(r"<[^>]+>", "", text))


def test_quiver_arrowheads_tell_u_from_minus_u() -> None:
    right = np.stack([np.ones((16, 16)), np.zeros((16, 16))])
    figs = [viz.field_figure(f, kind="quiver", quiver_max=4) for f in (right, -right)]
    tips = []
    for fig in figs:
        arrows = fig.data[1]
        assert arrows.marker.symbol == "arrow" and arrows.marker.angleref == "previous"
        sizes = np.asarray(arrows.marker.size).reshape(-1, 3)
        assert (sizes[:, 1] > 0).all() and (sizes[:, [0, 2]] == 0).all()  # a head on each tip only
        xs = np.asarray(arrows.x, dtype=float).reshape(-1, 3)
        tips.append(xs[:, 1] - xs[:, 0])  # tip relative to tail
    assert (tips[0] > 0).all() and (tips[1] < 0).all()  # heads point along u and along -u
    grid = viz.fields_grid([right, -right], kind="quiver", quiver_max=4)
    assert all(t.marker.symbol == "arrow" for t in grid.data if t.type == "scatter")


def test_heat_view_difference_map_has_a_fixed_colour_range() -> None:
    runs = [explore.heat_rotation_run(b, size=16, steps=10, snapshots=(0, 9)) for b in (0.0, 0.3, 0.8)]
    figs = [viz.heat_figure(r) for r in runs]
    ranges = {(f.data[-1].zmin, f.data[-1].zmax) for f in figs}
    assert ranges == {(0.0, 0.4)}  # the same at every β: β = 0.3 and 0.8 look different
    diffs = [r.max_rotation_difference for r in runs]  # (also in tests/test_explore.py)
    assert diffs[0] < 1e-12 < diffs[1] < diffs[2] <= 0.4
    bar = figs[0].data[-1].colorbar  # the shown bar: no SI suffix ("1p") at β = 0
    assert bar.exponentformat != "SI" and bar.tickformat == ".2~f"
    with pytest.raises(ValueError, match="diff_zmax"):
        viz.heat_view(0.3, diff_zmax=0.0)


def test_figures_fit_a_jupyterlab_output_area() -> None:
    rng = np.random.default_rng(0)
    traj = rng.normal(size=(12, 2, 32, 32))
    figs = {
        "fields_grid 8 cols": viz.fields_grid([traj[0]] * 8),
        "gallery 4 panels": viz.animation_gallery({f"{90 * k}°": traj for k in range(4)}, max_size=24),
        "error map 6 models": viz.error_map_figure(traj[:3], {str(i): traj[:3] for i in range(6)}),
        "table 10 columns": viz.metric_table_figure([{f"c{i}": 1.0 for i in range(10)}]),
        "kernel 8 elements": viz.kernel_figure(rng.normal(size=(4, 8, 3, 3))),
        "relaxed layer": viz.relaxed_layer_view(2, 0.0, 8, steps=1, size=6),
        "heat": viz.heat_view(0.3, size=16, steps=10, snapshots=(0, 3, 6, 9)),
    }
    too_wide = {k: f.layout.width for k, f in figs.items() if f.layout.width > viz.MAX_FIGURE_WIDTH}
    assert not too_wide, too_wide
    assert viz.MAX_FIGURE_WIDTH <= 968 - 40  # the measured output area, minus plotly's own margin


def test_relaxed_layer_view_colour_bar_is_clear_of_the_other_panels() -> None:
    fig = viz.relaxed_layer_view(2, 0.0, 4, steps=1, size=6)
    bar = fig.data[0].colorbar
    left, right = fig.layout.xaxis.domain
    assert bar.orientation == "h" and bar.y < 0  # under the weights panel, not beside it
    assert left <= bar.x - bar.len / 2 and bar.x + bar.len / 2 <= right
    assert right < fig.layout.xaxis2.domain[0]  # the irrep panel starts after it


def test_kernel_figure_rows_can_be_group_elements() -> None:
    k = np.random.default_rng(0).normal(size=(4, 4, 3, 3))
    fig = viz.kernel_figure(k, row_labels=[f"g={g}" for g in range(4)])
    texts = {a.text for a in fig.layout.annotations}
    assert {"g=0", "g=3"} <= texts and not any(t.startswith("l=") for t in texts)
    assert fig.layout.meta["row_labels"] == ["g=0", "g=1", "g=2", "g=3"]
    assert "l=1" in {a.text for a in viz.kernel_figure(k).layout.annotations}  # default: banks
    with pytest.raises(ValueError, match="row labels"):
        viz.kernel_figure(k, row_labels=["g=0"])


def test_animation_gallery_colour_bar_and_pace() -> None:
    traj = np.random.default_rng(0).normal(size=(30, 2, 32, 32))
    fig = viz.animation_gallery({f"{90 * k}°": traj for k in range(4)}, max_frames=10)
    assert [a.text for a in fig.layout.annotations] == ["0°", "90°", "180°", "270°"]
    assert fig.data[0].showscale and fig.data[0].colorbar.title.text == "|v|"
    assert fig.data[0].colorbar.x > 1.0  # right of the last panel, not over it
    assert fig.layout.meta["frames"] * fig.layout.meta["frame_ms"] >= 4000  # 10 frames: >= 4 s
    play = fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["duration"]
    assert play == fig.layout.meta["frame_ms"]
    assert all(fr.data[0].zmin == fig.data[0].zmin for fr in fig.frames)  # one range throughout
    assert fig.layout.width <= viz.MAX_FIGURE_WIDTH
    with pytest.raises(ValueError, match="frame_ms"):
        viz.animation_gallery(traj, frame_ms=10)


def test_log_axes_when_errors_span_decades() -> None:
    data = np.linspace(0.01, 0.1, 5)
    fig = viz.model_vs_data_error(data, {"Conv": 0.1 + 0 * data, "E2CNN": 4e-8 + 0 * data})
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    low, high = fig.layout.yaxis.range
    assert low < np.log10(4e-8) < high  # E2CNN's 4e-8 is visible, not flattened onto zero
    zero = viz.model_vs_data_error(data, {"Conv": 0.1 + 0 * data, "exact": 0 * data,
                                          "E2CNN": 4e-8 + 0 * data})
    assert zero.layout.meta["clipped"] == 5  # exact zeros drawn on the bottom edge
    assert viz.model_vs_data_error(data, {"RSteer": data}).layout.xaxis.type == "linear"
    assert viz.model_vs_data_error(data, {"RSteer": data}, log=True).layout.yaxis.type == "log"
    # a curve from an exact zero (float64 rounding, 1e-17) that grows linearly stays linear
    lin = viz.error_vs_strength([0, 0.5, 1], [1e-17, 0.05, 0.1])
    assert lin.layout.yaxis.type == "linear"
    assert viz.error_vs_strength([0, 1, 2], [1e-6, 1e-3, 1.0]).layout.yaxis.type == "log"
    assert viz.spans_decades([4e-8, 0.1]) and not viz.spans_decades([0.0, 0.01, 0.1])
    with pytest.raises(ValueError, match="log"):
        viz.model_vs_data_error(data, {"a": data}, log="sometimes")


def test_generator_heatmaps_have_categorical_axes() -> None:
    from aeqkit.discovery import figures

    true = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    fig = figures.generator_heatmaps(true + 0.01, true)
    axes = [fig.layout.xaxis, fig.layout.xaxis2, fig.layout.yaxis, fig.layout.yaxis2]
    assert all(a.type == "category" and list(a.tickvals) == ["x", "y"] for a in axes)
    assert list(fig.data[0].x) == ["x", "y"]  # one tick per matrix index, no 0.5 positions
    assert fig.layout.width <= viz.MAX_FIGURE_WIDTH
    big = figures.generator_heatmaps(torch.eye(4))
    assert list(big.layout.xaxis.tickvals) == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="index labels"):
        figures.generator_heatmaps(true, true, index_labels=["a"])


def test_similarity_threshold_labels_do_not_overprint() -> None:
    from aeqkit.discovery import figures

    hist = {"step": [0, 10, 20], "similarity": [0.2, 0.8, 0.999]}
    fig = figures.similarity_curve(hist, thresholds=(0.9, 0.95, 0.99))
    labels = [a for a in fig.layout.annotations if a.text in {"0.9", "0.95", "0.99"}]
    assert len(labels) == 3
    plot_px = fig.layout.width - 160  # generous: plotly's default side margins
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            apart_px = abs(a.x - b.x) * plot_px
            assert apart_px > _text_px(a.text, 11) + 10, (a.text, b.text, apart_px)


def test_ring_title_fits_the_figure() -> None:
    from aeqkit.discovery import figures

    torch.set_num_threads(1)
    fig = figures.ring_breaking_figure(1.0, n_samples=300)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) == 2 and "0.5" in lines[1]
    assert lines[1].startswith("<sup>")  # the second line in the smaller subtitle size (0.7 em)
    assert max(_text_px(lines[0], 17), _text_px(lines[1], 0.7 * 17)) < fig.layout.width - 40
    acc = fig.layout.meta["distinguishability"]
    assert f"{acc:.3f}" in lines[1]  # the readout's number, as the browser test reads it


def test_live_readout_does_not_wrap(monkeypatch) -> None:
    monkeypatch.setenv("AEQKIT_HEADLESS", "0")
    view = widgets.interactive_view(_toy_builder, readout="err", display=False,
                                    beta=widgets.Control(0.0, 1.0, 0.1, 0.2), n=widgets.Control(2, 8, 2, 4))
    readout, controls = view._readout_widget, view.widget.children[0]
    assert readout.layout.flex == "0 0 auto"  # never squeezed by the sliders ...
    assert controls.layout.flex_flow == "row wrap"  # ... they wrap as whole items instead
    assert "white-space: nowrap" in readout.value


def test_compact_template_has_no_si_suffixes() -> None:
    template = widgets.compact_template()
    assert template.layout.xaxis.exponentformat == "e" and template.layout.yaxis.exponentformat == "e"
    assert template.data.heatmap[0].colorbar.exponentformat == "e"  # 1e-12, never "1p"
    meta_axes = viz.relaxed_layer_view(2, 0.0, 4, steps=1, size=6).layout
    assert meta_axes.yaxis2.exponentformat == "e" and meta_axes.yaxis3.exponentformat == "e"


def test_equivariance_error_bars_go_log_across_decades() -> None:
    models = viz.equivariance_error_bars({"Conv": 0.1, "E2CNN": 4e-8, "RSteer": 0.02})
    assert models.layout.yaxis.type == "log" and models.layout.meta["log_y"]
    low, high = models.layout.yaxis.range
    assert low < np.log10(4e-8) and np.log10(0.1) < high  # every bar (and its label) visible
    toy = viz.equivariance_error_bars({"0°": 0.0, "90°": 0.3, "180°": 0.3})
    assert toy.layout.yaxis.type == "linear"  # an exact zero at the identity is no decade


def test_animation_gallery_caps_tall_panels() -> None:
    tall = np.random.default_rng(0).normal(size=(6, 2, 62, 23))  # a jet window: H > W
    fig = viz.animation_gallery({str(i): tall for i in range(3)})
    assert fig.layout.height - 180 <= viz.MAX_PANEL_HEIGHT  # title, controls + one capped panel
    assert fig.layout.width <= viz.MAX_FIGURE_WIDTH


def test_animation_gallery_wraps_long_panel_titles() -> None:
    tall = np.random.default_rng(0).normal(size=(4, 2, 62, 23))
    fig = viz.animation_gallery({f"window {i} [SYNTHETIC]": tall for i in range(3)})
    titles = [a.text for a in fig.layout.annotations]
    assert all("<br>" in t for t in titles)  # a ~150 px panel cannot hold 20 characters on a line
    assert fig.layout.margin.t > 70  # and the title band grows instead of overprinting the title
