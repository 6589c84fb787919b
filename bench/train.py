"""Training benchmark (SPEC §12): seconds for 20 epochs at 10k / 100k / 1M wallets, batch 32 vs a
large batch, printed as a table.

Features are synthetic (heavy-tailed, 36 columns) with targets from the real target functions, so
the numbers measure the training loop, not the warehouse. Each configuration first measures
the time per optimizer step, per validation pass and for setup over a short capped run; a full
20-epoch run is then made when its estimate fits under ``--max-seconds`` (default 330 s), otherwise
the 20-epoch time is extrapolated from those parts and marked ``extrapolated``. All wallets are training rows; a further 10 %
is the validation set evaluated after every epoch (counted in the time), early stopping is off so
every run does its 20 epochs.

    python bench/train.py                      # the table (1M at batch 32 is extrapolated)
    python bench/train.py --sizes 10000 --threads 2 --device cpu
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypertrack_pipeline.feature_names import FEATURE_NAMES  # noqa: E402
from hypertrack_pipeline.ml.targets import descriptive_targets, profitability_target  # noqa: E402
from hypertrack_pipeline.ml.training import TrainConfig, resolve_batch_size, train_model  # noqa: E402


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """n wallets × 36 heavy-tailed features and targets for all six heads (vectorized)."""
    rng = np.random.default_rng(seed)
    f = {name: rng.uniform(0, 1, n) for name in FEATURE_NAMES}
    tx = np.round(np.exp(rng.normal(3, 1.5, n))) + 1
    avg = np.exp(rng.normal(7, 1.5, n))
    f.update(
        tx_count=tx, tx_per_day=tx / rng.uniform(0.05, 30, n), total_value=tx * avg, avg_value=avg,
        max_value=avg * rng.uniform(1, 5, n), burstiness=rng.uniform(0, 3, n),
        avg_slippage=rng.normal(0, 3e-4, n), avg_market_impact=rng.normal(0, 1e-4, n),
        momentum_score=rng.uniform(-1, 1, n), mean_reversion_score=rng.uniform(-1, 1, n),
        avg_candle_momentum=rng.normal(0, 3e-3, n), max_candle_volume=np.exp(rng.normal(14, 1, n)),
        unique_tokens=rng.integers(1, 30, n).astype(float),
    )
    cols = {**f, "peak_position_notional": avg * rng.uniform(1, 20, n), "max_drawdown": avg * rng.uniform(0, 2, n)}
    targets = descriptive_targets(cols)
    targets["profitability"] = profitability_target(-f["avg_slippage"] + rng.normal(0, 3e-4, n), f["total_value"])
    return np.column_stack([f[c] for c in FEATURE_NAMES]), targets


def timed_run(x, y, splits, batch: int, epochs: int, device: str, max_steps: int | None):
    cfg = TrainConfig(epochs=epochs, patience=epochs + 1, batch_size=batch, device=device,
                      max_steps_per_epoch=max_steps)
    return train_model(x, y, cfg, splits)


def extrapolate(probe, epochs: int, steps_per_epoch: int) -> float:
    """Setup (normalization, copies) once, then per epoch: full-epoch steps at the probe's step
    rate plus one validation pass — each part timed separately in the probe's history."""
    hist = probe.history
    steps = sum(int(h["steps"]) for h in hist)
    step_s = sum(h["train_seconds"] for h in hist) / steps
    val_s = sum(h["val_seconds"] for h in hist) / len(hist)
    setup_s = probe.seconds - sum(h["train_seconds"] + h["val_seconds"] for h in hist)
    return setup_s + epochs * (steps_per_epoch * step_s + val_s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated wallet counts")
    ap.add_argument("--large-batch", default="auto", help="the large batch: 'auto' (the training default) or N")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (2 is fastest on the 2-core box)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--probe-seconds", type=float, default=8.0, help="length of the rate-measuring run")
    ap.add_argument("--max-seconds", type=float, default=330.0, help="run 20 epochs for real below this estimate")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    header = f"{'wallets':>9} {'batch':>6} {'steps/ep':>8} {'rows/s':>10} {f'{args.epochs}-epoch s':>11}  how"
    print(header)
    print("-" * len(header))
    for n in sizes:
        x, y = synthetic(int(n * 1.1))
        splits = np.where(np.arange(len(x)) < n, "train", "val")
        for batch in (32, resolve_batch_size(args.large_batch, n)):
            steps_per_epoch = -(-n // batch)
            # probe: two short capped epochs (~probe-seconds in all) give the per-step time
            guess_steps_s = 200.0 if batch <= 512 else 60_000 / batch
            probe_steps = max(5, min(steps_per_epoch, int(args.probe_seconds * guess_steps_s / 2)))
            # warm-up at this batch size first: the first large-batch steps of a process are
            # several times slower (allocator growing its arenas) and would skew the probe
            timed_run(x, y, splits, batch, 1, args.device, 10)
            probe = timed_run(x, y, splits, batch, 2, args.device, probe_steps)
            estimate = extrapolate(probe, args.epochs, steps_per_epoch)
            if estimate <= args.max_seconds:
                total, how = timed_run(x, y, splits, batch, args.epochs, args.device, None).seconds, "measured"
            else:
                steps = sum(int(h["steps"]) for h in probe.history)
                total, how = estimate, f"extrapolated from {steps} timed steps"
            rows_s = args.epochs * n / total
            print(f"{n:>9} {batch:>6} {steps_per_epoch:>8} {rows_s:>10.0f} {total:>11.1f}  {how}", flush=True)
    print("# budget (SPEC §12): 20 epochs on 1M wallets < 300 s on this CPU, < 10 s on an H200")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
