"""Training loop for :class:`WalletModel` (SPEC §9).

Adam (lr 1e-3, weight decay 1e-5), weighted MSE over the six heads, output-diversity
regularization, gradient clipping at 1.0, ReduceLROnPlateau, early stopping on the validation
split with the best weights restored, seeded for reproducibility. Batches are sliced from tensors
that already sit on the device (no DataLoader): at batch 32 the model is launch-bound, so per-step
Python overhead is what matters.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.ml.model import HEAD_DIMS, HEADS, LOSS_WEIGHTS, WalletModel
from hypertrack_pipeline.ml.normalization import Normalizer

SMALL_DATA_WALLETS = 10_000
SMALL_BATCH_ONE_THREAD = 512
TARGET_STEPS_PER_EPOCH = 200
MAX_AUTO_BATCH = 8192


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are SPEC §9's."""

    epochs: int = 20
    patience: int = 5
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: str | int = "auto"
    seed: int = 0
    device: str = "auto"
    # Weight of the output-diversity term: a hinge that penalizes a head whose batch std falls
    # below the batch std of its target (keeps heads from collapsing to the mean).
    diversity_weight: float = 0.05
    loss_weights: Mapping[str, float] = field(default_factory=lambda: dict(LOSS_WEIGHTS))
    grad_clip: float = 1.0
    lr_factor: float = 0.5
    lr_patience: int = 2
    dropout: float = 0.3
    # Optional cap on optimizer steps per epoch (benchmarks only; None = full epochs).
    max_steps_per_epoch: int | None = None
    # torch CPU threads during training; None = 1 thread for batches ≤ 512 (tiny matmuls gain
    # nothing from intra-op threads, and on a busy 2-core box the thread hand-offs make batch 32
    # many times slower), torch's current setting for larger batches.
    cpu_threads: int | None = None

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["loss_weights"] = dict(self.loss_weights)
        return out


@dataclass
class TrainResult:
    """What training produced: the best model (eval mode, on CPU) and how it got there."""

    model: WalletModel
    normalizer: Normalizer
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    stopped_early: bool
    batch_size: int
    device: str
    seconds: float
    train_means: dict[str, list[float]]
    influence_scale: float
    validated_on: str  # "val" or "train" (when the data had no validation wallets)


def resolve_batch_size(batch_size: str | int, n_train: int, n_wallets: int | None = None) -> int:
    """``auto``: 32 below 10 000 wallets (``n_wallets``, default ``n_train``); above, the smallest
    power of two giving ≤ 200 steps per epoch over the ``n_train`` training rows (capped at 8192),
    since batch 32 is launch-bound and wastes both CPU and GPU."""
    if isinstance(batch_size, str):
        if batch_size.strip().lower() != "auto":
            try:
                batch_size = int(batch_size)
            except ValueError:
                raise UserError(f"batch size must be 'auto' or a positive integer, got {batch_size!r}") from None
        elif (n_wallets if n_wallets is not None else n_train) < SMALL_DATA_WALLETS:
            return 32
        else:
            wanted = n_train / TARGET_STEPS_PER_EPOCH
            return int(min(MAX_AUTO_BATCH, max(32, 2 ** math.ceil(math.log2(wanted)))))
    if int(batch_size) < 2:
        raise UserError(f"batch size must be at least 2 (BatchNorm), got {batch_size}")
    return int(batch_size)


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    name = (device or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("device 'cuda' was requested but no CUDA GPU is available (use auto or cpu)")
    if name not in {"cpu"} and not name.startswith("cuda"):
        raise UserError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(name)


def split_indices(splits: np.ndarray | Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Accept a per-row label array ('train'/'val'/'test') or a mapping of index arrays."""
    if isinstance(splits, Mapping):
        out = {k: np.asarray(splits.get(k, []), dtype=np.int64) for k in ("train", "val", "test")}
    else:
        labels = np.asarray(splits).astype(str)
        if len(labels) != n:
            raise ValueError(f"splits has {len(labels)} labels for {n} rows")
        out = {k: np.flatnonzero(labels == k) for k in ("train", "val", "test")}
    if len(out["train"]) < 2:
        raise UserError(f"need at least 2 training wallets, got {len(out['train'])}")
    return out


def stack_targets(targets: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Validate and reshape the per-head targets (style n×6, the rest n)."""
    out: dict[str, np.ndarray] = {}
    for head in HEADS:
        if head not in targets:
            raise ValueError(f"missing target for head {head!r}")
        arr = np.nan_to_num(np.asarray(targets[head], dtype=np.float32))
        shape = (n, HEAD_DIMS[head]) if HEAD_DIMS[head] > 1 else (n,)
        out[head] = arr.reshape(shape)
    return out


def head_losses(
    pred: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], influence_scale: float
) -> dict[str, torch.Tensor]:
    """MSE per head; influence is compared as log1p(‰ / scale): the share is heavily skewed (a few
    whales hold most of it), and an error in order of magnitude is what matters."""
    out = {}
    for head in HEADS:
        p, t = pred[head], target[head]
        if head == "influence":
            p, t = torch.log1p(p / influence_scale), torch.log1p(torch.clamp(t, min=0.0) / influence_scale)
        out[head] = torch.mean((p - t) ** 2)
    return out


def diversity_penalty(
    pred: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], influence_scale: float
) -> torch.Tensor:
    """Σ over heads of mean(relu(std(target) − std(pred))) across the batch: zero as long as each
    head spreads its outputs at least as much as its targets, positive when it collapses."""
    total = torch.zeros((), device=next(iter(pred.values())).device)
    for head in HEADS:
        p, t = pred[head], target[head]
        if head == "influence":
            p, t = torch.log1p(p / influence_scale), torch.log1p(torch.clamp(t, min=0.0) / influence_scale)
        total = total + torch.relu(t.std(dim=0) - p.std(dim=0)).mean()
    return total


def _weighted(losses: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    return sum(weights.get(h, 0.0) * losses[h] for h in HEADS)  # type: ignore[return-value]


@torch.no_grad()
def predict(model: WalletModel, x: np.ndarray | torch.Tensor, chunk: int = 65_536) -> dict[str, np.ndarray]:
    """Eval-mode forward pass in chunks; returns numpy arrays per head."""
    model.eval()
    device = next(model.parameters()).device
    xt = torch.as_tensor(x, dtype=torch.float32)
    parts: dict[str, list[np.ndarray]] = {h: [] for h in HEADS}
    for start in range(0, len(xt), chunk):
        out = model(xt[start : start + chunk].to(device))
        for h in HEADS:
            parts[h].append(out[h].cpu().numpy())
    return {
        h: (np.concatenate(parts[h]) if parts[h] else np.zeros((0, HEAD_DIMS[h]) if HEAD_DIMS[h] > 1 else 0))
        for h in HEADS
    }


def _eval_loss(
    model: WalletModel,
    x: torch.Tensor,
    y: Mapping[str, torch.Tensor],
    weights: Mapping[str, float],
    scale: float,
    chunk: int = 65_536,
) -> tuple[float, dict[str, float]]:
    """Weighted loss (no regularizer) of the whole set, accumulated chunk by chunk."""
    model.eval()
    sums = dict.fromkeys(HEADS, 0.0)
    n = len(x)
    with torch.no_grad():
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            out = model(x[sl])
            losses = head_losses(out, {h: y[h][sl] for h in HEADS}, scale)
            m = len(x[sl])
            for h in HEADS:
                sums[h] += float(losses[h]) * m
    per_head = {h: sums[h] / max(n, 1) for h in HEADS}
    return sum(weights.get(h, 0.0) * per_head[h] for h in HEADS), per_head


def train_model(
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    config: TrainConfig,
    splits: np.ndarray | Mapping[str, np.ndarray],
) -> TrainResult:
    """Fit normalization on the training wallets, train, and return the best-validation model.

    ``features`` is n×36 (raw feature values, FEATURE_NAMES order); ``targets`` maps each head
    name of :data:`HEADS` to its target (style n×6); ``splits`` labels each row train/val/test
    (or maps those names to row indices). Test rows are never looked at here.
    """
    began = time.perf_counter()
    features = np.asarray(features, dtype=np.float64)
    n = len(features)
    idx = split_indices(splits, n)
    ys = stack_targets(targets, n)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    train_idx, val_idx = idx["train"], idx["val"]
    validated_on = "val" if len(val_idx) else "train"
    if not len(val_idx):
        val_idx = train_idx
    normalizer = Normalizer.fit(features[train_idx])
    x_all = normalizer.transform(features)
    influence_scale = 1.0  # the influence head learns log1p(‰) directly (model.WalletModel)

    model = WalletModel(n_features=features.shape[1], dropout=config.dropout)
    model.influence_scale.fill_(influence_scale)
    model.to(device)

    def to_dev(rows: np.ndarray) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return (
            torch.from_numpy(x_all[rows]).to(device),
            {h: torch.from_numpy(ys[h][rows]).to(device) for h in HEADS},
        )

    x_tr, y_tr = to_dev(train_idx)
    x_va, y_va = to_dev(val_idx)
    batch = resolve_batch_size(config.batch_size, len(train_idx), n_wallets=n)
    weights = dict(config.loss_weights)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=config.lr_factor, patience=config.lr_patience
    )
    gen = torch.Generator(device="cpu").manual_seed(config.seed)

    threads_before = torch.get_num_threads()
    threads = config.cpu_threads or (1 if batch <= SMALL_BATCH_ONE_THREAD else threads_before)
    if device.type == "cpu" and threads != threads_before:
        torch.set_num_threads(threads)
    try:
        best_loss, best_epoch, best_state, history, epoch, stopped_early = _fit(
            model, opt, sched, gen, x_tr, y_tr, x_va, y_va, batch, weights, influence_scale, config, device
        )
    finally:
        if torch.get_num_threads() != threads_before:
            torch.set_num_threads(threads_before)

    model.load_state_dict(best_state)
    model.to("cpu").eval()
    train_means = {h: np.atleast_1d(ys[h][train_idx].mean(axis=0)).astype(float).tolist() for h in HEADS}
    return TrainResult(
        model=model,
        normalizer=normalizer,
        history=history,
        best_epoch=best_epoch,
        best_val_loss=float(best_loss),
        epochs_run=epoch,
        stopped_early=stopped_early,
        batch_size=batch,
        device=str(device),
        seconds=time.perf_counter() - began,
        train_means=train_means,
        influence_scale=influence_scale,
        validated_on=validated_on,
    )


def _fit(model, opt, sched, gen, x_tr, y_tr, x_va, y_va, batch, weights, influence_scale, config, device):
    """The epoch loop: returns (best loss, best epoch, best state, history, epochs run, stopped early)."""
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    bad_epochs, stopped_early, epoch = 0, False, 0
    n_tr = len(x_tr)
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_began = time.perf_counter()
        order = torch.randperm(n_tr, generator=gen).to(device)
        steps, loss_sum = 0, torch.zeros((), device=device)
        for start in range(0, n_tr, batch):
            rows = order[start : start + batch]
            if len(rows) < 2:  # BatchNorm needs two rows
                continue
            out = model(x_tr[rows])
            yb = {h: y_tr[h][rows] for h in HEADS}
            loss = _weighted(head_losses(out, yb, influence_scale), weights)
            if config.diversity_weight:
                loss = loss + config.diversity_weight * diversity_penalty(out, yb, influence_scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            loss_sum += loss.detach()  # no per-step sync with the GPU
            steps += 1
            if config.max_steps_per_epoch and steps >= config.max_steps_per_epoch:
                break
        train_loss = float(loss_sum) / max(steps, 1)  # also waits for the device to finish
        val_began = time.perf_counter()
        val_loss, val_heads = _eval_loss(model, x_va, y_va, weights, influence_scale)
        val_seconds = time.perf_counter() - val_began
        sched.step(val_loss)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "lr": opt.param_groups[0]["lr"],
                "steps": steps,
                "train_seconds": val_began - epoch_began,
                "val_seconds": val_seconds,
                **{f"val_{h}": v for h, v in val_heads.items()},
            }
        )
        if val_loss < best_loss - 1e-9:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                stopped_early = True
                break

    return best_loss, best_epoch, best_state, history, epoch, stopped_early
