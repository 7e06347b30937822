"""Non-equivariant and translation-symmetry forecasters: MLP, ConvNet, and the translation
versions of Rpp, Combo and Lift (paper Sec. 3.4 and 5, Tables 1-2); and the forecasting baselines
every network must beat first: persistence and a local linear least-squares stencil (optionally
C4-tied), fitted in closed form by :func:`fit_stencil` / :func:`fit_baseline`.

For translation, the strict equivariant model *is* the ConvNet (a CNN is a group convolution over
the translation group), exactly equivariant to cyclic shifts with ``padding_mode="circular"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import Forecaster
from aeqkit.models.registry import SYMMETRIES, register_model
from aeqkit.nn._common import (
    MODEL_PADDING_MODES,
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
)
from aeqkit.nn.basic import CoordConv2d, PlainConv2d, check_input_size, pad2d

#: Models without a built-in symmetry accept every symmetry label (it only names the data set).
ANY_SYMMETRY = (None, *SYMMETRIES)

__all__ = ["MLPForecaster", "ConvForecaster", "RppTranslation", "ComboTranslation",
           "LiftTranslation", "ConvTrunk", "PersistenceForecaster", "StencilForecaster",
           "fit_stencil", "fit_baseline", "is_baseline", "c4_symmetrise_kernel"]


@register_model("mlp", symmetries=ANY_SYMMETRY, display_name="MLP", kind="unconstrained",
                paper_suffixes=False)
class MLPForecaster(Forecaster):
    """Multi-layer perceptron on the flattened field (paper baseline "MLP").

    Linear ``2 T H W -> width``, ``num_layers - 2`` residual ``width -> width`` ReLU layers, linear
    ``width -> 2 H W``. Needs the grid size at build time (``input_size=(H, W)``). No symmetry.
    Parameters at 64x64, width 64, 4 layers: 5,783,744.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W), with (H, W) == input_size
    """

    name = "mlp"

    def __init__(self, input_size: tuple[int, int] = (64, 64), width: int | None = 64,
                 num_layers: int = 4, input_frames: int = 10, alpha: float = 0.0) -> None:
        size = check_input_size(input_size)
        super().__init__(input_frames, None, alpha, input_size=size)
        width = check_positive_int(64 if width is None else width, "width")
        num_layers = check_positive_int(num_layers, "num_layers", minimum=2)
        npix = size[0] * size[1]
        self.encoder = nn.Linear(self.in_channels * npix, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(num_layers - 2))
        self.decoder = nn.Linear(width, 2 * npix)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        b, _, h, w = z.shape
        y = F.relu(self.encoder(z.reshape(b, -1)))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y).reshape(b, 2, h, w)


class ConvTrunk(nn.Module):
    """Encoder conv, ``num_layers - 2`` residual ReLU conv layers, decoder conv to 2 channels.

    Shape:
        z: (B, C_in, H, W) -> (B, 2, H, W)
    """

    def __init__(self, in_channels: int, width: int, num_layers: int, kernel_size: int,
                 padding_mode: str) -> None:
        super().__init__()
        self.encoder = PlainConv2d(in_channels, width, kernel_size, padding_mode)
        self.hidden = nn.ModuleList(
            PlainConv2d(width, width, kernel_size, padding_mode) for _ in range(num_layers - 2)
        )
        self.decoder = PlainConv2d(width, 2, kernel_size, padding_mode)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.encoder(z))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y)


def _conv_args(width: object, num_layers: object, kernel_size: object,
               padding_mode: object) -> tuple[int, int, int, str]:
    width = 64 if width is None else width
    return (check_positive_int(width, "width"), check_positive_int(num_layers, "num_layers", minimum=2),
            check_kernel_size(kernel_size), check_padding_mode(padding_mode, MODEL_PADDING_MODES))


@register_model("conv", symmetries=ANY_SYMMETRY, display_name="Conv", kind="unconstrained",
                aliases=("convnet", "cnn"), paper_suffixes=False)
class ConvForecaster(Forecaster):
    """Residual ConvNet (paper baseline "Conv"; the strict translation-equivariant model).

    Exactly equivariant to cyclic shifts with ``padding_mode="circular"``; not rotation
    equivariant (unconstrained kernels). Parameters (any grid), width 64, 5 layers, 5x5 kernels:
    342,658.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "conv"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", input_frames: int = 10, alpha: float = 0.0,
                 symmetry: str | None = None) -> None:
        super().__init__(input_frames, symmetry, alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        self.trunk = ConvTrunk(self.in_channels, width, num_layers, kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(z)


class RppTranslation(Forecaster):
    """Residual Pathway Prior for translation (Finzi et al. 2021b; paper Sec. 5 "Rpp").

    Sum of a ConvNet (the translation-equivariant pathway) and an MLP (the unconstrained
    pathway). :meth:`extra_loss` is the Gaussian prior ``alpha * sum ||W_mlp||^2`` on the
    unconstrained pathway only, pulling the model towards the equivariant one. The MLP makes it
    grid-size specific (``input_size``). Parameters at 64x64 (conv width 64, 5 layers; MLP width
    32, 3 layers): 3,235,522.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W), with (H, W) == input_size
    """

    name = "rpp"

    def __init__(self, input_size: tuple[int, int] = (64, 64), width: int | None = 64,
                 num_layers: int = 5, kernel_size: int = 5, padding_mode: str = "zeros",
                 mlp_width: int = 32, mlp_layers: int = 3, input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        size = check_input_size(input_size)
        super().__init__(input_frames, "translation", alpha, input_size=size)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        self.equivariant = ConvTrunk(self.in_channels, width, num_layers, kernel_size,
                                     padding_mode)
        self.residual = MLPForecaster(size, mlp_width, mlp_layers, input_frames)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.equivariant(z) + self.residual._predict(z)

    def extra_loss(self) -> torch.Tensor:
        penalty = sum(p.pow(2).sum() for p in self.residual.parameters())
        return self.alpha * penalty


class ComboTranslation(Forecaster):
    """Non-equivariant layers followed by equivariant ones, for translation (paper Sec. 3.4).

    The first ``num_nonequivariant`` layers are :class:`~aeqkit.models.base.CoordConv2d` (they see
    pixel coordinates, breaking translation symmetry, at any grid size); the rest is a ConvNet.
    Parameters, width 64, 5 layers, 1 non-equivariant layer: 345,858.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "combo"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", num_nonequivariant: int = 1,
                 input_frames: int = 10, alpha: float = 0.0) -> None:
        super().__init__(input_frames, "translation", alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        n_ne = check_positive_int(num_nonequivariant, "num_nonequivariant")
        if n_ne > num_layers - 1:
            raise ValueError(
                f"num_nonequivariant must be between 1 and num_layers - 1 = {num_layers - 1}, "
                f"got {n_ne}")
        layers = [CoordConv2d(self.in_channels, width, kernel_size, padding_mode)]
        layers += [CoordConv2d(width, width, kernel_size, padding_mode) for _ in range(n_ne - 1)]
        self.nonequivariant = nn.ModuleList(layers)
        self.hidden = nn.ModuleList(PlainConv2d(width, width, kernel_size, padding_mode)
                                    for _ in range(num_layers - 1 - n_ne))
        self.decoder = PlainConv2d(width, 2, kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.nonequivariant[0](z))
        for layer in self.nonequivariant[1:]:
            y = y + F.relu(layer(y))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y)


class LiftTranslation(Forecaster):
    """Lift expansion for translation (Wang et al. 2021; paper Sec. 3.4 "Lift").

    A non-equivariant encoder (a :class:`~aeqkit.models.base.CoordConv2d`, position aware, any
    grid size) computes ``lift_channels`` extra channels that enter the ConvNet backbone next to
    the raw input; the backbone sees the same input as the encoder. Parameters, width 64,
    5 layers, 8 lift channels: 359,866.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "lift"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", lift_channels: int = 8, input_frames: int = 10,
                 alpha: float = 0.0) -> None:
        super().__init__(input_frames, "translation", alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        lift_channels = check_positive_int(lift_channels, "lift_channels")
        self.encoder = CoordConv2d(self.in_channels, lift_channels, kernel_size, padding_mode)
        self.backbone = ConvTrunk(self.in_channels + lift_channels, width, num_layers,
                                  kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(torch.cat([z, F.relu(self.encoder(z))], dim=1))


# --------------------------------------------------------------------------------------------
# Forecasting baselines a network must beat first (issue 10, deliverable 4)


def _check_ridge(ridge: object) -> float:
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
        raise ValueError(f"ridge must be a number >= 0, got {ridge!r}")
    return float(ridge)


@register_model("persistence", symmetries=ANY_SYMMETRY, display_name="Persistence",
                kind="baseline", paper_suffixes=False)
class PersistenceForecaster(Forecaster):
    """Persistence: the next frame is the last input frame (no parameters, nothing to fit).

    Exactly equivariant to every group that acts on the frames alone. The networks'
    hyper-parameters (``width``, ``num_layers``, ``alpha``, ...) are accepted and ignored
    (``**network_hparams``) so that a table can build it with the same settings as the networks;
    :func:`aeqkit.models.build` still rejects names no model knows.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W) (equal to ``x[:, -1]``)
    """

    name = "persistence"

    def __init__(self, input_frames: int = 10, symmetry: str | None = None,
                 **network_hparams: object) -> None:
        super().__init__(input_frames, symmetry, 0.0)
        # an empty, frozen tensor: gives tools that look up "the model's device" an answer
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(z[:, -2:])

    def extra_loss(self) -> torch.Tensor:
        return torch.zeros((), dtype=self.anchor.dtype, device=self.anchor.device)


@register_model("stencil_c4", symmetries=("rotation", None, "translation", "scaling", "dihedral"),
                display_name="Stencil-C4", kind="baseline", paper_suffixes=False,
                fixed={"tie": "C4"})
@register_model("stencil", symmetries=ANY_SYMMETRY, display_name="Stencil", kind="baseline",
                paper_suffixes=False, fixed={"tie": None})
class StencilForecaster(Forecaster):
    """Local linear stencil: the increment is a ``k x k`` linear filter of the last frames.

    ``x[:, -1] + conv(last `frames` frames)``, one ``kernel_size x kernel_size`` kernel from the
    ``2 * frames`` input channels to the 2 output channels plus a bias, fitted in closed form by
    (ridge-regularised) least squares on the one-step increments of a training set with
    :func:`fit_stencil` (the weather forecaster's first baseline). Until fitted it is persistence.
    ``tie="C4"`` makes it exactly equivariant to 90° rotations of vector fields: it is fitted on
    the training windows in all four orientations and projected onto C4-equivariant kernels
    (Reynolds average), with no bias (a constant vector is not rotation invariant).

    The networks' hyper-parameters (``width``, ``num_layers``, ``alpha``, ...) are accepted and
    ignored, as for :class:`PersistenceForecaster`. Parameters (5x5, 1 frame): 102
    (``tie="C4"``: 100 stored, fewer free).

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "stencil"

    def __init__(self, kernel_size: int = 5, frames: int = 1, tie: str | None = None,
                 padding_mode: str = "zeros", ridge: float = 1e-6, input_frames: int = 10,
                 symmetry: str | None = None, **network_hparams: object) -> None:
        super().__init__(input_frames, symmetry, 0.0)
        kernel_size = check_kernel_size(kernel_size)
        self.frames = check_positive_int(frames, "frames")
        if self.frames > self.input_frames:
            raise ValueError(f"frames must be between 1 and input_frames={self.input_frames}, "
                             f"got {self.frames}")
        if tie not in (None, "C4"):
            raise ValueError(f"tie must be None or 'C4', got {tie!r}")
        self.tie = tie
        self.ridge = _check_ridge(ridge)
        self.conv = PlainConv2d(2 * self.frames, 2, kernel_size,
                                check_padding_mode(padding_mode, MODEL_PADDING_MODES),
                                bias=tie is None)
        with torch.no_grad():
            self.conv.weight.zero_()
            if self.conv.bias is not None:
                self.conv.bias.zero_()
        self.fitted = False

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(z[:, -2 * self.frames:])

    def extra_loss(self) -> torch.Tensor:
        return self._zero()


def _stencil_features(model: StencilForecaster, x: torch.Tensor) -> torch.Tensor:
    """Patches of the last frames plus a constant. Shape: (B, T, 2, H, W) -> (B * H * W, D)."""
    b, _, _, h, w = x.shape
    z = x[:, -model.frames:].reshape(b, 2 * model.frames, h, w)
    k = model.conv.kernel_size[0]
    cols = F.unfold(pad2d(z, k // 2, model.conv.pad_mode), k)  # (B, 2 F k k, H W)
    feats = cols.transpose(1, 2).reshape(b * h * w, -1)
    if model.conv.bias is not None:
        feats = torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=feats.dtype)], dim=1)
    return feats


def _rot90_vectors(x: torch.Tensor, k: int) -> torch.Tensor:
    """Vector fields turned by ``k`` quarter turns (as ``aeqkit.groups.rot90_field``), on any grid:
    a non-square window becomes a transposed-shape window, which is all a stencil fit needs.

    Shape: (..., 2, H, W) -> (..., 2, W, H) for odd ``k``
    """
    y = torch.rot90(x, k, dims=(-1, -2))
    u, v = y[..., 0, :, :], y[..., 1, :, :]
    for _ in range(k % 4):
        u, v = -v, u
    return torch.stack([u, v], dim=-3)


def c4_symmetrise_kernel(weight: torch.Tensor, frames: int) -> torch.Tensor:
    """Reynolds average ``(1/4) sum_g g^{-1} ∘ conv ∘ g`` of a vector-to-vector convolution kernel.

    The result is the kernel of an exactly C4-equivariant convolution (to round-off) mapping
    ``frames`` vector fields to one vector field; an already equivariant kernel is unchanged.

    Shape:
        weight: (2, 2 * frames, k, k) -> same
    """
    from aeqkit.groups import rot90_field

    c_out, c_in, k, _ = weight.shape
    r = k // 2
    n = 4 * r + 3
    q = n // 2
    w64 = weight.detach().to(torch.float64)
    deltas = torch.zeros(c_in, frames, 2, n, n, dtype=torch.float64)
    for c in range(c_in):
        deltas[c, c // 2, c % 2, q, q] = 1.0

    def conv(v: torch.Tensor) -> torch.Tensor:  # (B, frames, 2, n, n) -> (B, 2, n, n)
        return F.conv2d(v.reshape(v.shape[0], c_in, n, n), w64, padding=r)

    out = sum(rot90_field(conv(rot90_field(deltas, g)), -g) for g in range(4)) / 4  # (c_in, 2, n, n)
    # out_o(p) = W[o, c, q - p] for a delta in channel c at q: read the kernel back, flipped
    patch = out[:, :, q - r:q + r + 1, q - r:q + r + 1].flip(-1, -2)  # (c_in, 2, k, k)
    return patch.transpose(0, 1).to(weight.dtype).contiguous()


@torch.no_grad()
def fit_stencil(model: Forecaster, dataset: torch.utils.data.Dataset, batch_size: int = 64,
                max_windows: int | None = None) -> dict:
    """Fit a :class:`StencilForecaster` in closed form by least squares (a no-op for persistence).

    Minimises ``sum ||x_last + conv(x) - y_1||^2 + ridge * trace(G) / D * ||w||^2`` over the first
    target frame ``y_1`` of every training window (float64 normal equations, solved with
    ``torch.linalg.lstsq``). With ``tie="C4"`` every window also enters in its three other 90°
    orientations and the solution is projected with :func:`c4_symmetrise_kernel`.

    Args:
        model: a ``stencil`` / ``stencil_c4`` or ``persistence`` model (:func:`aeqkit.models.build`).
        dataset: training windows ``(x: (T, 2, H, W), y: (k, 2, H, W))``.
        batch_size: windows per accumulation step.
        max_windows: use at most this many windows (evenly spaced); ``None``: all.

    Returns:
        ``{"windows", "equations", "unknowns", "seconds", "train_mse"}``.
    """
    import time

    from torch.utils.data import DataLoader, Subset

    if isinstance(model, PersistenceForecaster):
        return {"windows": 0, "equations": 0, "unknowns": 0, "seconds": 0.0, "train_mse": None}
    if not isinstance(model, StencilForecaster):
        raise TypeError(f"fit_stencil fits 'stencil', 'stencil_c4' or 'persistence' models, got "
                        f"{type(model).__name__}; train networks with aeqkit.train.fit")
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("dataset is empty; expected at least one (input, target) window")
    if max_windows is not None:
        idx = torch.linspace(0, n - 1, min(int(max_windows), n)).round().long().unique().tolist()
        dataset = Subset(dataset, idx)
    start = time.perf_counter()
    gram = rhs = None
    equations, windows, tss = 0, 0, 0.0
    orientations = range(4) if model.tie == "C4" else range(1)

    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        if x.ndim != 5 or x.shape[1] != model.input_frames or x.shape[2] != 2:
            raise ValueError(f"expected windows x of shape (T={model.input_frames}, 2, H, W), got "
                             f"{tuple(x.shape[1:])}")
        x = x.to(torch.float64)
        y1 = (y if y.ndim == 4 else y[:, 0]).to(torch.float64)
        windows += x.shape[0]
        for g in orientations:
            xg = _rot90_vectors(x, g) if g else x
            yg = _rot90_vectors(y1, g) if g else y1
            feats = _stencil_features(model, xg)  # (N, D)
            target = (yg - xg[:, -1]).permute(0, 2, 3, 1).reshape(-1, 2)  # (N, 2)
            gram = feats.T @ feats if gram is None else gram + feats.T @ feats
            rhs = feats.T @ target if rhs is None else rhs + feats.T @ target
            equations += feats.shape[0]
            tss += float((target ** 2).sum())
    d = gram.shape[0]
    reg = model.ridge * float(torch.trace(gram)) / d
    sol = torch.linalg.lstsq(gram + reg * torch.eye(d, dtype=gram.dtype), rhs).solution  # (D, 2)
    k = model.conv.kernel_size[0]
    c_in = 2 * model.frames
    weight = sol[: c_in * k * k].T.reshape(2, c_in, k, k)
    if model.tie == "C4":
        weight = c4_symmetrise_kernel(weight, model.frames)
    p = model.conv.weight
    p.copy_(weight.to(p.dtype))
    if model.conv.bias is not None:
        model.conv.bias.copy_(sol[-1].to(p.dtype))
    model.fitted = True
    # training MSE of the fitted one-step increments (in float64)
    w = torch.cat([weight.reshape(2, -1).T, sol[-1:]] if model.conv.bias is not None
                  else [weight.reshape(2, -1).T])
    sse = tss + float(torch.trace(w.T @ gram @ w - 2 * w.T @ rhs))
    return {"windows": windows, "equations": equations, "unknowns": d,
            "seconds": time.perf_counter() - start, "train_mse": max(sse, 0.0) / (2 * equations)}


def is_baseline(model: object) -> bool:
    """Whether ``model`` is a closed-form baseline (persistence or a stencil), not a network."""
    return isinstance(model, (PersistenceForecaster, StencilForecaster))


def fit_baseline(model: Forecaster, dataset: torch.utils.data.Dataset, **kwargs) -> dict:
    """Fit a baseline in closed form (:func:`fit_stencil`; persistence has nothing to fit)."""
    return fit_stencil(model, dataset, **kwargs)
